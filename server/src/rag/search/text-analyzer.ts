import { stemmer } from 'stemmer';
import { STOPWORDS } from '../../providers/extractive-ranker';

/** Stems by word: a language's vocabulary is small next to its text, and stemming is the costly part. */
const stems = new Map<string, string>();
const STEM_CACHE_LIMIT = 200_000;

function stem(word: string): string {
  let stemmed = stems.get(word);
  if (stemmed === undefined) {
    if (stems.size >= STEM_CACHE_LIMIT) stems.clear();
    stemmed = /^[a-z]+$/.test(word) ? stemmer(word) : word;
    stems.set(word, stemmed);
  }
  return stemmed;
}

/**
 * The terms of a text for full-text search: lower-cased letters and digits with diacritics folded,
 * English function words left out, Porter-stemmed (the same analysis FTS5's `porter unicode61
 * remove_diacritics 2` tokenizer applies, so both indexes agree on what a term is).
 */
export function analyzeText(text: string): string[] {
  const terms: string[] = [];
  const folded = text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
  for (const word of folded.match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (STOPWORDS.has(word) || (word.length < 2 && !/\d/.test(word))) continue;
    terms.push(stem(word));
  }
  return terms;
}
