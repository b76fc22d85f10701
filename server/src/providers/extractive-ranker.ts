/**
 * Sentence ranking for the built-in extractive model: BM25 over sentences, then a greedy
 * maximal-marginal-relevance pick so that the chosen sentences do not repeat one another.
 */

/** English function words, which carry no topic: left out of sentence ranking and full-text queries. */
export const STOPWORDS = new Set(
  `a about above after again against all am an and any are as at be because been before being below between both but by can could did do does doing down during each few for from further had has have having he her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other our ours ourselves out over own same she should so some such than that the their theirs them themselves then there these they this those through to too under until up very was we were what when where which while who whom why will with would you your yours yourself yourselves tell explain describe summarize summarise please give show list`.split(
    ' ',
  ),
);

/** Lower-cased content words with a light suffix-stripping stem. */
export function tokenizeTerms(text: string): string[] {
  const terms: string[] = [];
  for (const raw of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (raw.length < 2 || STOPWORDS.has(raw)) continue;
    terms.push(stem(raw));
  }
  return terms;
}

function stem(word: string): string {
  if (word.length > 5 && word.endsWith('ing')) return word.slice(0, -3);
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && word.endsWith('ed')) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/** Words whose full stop ends no sentence ("Mr. Powell", "Jan. 5"). */
const ABBREVIATIONS =
  /(?:^|[\s(])(?:mr|mrs|ms|dr|prof|st|jr|sr|vs|etc|no|vol|fig|inc|ltd|co|corp|e\.g|i\.e|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.\s*$/i;

/**
 * Sentence segments of a text (Unicode sentence boundaries), without the breaks it would make
 * after an initial ("Esther L. George") or a common abbreviation ("Mr. Powell"). Each segment keeps
 * its offset in the text.
 */
export function segmentSentences(text: string): Array<{ segment: string; index: number }> {
  const segments: Array<{ segment: string; index: number }> = [];
  for (const { segment, index } of new Intl.Segmenter('en', { granularity: 'sentence' }).segment(text)) {
    const previous = segments.at(-1);
    if (
      previous &&
      (/(?:^|[\s(])\p{Lu}\.\s*$/u.test(previous.segment) || ABBREVIATIONS.test(previous.segment)) &&
      /^\p{Lu}/u.test(segment)
    ) {
      previous.segment += segment;
      continue;
    }
    segments.push({ segment, index });
  }
  return segments;
}

/** Splits text into sentences, keeping list items and lines that end without punctuation apart. */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  for (const block of text.split(/\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)/)) {
    const flat = block.replace(/\s+/g, ' ').trim();
    if (!flat) continue;
    for (const { segment } of segmentSentences(flat)) {
      const sentence = segment.trim();
      if (sentence.length >= 3) sentences.push(sentence);
    }
  }
  return sentences;
}

export interface RankedSentence {
  text: string;
  /** Position in the source order. */
  index: number;
  score: number;
}

export interface RankOptions {
  maxSentences: number;
  /** Weight of redundancy against relevance in the MMR pick (0 = relevance only). */
  diversity?: number;
  k1?: number;
  b?: number;
}

/** Sentences sharing this much of their vocabulary with one already chosen are left out. */
const NEAR_DUPLICATE = 0.6;
/** Sentences scoring below this fraction of the best one are not worth quoting. */
const MIN_RELATIVE_SCORE = 0.2;

/** Ranks `sentences` against `question`; returns the chosen ones, most relevant first, or none if nothing matches. */
export function rankSentences(question: string, sentences: string[], options: RankOptions): RankedSentence[] {
  const queryTerms = [...new Set(tokenizeTerms(question))];
  if (queryTerms.length === 0 || sentences.length === 0) return [];
  const { k1 = 1.2, b = 0.75, diversity = 0.5 } = options;
  const docs = sentences.map((text) => tokenizeTerms(text));
  const avgLength = docs.reduce((sum, d) => sum + d.length, 0) / docs.length || 1;
  const documentFrequency = new Map<string, number>();
  for (const doc of docs) for (const term of new Set(doc)) documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);

  const scored = docs.map((doc, index) => {
    const counts = new Map<string, number>();
    for (const term of doc) counts.set(term, (counts.get(term) ?? 0) + 1);
    let score = 0;
    for (const term of queryTerms) {
      const tf = counts.get(term);
      if (!tf) continue;
      const df = documentFrequency.get(term) ?? 0;
      const idf = Math.log(1 + (docs.length - df + 0.5) / (df + 0.5));
      score += idf * ((tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * doc.length) / avgLength)));
    }
    return { index, score, terms: new Set(doc) };
  });

  const candidates = scored.filter((s) => s.score > 0);
  if (candidates.length === 0) return [];
  const best = Math.max(...candidates.map((c) => c.score));
  const chosen: typeof candidates = [];
  while (chosen.length < options.maxSentences && candidates.length > 0) {
    let pick = -1;
    let pickValue = Number.NEGATIVE_INFINITY;
    candidates.forEach((candidate, i) => {
      const redundancy = Math.max(0, ...chosen.map((c) => jaccard(c.terms, candidate.terms)));
      if (redundancy >= NEAR_DUPLICATE) return;
      const value = candidate.score / best - diversity * redundancy;
      if (value > pickValue) {
        pickValue = value;
        pick = i;
      }
    });
    if (pick < 0) break;
    const [next] = candidates.splice(pick, 1);
    if (!next || next.score / best < MIN_RELATIVE_SCORE) break;
    chosen.push(next);
  }
  return chosen.map(({ index, score }) => ({ index, score, text: sentences[index] as string }));
}

/**
 * The sentences that best stand for the whole text: each scored by how common its content words
 * are across the text (centrality, damped for long sentences), picked greedily without near
 * duplicates, and returned in the text's order.
 */
export function summarizeSentences(sentences: string[], options: { maxSentences: number }): RankedSentence[] {
  const docs = sentences.map((text) => tokenizeTerms(text));
  const frequency = new Map<string, number>();
  for (const doc of docs) for (const term of new Set(doc)) frequency.set(term, (frequency.get(term) ?? 0) + 1);
  const scored = docs.map((doc, index) => {
    const terms = new Set(doc);
    let weight = 0;
    for (const term of terms) weight += (frequency.get(term) ?? 1) - 1;
    // The first sentences of a text usually say what it is about: a small lead bonus breaks ties.
    const score = (weight + 1) / Math.sqrt(Math.max(terms.size, 4)) + (index === 0 ? 0.5 : 0);
    return { index, score, terms };
  });
  const ranked = scored.filter((s) => s.terms.size > 0).sort((a, b) => b.score - a.score);
  const chosen: typeof ranked = [];
  for (const candidate of ranked) {
    if (chosen.length >= options.maxSentences) break;
    if (chosen.some((c) => jaccard(c.terms, candidate.terms) >= NEAR_DUPLICATE)) continue;
    chosen.push(candidate);
  }
  return chosen.sort((a, b) => a.index - b.index).map(({ index, score }) => ({ index, score, text: sentences[index] as string }));
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const term of a) if (b.has(term)) shared++;
  return shared / (a.size + b.size - shared);
}
