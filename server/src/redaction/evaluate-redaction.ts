import { LABELLED_TEXTS } from './labelled-set';
import type { Redactor } from './redact';
import { type LabelledText, markedToSpans } from './redaction-dataset';

export interface RedactionScore {
  type: string;
  expected: number;
  found: number;
  correct: number;
  precision: number;
  recall: number;
  /** F-beta with beta 2: recall weighs four times as much as precision, as a missed value leaks and a false hit only hides a word. */
  f2: number;
}

/** Something found where nothing of its type was labelled, with the text it was found in. */
export interface FalseHit {
  type: string;
  value: string;
  text: string;
}

/** Something labelled that was not found. */
export interface Miss {
  type: string;
  value: string;
  text: string;
}

export interface RedactionReport {
  scores: RedactionScore[];
  falseHits: FalseHit[];
  misses: Miss[];
}

/**
 * A found entity matches a labelled one of the same type when their spans overlap by at least
 * half of what the two cover together (so `+1 415 555 0134 x12` found for `+1 415 555 0134`
 * labelled counts; one word of a three-word name does not).
 */
function matches(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  const overlap = Math.min(a.end, b.end) - Math.max(a.start, b.start);
  const union = Math.max(a.end, b.end) - Math.min(a.start, b.start);
  return overlap > 0 && overlap * 2 >= union;
}

const fBeta = (precision: number, recall: number, beta = 2) =>
  precision + recall === 0 ? 0 : ((1 + beta * beta) * precision * recall) / (beta * beta * precision + recall);

/**
 * Precision, recall and F2 per entity type (and `all`), with the false hits and misses. Found
 * entities count only for `types` (by default the types labelled somewhere in the set, so a set
 * that labels no secrets is not scored on them); labelled spans of types outside `types` are left out.
 */
export function evaluateRedactionReport(
  redactor: Redactor,
  examples: LabelledText[],
  options: { types?: readonly string[] } = {},
): RedactionReport {
  const types = new Set(options.types ?? examples.flatMap((e) => e.spans.map((s) => s.type)));
  const tally = new Map<string, { expected: number; found: number; correct: number }>();
  const bump = (type: string, key: 'expected' | 'found' | 'correct') => {
    for (const t of [type, 'all']) {
      const row = tally.get(t) ?? { expected: 0, found: 0, correct: 0 };
      row[key]++;
      tally.set(t, row);
    }
  };
  const falseHits: FalseHit[] = [];
  const misses: Miss[] = [];
  for (const example of examples) {
    const expected = example.spans.filter((s) => types.has(s.type));
    const found = redactor.find(example.text).filter((e) => types.has(e.type));
    const matched = new Set<number>();
    for (const s of expected) bump(s.type, 'expected');
    for (const f of found) {
      bump(f.type, 'found');
      const i = expected.findIndex((s, j) => !matched.has(j) && s.type === f.type && matches(s, f));
      if (i >= 0) {
        matched.add(i);
        bump(f.type, 'correct');
      } else falseHits.push({ type: f.type, value: f.value, text: example.text });
    }
    expected.forEach((s, j) => {
      if (!matched.has(j)) misses.push({ type: s.type, value: example.text.slice(s.start, s.end), text: example.text });
    });
  }
  const scores = [...tally]
    .map(([type, { expected, found, correct }]) => {
      const precision = found === 0 ? 1 : correct / found;
      const recall = expected === 0 ? 1 : correct / expected;
      return { type, expected, found, correct, precision, recall, f2: fBeta(precision, recall) };
    })
    .sort((a, b) => (a.type === 'all' ? 1 : b.type === 'all' ? -1 : a.type.localeCompare(b.type)));
  return { scores, falseHits, misses };
}

/** Precision, recall and F2 per entity type (and `all`) on marked texts or labelled records. */
export function evaluateRedaction(
  redactor: Redactor,
  texts: Array<string | LabelledText> = LABELLED_TEXTS,
  options: { types?: readonly string[] } = {},
): RedactionScore[] {
  const examples = texts.map((t) => (typeof t === 'string' ? markedToSpans(t) : t));
  return evaluateRedactionReport(redactor, examples, options).scores;
}
