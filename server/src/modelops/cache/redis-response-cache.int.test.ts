import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestRedis, deleteTestKeys, testRedisPrefix } from '../../testing/test-redis';
import { createRedisResponseCache } from './redis-response-cache';
import {
  buildAnswer,
  buildPolicy,
  buildRequest,
  createFakeEmbedder,
  createTestClock,
  describeResponseCacheContract,
  FAKE_VECTORS,
  Q,
  Q_CLOSE,
} from './response-cache-contract';

let redis: Redis;
const prefixes: string[] = [];
beforeAll(async () => {
  redis = await connectTestRedis();
});
afterAll(async () => {
  for (const prefix of prefixes) await deleteTestKeys(redis, prefix);
  await redis.quit();
});

const fresh = () => {
  const prefix = testRedisPrefix('cache');
  prefixes.push(prefix);
  return prefix;
};

describeResponseCacheContract('redis', async (options) => createRedisResponseCache({ redis, prefix: fresh(), ...options }));

describe('the Redis response cache', () => {
  it('is shared by replicas: one stores, another finds it, and a bump by either is seen by both', async () => {
    const prefix = fresh();
    const clock = createTestClock();
    const { embed } = createFakeEmbedder(FAKE_VECTORS);
    const other = await connectTestRedis();
    try {
      const one = createRedisResponseCache({ redis, prefix, embed, now: clock.now });
      const two = createRedisResponseCache({ redis: other, prefix, embed, now: clock.now });
      const policy = buildPolicy({ semantic: { threshold: 0.9 } });
      const req = buildRequest(Q, { policy, collectionIds: ['col-1'] });
      await one.store(req, buildAnswer());
      expect(await two.lookup(buildRequest(Q, { policy, collectionIds: ['col-1'] }))).toMatchObject({ match: 'exact' });
      expect(await two.lookup(buildRequest(Q_CLOSE, { policy, collectionIds: ['col-1'] }))).toMatchObject({ match: 'semantic' });
      await two.bumpCollection('col-1');
      expect(await one.lookup(buildRequest(Q, { policy, collectionIds: ['col-1'] }))).toBeUndefined();
      expect(await one.lookup(buildRequest(Q_CLOSE, { policy, collectionIds: ['col-1'] }))).toBeUndefined();
    } finally {
      await other.quit();
    }
  });

  it('gives every key of the prefix an expiry except the generation counters', async () => {
    const prefix = fresh();
    const { embed } = createFakeEmbedder(FAKE_VECTORS);
    const cache = createRedisResponseCache({ redis, prefix, embed });
    await cache.bumpCollection('col-1');
    await cache.store(
      buildRequest(Q, { policy: buildPolicy({ ttlSeconds: 120, semantic: { threshold: 0.9 } }), collectionIds: ['col-1'] }),
      buildAnswer(),
    );
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys.length).toBe(6);
    for (const key of keys) {
      const ttl = await redis.pttl(key);
      if (key.startsWith(`${prefix}:gen:`)) expect(ttl).toBe(-1);
      else {
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(120_000);
      }
    }
  });
});
