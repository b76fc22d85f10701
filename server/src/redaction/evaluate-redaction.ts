import { LABELLED_TEXTS, labelledExamples } from './labelled-set';
import type { Redactor } from './redact';

export interface RedactionScore {
  type: string;
  expected: number;
  found: number;
  correct: number;
  precision: number;
  recall: number;
}

/** Precision and recall per entity type (and `all`) on the labelled set: a hit needs the type and the exact value. */
export function evaluateRedaction(redactor: Redactor, texts: string[] = LABELLED_TEXTS): RedactionScore[] {
  const tally = new Map<string, { expected: number; found: number; correct: number }>();
  const bump = (type: string, key: 'expected' | 'found' | 'correct') => {
    for (const t of [type, 'all']) {
      const row = tally.get(t) ?? { expected: 0, found: 0, correct: 0 };
      row[key]++;
      tally.set(t, row);
    }
  };
  for (const example of labelledExamples(texts)) {
    const expected = example.entities.map((e) => `${e.type}\u0000${e.value}`);
    const found = redactor.find(example.text).map((e) => `${e.type}\u0000${e.value}`);
    const left = [...expected];
    for (const e of example.entities) bump(e.type, 'expected');
    for (const f of found) {
      bump(f.split('\u0000')[0] as string, 'found');
      const i = left.indexOf(f);
      if (i >= 0) {
        left.splice(i, 1);
        bump(f.split('\u0000')[0] as string, 'correct');
      }
    }
  }
  return [...tally]
    .map(([type, { expected, found, correct }]) => ({
      type,
      expected,
      found,
      correct,
      precision: found === 0 ? 1 : correct / found,
      recall: expected === 0 ? 1 : correct / expected,
    }))
    .sort((a, b) => (a.type === 'all' ? 1 : b.type === 'all' ? -1 : a.type.localeCompare(b.type)));
}
