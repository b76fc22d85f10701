import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestRedis, deleteTestKeys, testRedisPrefix } from '../testing/test-redis';
import { createRedisStreamLog } from './redis-stream-log';
import { describeStreamLogContract } from './stream-log-contract';

let writerRedis: Redis;
let readerRedis: Redis;
const prefixes: string[] = [];
const newPrefix = () => {
  const prefix = testRedisPrefix('stream');
  prefixes.push(prefix);
  return prefix;
};
beforeAll(async () => {
  // Two clients, as two replicas would hold.
  writerRedis = await connectTestRedis();
  readerRedis = await connectTestRedis();
});
afterAll(async () => {
  for (const prefix of prefixes) await deleteTestKeys(writerRedis, prefix);
  await writerRedis?.quit();
  await readerRedis?.quit();
});

describeStreamLogContract('redis', async (limits) => {
  const prefix = newPrefix();
  return {
    log: createRedisStreamLog({ redis: writerRedis, prefix, blockMs: 200, ...limits }),
    peer: createRedisStreamLog({ redis: readerRedis, prefix, blockMs: 200, ...limits }),
  };
});

describe('redis stream log numbering', () => {
  it("adds an event only under its writer's number for it: never under one a client may have been shown for another", async () => {
    const prefix = newPrefix();
    const log = createRedisStreamLog({ redis: writerRedis, prefix, blockMs: 200 });
    const key = `${prefix}stream:answer-1`;
    try {
      expect(await log.append('answer-1', 1, 'a')).toBe(1);
      // The log holds an event 2 that this writer did not see added (as when a reply was lost).
      await writerRedis.xadd(key, '1-2', 'd', 'stray');
      await expect(log.append('answer-1', 1, 'b')).rejects.toThrow(/out of step/);
      // The writer's next is its third, numbered 3.
      expect(await log.append('answer-1', 1, 'c')).toBe(3);
      // One that never got in: its number stays free, and the writer's later events are not added under it.
      await writerRedis.xdel(key, '1-3');
      await expect(log.append('answer-1', 1, 'd')).rejects.toThrow(/out of step/);
      expect((await writerRedis.xrange(key, '-', '+')).map(([id, fields]) => `${id}:${fields[1]}`)).toEqual(['1-1:a', '1-2:stray']);
    } finally {
      await log.close();
    }
  });
});

describe('redis stream log keys', () => {
  it('puts one stream per answer under the prefix, expiring while idle and after its end', async () => {
    const prefix = newPrefix();
    const log = createRedisStreamLog({ redis: writerRedis, prefix, keepSeconds: 120, idleSeconds: 900 });
    try {
      await log.append('answer-1', 1, '{"type":"start"}');
      const key = `${prefix}stream:answer-1`;
      expect(await writerRedis.type(key)).toBe('stream');
      const idleTtl = await writerRedis.ttl(key);
      expect(idleTtl).toBeGreaterThan(800);
      expect(idleTtl).toBeLessThanOrEqual(900);
      await log.end('answer-1');
      const keptTtl = await writerRedis.ttl(key);
      expect(keptTtl).toBeGreaterThan(100);
      expect(keptTtl).toBeLessThanOrEqual(120);
    } finally {
      await log.close();
    }
  });
});
