import { describe, expect, it } from 'vitest';
import { ndcgAt, recallAt, reciprocalRankAt } from './retrieval-metrics';

const judgements = new Map([
  ['a', 3],
  ['b', 1],
  ['c', 0],
]);

describe('retrieval metrics', () => {
  it('computes recall@k over relevant documents only', () => {
    expect(recallAt(['a', 'x', 'b'], judgements, 2)).toBe(0.5);
    expect(recallAt(['a', 'x', 'b'], judgements, 3)).toBe(1);
    expect(recallAt(['c'], judgements, 10)).toBe(0);
  });

  it('computes the reciprocal rank of the first relevant document', () => {
    expect(reciprocalRankAt(['x', 'c', 'b'], judgements, 10)).toBeCloseTo(1 / 3);
    expect(reciprocalRankAt(['x', 'y'], judgements, 10)).toBe(0);
  });

  it('computes nDCG with graded gains, 1 for the ideal order', () => {
    expect(ndcgAt(['a', 'b'], judgements, 10)).toBeCloseTo(1);
    const swapped = ndcgAt(['b', 'a'], judgements, 10);
    expect(swapped).toBeLessThan(1);
    expect(swapped).toBeCloseTo((1 + 7 / Math.log2(3)) / (7 + 1 / Math.log2(3)));
  });
});
