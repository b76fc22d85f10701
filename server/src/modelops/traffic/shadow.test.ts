import { describe, expect, it } from 'vitest';
import { compareShadow, createMemoryShadowStats, textSimilarity } from './shadow';
import { describeShadowStatsContract } from './shadow-stats-contract';

describeShadowStatsContract('memory', async () => {
  const stats = createMemoryShadowStats();
  return { stats: [stats, stats], close: () => stats.close() };
});

describe('textSimilarity', () => {
  it('is 1 for the same words whatever the case and punctuation, 0 for none in common', () => {
    expect(textSimilarity('The cat sat.', 'the CAT, sat!')).toBeCloseTo(1, 12);
    expect(textSimilarity('red green', 'blue yellow')).toBe(0);
    expect(textSimilarity('', '')).toBe(1);
    expect(textSimilarity('something', '')).toBe(0);
  });

  it('is the cosine of the term frequencies, so a repeated word weighs more', () => {
    // (1,1) against (1,0): 1/√2.
    expect(textSimilarity('paris france', 'paris')).toBeCloseTo(Math.SQRT1_2, 12);
    // (2,1) against (1,1): 3 / (√5·√2).
    expect(textSimilarity('paris paris france', 'paris france')).toBeCloseTo(3 / Math.sqrt(10), 12);
    expect(textSimilarity('Größe 42 café', 'größe café 42')).toBeCloseTo(1, 12);
  });
});

describe('compareShadow', () => {
  it('gives the shadow over served ratios, the similarity and the shadow cost', () => {
    const c = compareShadow(
      { text: 'Paris is the capital.', totalMs: 400, costUsd: 0.002 },
      { text: 'The capital is Paris, in France.', totalMs: 1000, costUsd: 0.0005 },
    );
    expect(c.latencyRatio).toBeCloseTo(2.5, 12);
    expect(c.lengthRatio).toBeCloseTo(32 / 21, 12);
    expect(c.similarity).toBeCloseTo(4 / Math.sqrt(4 * 6), 12);
    expect(c.costUsd).toBe(0.0005);
  });

  it('has no ratio against an empty or instant served answer', () => {
    const c = compareShadow({ text: '', totalMs: 0, costUsd: 0 }, { text: 'hello', totalMs: 10, costUsd: 0 });
    expect(c).toEqual({ latencyRatio: null, lengthRatio: null, similarity: 0, costUsd: 0 });
  });
});
