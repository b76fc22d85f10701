import { describe, expect, it } from 'vitest';
import { connectTestRedis, deleteTestKeys, testRedisPrefix } from '../../testing/test-redis';
import { ARM_METRICS_TTL_SECONDS, createRedisArmMetrics } from './arm-metrics';
import { describeArmMetricsContract } from './arm-metrics-contract';

describeArmMetricsContract('redis', async () => {
  const prefix = testRedisPrefix('arms');
  const [one, two] = await Promise.all([connectTestRedis(), connectTestRedis()]);
  return {
    stores: [createRedisArmMetrics({ redis: one, prefix }), createRedisArmMetrics({ redis: two, prefix })],
    async close() {
      await deleteTestKeys(one, prefix);
      one.disconnect();
      two.disconnect();
    },
  };
});

describe('redis arm metrics', () => {
  it('keeps one hash per alias revision, expiring 30 days after the last write', async () => {
    const redis = await connectTestRedis();
    const prefix = testRedisPrefix('arms');
    try {
      const store = createRedisArmMetrics({ redis, prefix });
      await store.record('chat', 7, 'candidate', 2, { ok: true, ttftMs: 120, totalMs: 300, costUsd: 0.01, outputChars: 10 });
      await store.recordFeedback('chat', 7, 'candidate', 2, 'up');
      const keys = await redis.keys(`${prefix}*`);
      expect(keys).toEqual([`${prefix}:arms:chat:7`]);
      const ttl = await redis.ttl(`${prefix}:arms:chat:7`);
      expect(ttl).toBeGreaterThan(ARM_METRICS_TTL_SECONDS - 60);
      expect(ttl).toBeLessThanOrEqual(ARM_METRICS_TTL_SECONDS);
    } finally {
      await deleteTestKeys(redis, prefix);
      redis.disconnect();
    }
  });
});
