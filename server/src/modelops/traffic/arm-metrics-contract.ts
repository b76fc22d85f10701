import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArmMetricsStore, CallOutcome } from '../types';

/**
 * The assertions every ArmMetricsStore must pass, run once per implementation (memory in
 * arm-metrics.test.ts, Redis in arm-metrics.int.test.ts).
 */
export interface ArmMetricsUnderTest {
  /** Two stores over the same storage (two replicas): what one records the other must read. */
  stores: [ArmMetricsStore, ArmMetricsStore];
  close(): Promise<void>;
}

const outcome = (figures: Partial<CallOutcome> = {}): CallOutcome => ({
  ok: true,
  ttftMs: 100,
  totalMs: 400,
  costUsd: 0.001,
  outputChars: 200,
  ...figures,
});

let aliasCounter = 0;
/** An alias name of its own for each test, so that the tests share the storage without meeting. */
const freshAlias = () => `alias-${++aliasCounter}-${Math.random().toString(36).slice(2, 8)}`;

export function describeArmMetricsContract(name: string, make: () => Promise<ArmMetricsUnderTest>): void {
  describe(`arm metrics contract: ${name}`, () => {
    let subject: ArmMetricsUnderTest;
    let a: ArmMetricsStore;
    let b: ArmMetricsStore;
    beforeAll(async () => {
      subject = await make();
      [a, b] = subject.stores;
    });
    afterAll(() => subject.close());

    it('counts requests, errors and cost per arm, read from another instance', async () => {
      const alias = freshAlias();
      await a.record(alias, 1, 'stable', 1, outcome({ costUsd: 0.25 }));
      await b.record(alias, 1, 'stable', 1, outcome({ ok: false, ttftMs: null, costUsd: 0 }));
      await a.record(alias, 1, 'candidate', 2, outcome({ costUsd: 0.5 }));
      await b.record(alias, 1, 'candidate', 2, outcome({ costUsd: 0.125 }));
      await a.record(alias, 1, 'candidate', 2, outcome({ ok: false, costUsd: 0.125 }));
      const arms = await b.snapshot(alias, 1);
      expect(arms.map((s) => s.arm)).toEqual(['stable', 'candidate']);
      expect(arms[0]).toMatchObject({ arm: 'stable', version: 1, requests: 2, errors: 1, thumbsUp: 0, thumbsDown: 0 });
      expect(arms[0]?.costUsd).toBeCloseTo(0.25, 9);
      expect(arms[1]).toMatchObject({ arm: 'candidate', version: 2, requests: 3, errors: 1 });
      expect(arms[1]?.costUsd).toBeCloseTo(0.75, 9);
    });

    it('keeps revisions and aliases apart, and has nothing for an alias never recorded', async () => {
      const alias = freshAlias();
      await a.record(alias, 1, 'v1', 1, outcome());
      await a.record(alias, 2, 'v1', 1, outcome());
      await a.record(alias, 2, 'v1', 1, outcome());
      expect((await b.snapshot(alias, 1))[0]?.requests).toBe(1);
      expect((await b.snapshot(alias, 2))[0]?.requests).toBe(2);
      expect(await b.snapshot(alias, 3)).toEqual([]);
      expect(await b.snapshot(freshAlias(), 1)).toEqual([]);
    });

    it('reads TTFT percentiles from the histogram to within 10 %, and none without a first token', async () => {
      const alias = freshAlias();
      for (let ms = 1; ms <= 200; ms++) await (ms % 2 ? a : b).record(alias, 1, 'v1', 1, outcome({ ttftMs: ms * 10 }));
      await a.record(alias, 1, 'v2', 2, outcome({ ok: false, ttftMs: null }));
      const [v1, v2] = await b.snapshot(alias, 1);
      expect(v1?.ttftP50Ms).toBeGreaterThan(1000 * 0.9);
      expect(v1?.ttftP50Ms).toBeLessThan(1000 * 1.1);
      expect(v1?.ttftP95Ms).toBeGreaterThan(1900 * 0.9);
      expect(v1?.ttftP95Ms).toBeLessThan(1900 * 1.1);
      expect(v2).toMatchObject({ requests: 1, errors: 1, ttftP50Ms: null, ttftP95Ms: null });
    });

    it('counts thumbs, moves a changed vote, and ignores a vote repeated', async () => {
      const alias = freshAlias();
      await a.record(alias, 1, 'control', 1, outcome());
      await a.recordFeedback(alias, 1, 'control', 1, 'up');
      await b.recordFeedback(alias, 1, 'control', 1, 'up');
      await a.recordFeedback(alias, 1, 'control', 1, 'down');
      expect(await b.snapshot(alias, 1)).toMatchObject([{ arm: 'control', requests: 1, thumbsUp: 2, thumbsDown: 1 }]);
      await b.recordFeedback(alias, 1, 'control', 1, 'down', 'up');
      expect(await a.snapshot(alias, 1)).toMatchObject([{ thumbsUp: 1, thumbsDown: 2 }]);
      await a.recordFeedback(alias, 1, 'control', 1, 'up', 'down');
      await a.recordFeedback(alias, 1, 'control', 1, 'up', 'up');
      expect(await b.snapshot(alias, 1)).toMatchObject([{ thumbsUp: 2, thumbsDown: 1 }]);
    });

    it('lists an arm that has feedback but no recorded request yet', async () => {
      const alias = freshAlias();
      await a.recordFeedback(alias, 4, 'terse', 3, 'down');
      expect(await b.snapshot(alias, 4)).toEqual([
        { arm: 'terse', version: 3, requests: 0, errors: 0, ttftP50Ms: null, ttftP95Ms: null, costUsd: 0, thumbsUp: 0, thumbsDown: 1 },
      ]);
    });
  });
}
