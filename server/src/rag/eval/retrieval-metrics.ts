/** Graded judgements of one query: document id → relevance (≥ 1 is relevant). */
export type Judgements = Map<string, number>;

/** Share of the relevant documents found in the first `k` results. */
export function recallAt(ranked: string[], judgements: Judgements, k: number): number {
  const relevant = [...judgements].filter(([, grade]) => grade >= 1).map(([id]) => id);
  if (relevant.length === 0) return 0;
  const top = new Set(ranked.slice(0, k));
  return relevant.filter((id) => top.has(id)).length / relevant.length;
}

/** Reciprocal rank of the first relevant result within the first `k`, else 0. */
export function reciprocalRankAt(ranked: string[], judgements: Judgements, k: number): number {
  const index = ranked.slice(0, k).findIndex((id) => (judgements.get(id) ?? 0) >= 1);
  return index < 0 ? 0 : 1 / (index + 1);
}

/** nDCG@k with graded gains (2^grade − 1) and log2 discounts. */
export function ndcgAt(ranked: string[], judgements: Judgements, k: number): number {
  const dcg = (grades: number[]) => grades.slice(0, k).reduce((sum, grade, i) => sum + (2 ** grade - 1) / Math.log2(i + 2), 0);
  const ideal = dcg([...judgements.values()].filter((g) => g > 0).sort((a, b) => b - a));
  return ideal === 0 ? 0 : dcg(ranked.map((id) => judgements.get(id) ?? 0)) / ideal;
}
