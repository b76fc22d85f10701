import type { ScoredChunk, SearchScope, Store } from '../../store';
import type { Embedder } from '../embed/embedder';
import { analyzeText } from './text-analyzer';

/** Reciprocal rank fusion constant (Cormack et al., 2009). */
export const RRF_K = 60;

/** Fuses rankings: each item scores the sum of 1/(60 + rank) over the lists it is in; best first. */
export function reciprocalRankFusion<T extends { score: number }>(lists: T[][], key: (item: T) => string | number, k: number): T[] {
  const fused = new Map<string | number, T>();
  for (const list of lists) {
    list.forEach((item, rank) => {
      const score = 1 / (RRF_K + rank + 1);
      const existing = fused.get(key(item));
      fused.set(key(item), existing ? { ...existing, score: existing.score + score } : { ...item, score });
    });
  }
  return [...fused.values()].sort((a, b) => b.score - a.score).slice(0, k);
}

/**
 * Full-text search, plus vector search when an embedder is configured, fused by reciprocal rank
 * (each list, 3·k deep, contributes 1/(60 + rank)). Scores of the fused list are RRF scores.
 */
export async function searchHybrid(
  store: Store,
  embedder: Embedder | undefined,
  query: string,
  options: SearchScope & { mode?: 'text' | 'vector' | 'hybrid' },
): Promise<ScoredChunk[]> {
  const mode = options.mode ?? (embedder ? 'hybrid' : 'text');
  if (mode === 'text' || !embedder) return store.searchIndex.searchText(query, options);
  const [vector] = await embedder.embed([query]);
  if (mode === 'vector') return store.searchIndex.searchVector(vector as number[], options);
  return store.searchIndex.searchFused(query, vector as number[], { ...options, depth: options.k * 3 });
}

/** Weight of relevance against novelty in the MMR pick (Carbonell & Goldstein, 1998). */
const MMR_LAMBDA = 0.7;

/**
 * Reorders hits by maximal marginal relevance and keeps k: each pick maximises
 * λ·relevance − (1−λ)·(its highest term overlap with a passage already picked), so passages that
 * repeat one another give way to ones that add something. Relevance is the score relative to the best.
 */
export function maximalMarginalRelevance(hits: ScoredChunk[], k: number): ScoredChunk[] {
  const best = hits[0]?.score ?? 0;
  const terms = hits.map((h) => new Set(analyzeText(h.text)));
  const overlap = (a: Set<string>, b: Set<string>) => {
    let shared = 0;
    for (const t of a) if (b.has(t)) shared++;
    return shared === 0 ? 0 : shared / (a.size + b.size - shared);
  };
  const picked: number[] = [];
  const left = new Set(hits.keys());
  while (picked.length < k && left.size > 0) {
    let choice = -1;
    let value = Number.NEGATIVE_INFINITY;
    for (const i of left) {
      const relevance = best > 0 ? (hits[i] as ScoredChunk).score / best : 0;
      const redundancy = Math.max(0, ...picked.map((j) => overlap(terms[i] as Set<string>, terms[j] as Set<string>)));
      const v = MMR_LAMBDA * relevance - (1 - MMR_LAMBDA) * redundancy;
      if (v > value) {
        value = v;
        choice = i;
      }
    }
    picked.push(choice);
    left.delete(choice);
  }
  return picked.map((i) => hits[i] as ScoredChunk);
}
