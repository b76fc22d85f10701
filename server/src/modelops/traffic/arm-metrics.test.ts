import { describe, expect, it } from 'vitest';
import { ARM_METRICS_TTL_SECONDS, createMemoryArmMetrics } from './arm-metrics';
import { describeArmMetricsContract } from './arm-metrics-contract';
import { TTFT_BUCKETS, ttftBucket, ttftBucketValue, ttftQuantile } from './ttft-histogram';

describeArmMetricsContract('memory', async () => {
  const store = createMemoryArmMetrics();
  return { stores: [store, store], close: () => store.close() };
});

describe('memory arm metrics', () => {
  it('forgets an alias revision 30 days after its last write, not before', async () => {
    let now = Date.parse('2026-12-01T00:00:00Z');
    const store = createMemoryArmMetrics({ now: () => now });
    const outcome = { ok: true, ttftMs: 10, totalMs: 20, costUsd: 0, outputChars: 5 };
    await store.record('chat', 1, 'v1', 1, outcome);
    now += (ARM_METRICS_TTL_SECONDS - 60) * 1000;
    await store.record('chat', 1, 'v1', 1, outcome);
    now += (ARM_METRICS_TTL_SECONDS - 60) * 1000;
    expect((await store.snapshot('chat', 1))[0]?.requests).toBe(2);
    now += 120 * 1000;
    expect(await store.snapshot('chat', 1)).toEqual([]);
  });
});

describe('TTFT histogram', () => {
  it('puts every value from 1 ms to 10 minutes in a bucket whose value is within 5 % of it', () => {
    for (let ms = 1; ms <= 600_000; ms *= 1.037) {
      const value = ttftBucketValue(ttftBucket(ms));
      expect(Math.abs(value - ms) / ms).toBeLessThan(0.051);
    }
    expect(ttftBucket(0)).toBe(0);
    expect(ttftBucket(Number.NaN)).toBe(0);
    expect(ttftBucket(10 * 3_600_000)).toBe(TTFT_BUCKETS - 1);
  });

  it('reads a quantile by rank', () => {
    const counts = new Map([
      [ttftBucket(10), 90],
      [ttftBucket(1000), 10],
    ]);
    expect(ttftQuantile(counts, 0.5)).toBe(ttftBucketValue(ttftBucket(10)));
    expect(ttftQuantile(counts, 0.9)).toBe(ttftBucketValue(ttftBucket(10)));
    expect(ttftQuantile(counts, 0.95)).toBe(ttftBucketValue(ttftBucket(1000)));
    expect(ttftQuantile(new Map(), 0.5)).toBeNull();
  });
});
