import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';

/** The Redis server the tests use (`AXON_TEST_REDIS_URL`; the loopback one by default). */
export const TEST_REDIS_URL = process.env.AXON_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix of its own for one test, so that tests sharing the server do not collide (`axon-<label>-<random>`). */
export const testRedisPrefix = (label = 'test') => `axon-${label}-${randomUUID().slice(0, 8)}`;

/** A connected client of the test Redis; fails (never skips) saying what to start when there is none. */
export async function connectTestRedis(options: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: null, ...options });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(
      `These tests need Redis at ${TEST_REDIS_URL} (${(error as Error).message}). ` +
        'Start it with: redis-server --daemonize yes (or apt-get install redis-server), or point AXON_TEST_REDIS_URL at one.',
    );
  }
  return redis;
}

/** Deletes every key that starts with `prefix`. */
export async function deleteTestKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
