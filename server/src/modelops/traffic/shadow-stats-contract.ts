import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShadowComparison, ShadowStats } from './shadow';

/** The assertions every ShadowStats must pass (memory in shadow.test.ts, Redis in shadow.int.test.ts). */
export interface ShadowStatsUnderTest {
  /** Two instances over the same storage (two replicas). */
  stats: [ShadowStats, ShadowStats];
  close(): Promise<void>;
}

const comparison = (c: Partial<ShadowComparison> = {}): ShadowComparison => ({
  latencyRatio: 1,
  lengthRatio: 1,
  similarity: 1,
  costUsd: 0,
  ...c,
});

let counter = 0;
const freshAlias = () => `shadowed-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

export function describeShadowStatsContract(name: string, make: () => Promise<ShadowStatsUnderTest>): void {
  describe(`shadow stats contract: ${name}`, () => {
    let subject: ShadowStatsUnderTest;
    let a: ShadowStats;
    let b: ShadowStats;
    beforeAll(async () => {
      subject = await make();
      [a, b] = subject.stats;
    });
    afterAll(() => subject.close());

    it('averages every figure over the answers recorded by any instance, and sums the cost', async () => {
      const alias = freshAlias();
      await a.record(alias, 1, 3, comparison({ latencyRatio: 2, lengthRatio: 0.5, similarity: 0.8, costUsd: 0.01 }));
      await b.record(alias, 1, 3, comparison({ latencyRatio: 1, lengthRatio: 1.5, similarity: 0.4, costUsd: 0.02 }));
      await a.record(alias, 1, 3, comparison({ latencyRatio: null, lengthRatio: null, similarity: 0.6, costUsd: 0 }));
      const summary = await b.summary(alias, 1, 3);
      expect(summary).toMatchObject({ version: 3, requests: 3 });
      expect(summary.meanLatencyRatio).toBeCloseTo(1.5, 9);
      expect(summary.meanLengthRatio).toBeCloseTo(1, 9);
      expect(summary.meanSimilarity).toBeCloseTo(0.6, 9);
      expect(summary.costUsd).toBeCloseTo(0.03, 9);
    });

    it('keeps aliases, revisions and versions apart, with no means before any answer', async () => {
      const alias = freshAlias();
      await a.record(alias, 1, 3, comparison());
      expect(await b.summary(alias, 2, 3)).toEqual({
        version: 3,
        requests: 0,
        meanLatencyRatio: null,
        meanLengthRatio: null,
        meanSimilarity: null,
        costUsd: 0,
      });
      expect((await b.summary(alias, 1, 4)).requests).toBe(0);
      expect((await b.summary(freshAlias(), 1, 3)).requests).toBe(0);
      expect((await b.summary(alias, 1, 3)).requests).toBe(1);
    });
  });
}
