import type { Redis } from 'ioredis';
import {
  type CachedAnswer,
  createResponseCache,
  type ResponseCache,
  type ResponseCacheBackend,
  type ResponseCacheOptions,
  type SemanticCandidate,
} from './response-cache';

/** What the cache uses of a Redis client. */
export type ResponseCacheRedis = Pick<Redis, 'mget' | 'incr' | 'get' | 'set' | 'callBuffer' | 'zscore' | 'hget'>;

// Drops a partition's expired entries (ARGV[1]: now). KEYS: the expiry ZSET, the vectors', the
// answers' and the questions' hashes.
const PRUNE = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #expired > 0 then
  redis.call('ZREM', KEYS[1], unpack(expired))
  for i = 2, 4 do redis.call('HDEL', KEYS[i], unpack(expired)) end
end
`;

// The live vectors and questions of a partition, as two flat lists of id, value.
const CANDIDATES = `${PRUNE}
return {redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[4])}
`;

// Adds an entry (ARGV: now, id, vector bytes, answer JSON, expires at, most entries, question),
// drops the ones expiring first past the bound, and lets the partition's keys expire with their
// last entry.
const ADD = `${PRUNE}
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[7])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[6])
if excess > 0 then
  local old = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
  redis.call('ZREM', KEYS[1], unpack(old))
  for i = 2, 4 do redis.call('HDEL', KEYS[i], unpack(old)) end
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = math.max(1000, math.ceil(tonumber(last[2]) - tonumber(ARGV[1])))
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end
return 1
`;

const toBytes = (vector: Float32Array) => Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
// A copy: a Buffer from the client need not start at a multiple of 4 bytes.
const toVector = (bytes: Buffer) => new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));

/**
 * The response cache in Redis, shared by every replica. Exact entries are strings with an expiry
 * (`<prefix>:x:<key>`); a semantic partition is four keys: a ZSET of entry ids by expiry time
 * (bounding and pruning), a hash of their Float32 vectors as bytes, a hash of their answers and a
 * hash of their questions (for the slot check).
 * Vectors are scanned in the replica (a few hundred per partition at most), so no vector search
 * module is needed. Generations are INCR counters (`<prefix>:gen:…`), so a bump by any replica is
 * seen by all at their next lookup. The client stays the caller's to close.
 */
export function createRedisResponseCache(options: ResponseCacheOptions & { redis: ResponseCacheRedis; prefix: string }): ResponseCache {
  const { redis, prefix } = options;
  const semanticKeys = (partition: string) => [
    `${prefix}:s:${partition}:t`,
    `${prefix}:s:${partition}:v`,
    `${prefix}:s:${partition}:a`,
    `${prefix}:s:${partition}:q`,
  ];

  const backend: ResponseCacheBackend = {
    async generations(keys) {
      const values = await redis.mget(...keys.map((k) => `${prefix}:gen:${k}`));
      return values.map((v) => (v === null ? 0 : Number(v)));
    },
    async bump(key) {
      await redis.incr(`${prefix}:gen:${key}`);
    },
    async getExact(key, now) {
      const raw = await redis.get(`${prefix}:x:${key}`);
      if (raw === null) return undefined;
      const stored = JSON.parse(raw) as { answer: CachedAnswer; expiresAt: number };
      return stored.expiresAt > now ? stored.answer : undefined;
    },
    async setExact(key, answer, expiresAt, now) {
      const seconds = Math.max(1, Math.ceil((expiresAt - now) / 1000));
      await redis.set(`${prefix}:x:${key}`, JSON.stringify({ answer, expiresAt }), 'EX', seconds);
    },
    async candidates(partition, now) {
      const [vectors = [], questions = []] = (await redis.callBuffer('EVAL', CANDIDATES, 4, ...semanticKeys(partition), String(now))) as [
        Buffer[],
        Buffer[],
      ];
      const questionOf = new Map<string, string>();
      for (let i = 0; i + 1 < questions.length; i += 2)
        questionOf.set((questions[i] as Buffer).toString('utf8'), (questions[i + 1] as Buffer).toString('utf8'));
      const out: SemanticCandidate[] = [];
      for (let i = 0; i + 1 < vectors.length; i += 2) {
        const id = (vectors[i] as Buffer).toString('utf8');
        out.push({ id, vector: toVector(vectors[i + 1] as Buffer), question: questionOf.get(id) });
      }
      return out;
    },
    async getSemantic(partition, id, now) {
      const [expiry = '', , answers = ''] = semanticKeys(partition);
      const [expiresAt, raw] = await Promise.all([redis.zscore(expiry, id), redis.hget(answers, id)]);
      if (expiresAt === null || raw === null || Number(expiresAt) <= now) return undefined;
      return JSON.parse(raw) as CachedAnswer;
    },
    async addSemantic(partition, entry, maxEntries, now) {
      await redis.callBuffer(
        'EVAL',
        ADD,
        4,
        ...semanticKeys(partition),
        String(now),
        entry.id,
        toBytes(entry.vector),
        JSON.stringify(entry.answer),
        String(entry.expiresAt),
        String(maxEntries),
        entry.question,
      );
    },
    async close() {},
  };
  return createResponseCache(backend, options);
}
