import { describe, expect, it } from 'vitest';
import { connectTestRedis, deleteTestKeys, testRedisPrefix } from '../../testing/test-redis';
import { createRedisShadowStats, SHADOW_STATS_TTL_SECONDS } from './shadow';
import { describeShadowStatsContract } from './shadow-stats-contract';

describeShadowStatsContract('redis', async () => {
  const prefix = testRedisPrefix('shadow');
  const [one, two] = await Promise.all([connectTestRedis(), connectTestRedis()]);
  return {
    stats: [createRedisShadowStats({ redis: one, prefix }), createRedisShadowStats({ redis: two, prefix })],
    async close() {
      await deleteTestKeys(one, prefix);
      one.disconnect();
      two.disconnect();
    },
  };
});

describe('redis shadow stats', () => {
  it('keeps one hash per alias revision and version, expiring 30 days after the last write', async () => {
    const redis = await connectTestRedis();
    const prefix = testRedisPrefix('shadow');
    try {
      await createRedisShadowStats({ redis, prefix }).record('chat', 2, 5, {
        latencyRatio: 1,
        lengthRatio: 1,
        similarity: 1,
        costUsd: 0.1,
      });
      expect(await redis.keys(`${prefix}*`)).toEqual([`${prefix}:shadow:chat:2:5`]);
      expect(await redis.ttl(`${prefix}:shadow:chat:2:5`)).toBeGreaterThan(SHADOW_STATS_TTL_SECONDS - 60);
    } finally {
      await deleteTestKeys(redis, prefix);
      redis.disconnect();
    }
  });
});
