import type { Citation } from '@axon/contracts';
import { segmentSentences } from '../../providers/extractive-ranker';
import type { Store } from '../../store';
import { analyzeText } from '../search/text-analyzer';

/**
 * Finds the sentences of the cited passages that an answer drew on, so that the source panel can
 * highlight them rather than the whole passage. Each sentence of the answer is matched against the
 * sentences of the passages it cites (`[n]`; all passages when the answer cites none): a passage
 * sentence the answer quotes (the extractive model quotes them as written) matches outright, and
 * otherwise the one sharing the most content words with the answer's sentence matches when the
 * overlap is large enough (a generative model's paraphrase).
 */

/** Least Dice overlap of content words between an answer sentence and a passage sentence. */
const MIN_OVERLAP = 0.5;

interface Sentence {
  text: string;
  start: number;
  end: number;
}

/** Sentences of a text with their offsets in it (blank lines and list items end a sentence too). */
export function sentencesWithOffsets(text: string): Sentence[] {
  const sentences: Sentence[] = [];
  const blocks = /[^\n]+(?:\n(?!\s*\n)(?!\s*(?:[-*•]|\d+[.)])\s)[^\n]+)*/g;
  for (const block of text.matchAll(blocks)) {
    for (const { segment, index } of segmentSentences(block[0])) {
      const lead = segment.length - segment.trimStart().length;
      const trimmed = segment.trim();
      if (trimmed.length < 3) continue;
      const start = block.index + index + lead;
      sentences.push({ text: trimmed, start, end: start + trimmed.length });
    }
  }
  return sentences;
}

const normalize = (text: string) => text.replace(/\s+/g, ' ').trim().toLowerCase();

/** The answer's sentences, with the passages each cites, markdown quote marks and date notes left out. */
function answerSentences(answer: string): Array<{ text: string; cites: number[] }> {
  const out: Array<{ text: string; cites: number[] }> = [];
  for (const line of answer.split('\n')) {
    const clean = line.replace(/^\s*>\s?/, '').replace(/^\s*[-*]\s+/, '');
    for (const { segment: raw } of segmentSentences(clean)) {
      // Markers opening a segment ("… elevated. [1] The next…") belong to the sentence before it.
      const leading = /^\s*(?:\[\d{1,3}\]\s*)+/.exec(raw)?.[0] ?? '';
      const previous = out.at(-1);
      if (leading && previous) previous.cites.push(...[...leading.matchAll(/\[(\d{1,3})\]/g)].map((m) => Number(m[1])));
      const segment = previous ? raw.slice(leading.length) : raw;
      const cites = [...segment.matchAll(/\[(\d{1,3})\]/g)].map((m) => Number(m[1]));
      const text = segment
        .replace(/\[(\d{1,3})\]/g, ' ')
        .replace(/\(dated \d{4}-\d{2}-\d{2}\)/g, ' ')
        .replace(/[*_`]/g, '')
        .trim();
      if (text.length >= 3) out.push({ text, cites });
    }
  }
  // A marker written after the sentence's full stop ("… percent. [1]") belongs to the sentence before it.
  for (let i = 1; i < out.length; i++) {
    const current = out[i] as { text: string; cites: number[] };
    if (!/[\p{L}\p{N}]{2}/u.test(current.text.replace(/[.!?]/g, '')) && current.cites.length > 0) {
      (out[i - 1] as { cites: number[] }).cites.push(...current.cites);
    }
  }
  return out;
}

function dice(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const t of a) if (b.has(t)) shared++;
  return (2 * shared) / (a.size + b.size);
}

/** Offsets of `sentence` in the citation's passage: where it sits in the chunk text. */
export function citedSentenceSpans(answer: string, citations: Citation[]): Map<number, Sentence[]> {
  const spans = new Map<number, Sentence[]>();
  const sentences = answerSentences(answer);
  const citesAny = sentences.some((s) => s.cites.length > 0);
  const passages = new Map(
    citations.map((c) => [
      c.n,
      sentencesWithOffsets(c.text).map((s) => ({ ...s, normalized: normalize(s.text), terms: new Set(analyzeText(s.text)) })),
    ]),
  );
  for (const sentence of sentences) {
    const targets = sentence.cites.length > 0 ? sentence.cites : citesAny ? [] : citations.map((c) => c.n);
    const normalized = normalize(sentence.text);
    const terms = new Set(analyzeText(sentence.text));
    for (const n of targets) {
      const candidates = passages.get(n);
      if (!candidates) continue;
      let best: (typeof candidates)[number] | undefined;
      let bestScore = 0;
      for (const candidate of candidates) {
        const quoted =
          candidate.normalized.length >= 12 && (normalized.includes(candidate.normalized) || candidate.normalized.includes(normalized));
        const score = quoted ? 2 : dice(terms, candidate.terms);
        if (score > bestScore) {
          bestScore = score;
          best = candidate;
        }
      }
      if (!best || bestScore < MIN_OVERLAP) continue;
      const list = spans.get(n) ?? [];
      if (!list.some((s) => s.start === best.start)) list.push({ text: best.text, start: best.start, end: best.end });
      spans.set(n, list);
    }
  }
  return spans;
}

/** Where `sentence` is in the document's text, searching from about where its passage starts; whitespace may differ. */
function findInDocument(documentText: string, sentence: string, from: number): { start: number; end: number } | undefined {
  const exact = documentText.indexOf(sentence, Math.max(0, from));
  if (exact >= 0) return { start: exact, end: exact + sentence.length };
  const words = sentence.split(/\s+/).filter(Boolean);
  if (words.length === 0) return undefined;
  const pattern = new RegExp(words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s+'), 'g');
  pattern.lastIndex = Math.max(0, from);
  const match = pattern.exec(documentText);
  return match ? { start: match.index, end: match.index + match[0].length } : undefined;
}

/**
 * The citations with `highlights` set: the sentences the answer drew on, as offsets in each
 * document's text, with the page they are on (a passage never spans two pages, so it is the
 * passage's page). Citations the answer did not draw on get none.
 */
export async function addHighlights(store: Pick<Store, 'documents'>, answer: string, citations: Citation[]): Promise<Citation[]> {
  const spans = citedSentenceSpans(answer, citations);
  const texts = new Map<string, string | undefined>();
  const out: Citation[] = [];
  for (const citation of citations) {
    const found = spans.get(citation.n) ?? [];
    if (found.length === 0) {
      out.push({ ...citation, highlights: [] });
      continue;
    }
    if (!texts.has(citation.documentId)) texts.set(citation.documentId, await store.documents.getText(citation.documentId));
    const documentText = texts.get(citation.documentId);
    const highlights = found
      .map((s) => {
        const located = documentText ? findInDocument(documentText, s.text, citation.startOffset - 200) : undefined;
        return located ?? { start: citation.startOffset + s.start, end: citation.startOffset + s.end };
      })
      .sort((a, b) => a.start - b.start)
      .map((h) => ({ ...h, page: citation.page }));
    out.push({ ...citation, highlights });
  }
  return out;
}
