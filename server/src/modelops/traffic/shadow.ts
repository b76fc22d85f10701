import type { DeploymentStatus } from '@axon/contracts';
import type { Redis } from 'ioredis';

/**
 * Shadow traffic: how a mirrored answer (never returned) compares with the one served — latency
 * ratio, length ratio, textual similarity and what it cost — and the running means of those per
 * alias, revision and shadow version, in memory or in Redis (one hash, one MULTI per answer).
 *
 * Similarity is the cosine of the two answers' term-frequency vectors over lower-cased word tokens
 * (letters and digits, any script): cheap, order-free, and unlike Jaccard it weighs a repeated
 * term, so a long answer that shares the same vocabulary with different emphasis scores lower.
 */

/** An answer to compare: its text, how long it took in all, and what it cost. */
export interface ShadowAnswer {
  text: string;
  totalMs: number;
  costUsd: number;
}

export interface ShadowComparison {
  /** The shadow's total time over the served answer's; null when the served one took no time. */
  latencyRatio: number | null;
  /** The shadow's length in characters over the served answer's; null when the served one is empty. */
  lengthRatio: number | null;
  /** Cosine similarity of the two texts' term frequencies, 0..1 (two empty texts: 1). */
  similarity: number;
  /** What the shadow answer cost. */
  costUsd: number;
}

export type ShadowSummary = NonNullable<DeploymentStatus['shadow']>;

/** Running means of the comparisons, keyed by alias, revision and shadow version. */
export interface ShadowStats {
  record(alias: string, revision: number, version: number, comparison: ShadowComparison): Promise<void>;
  /** The comparisons' means so far (null when none had the figure) and the shadow's total cost. */
  summary(alias: string, revision: number, version: number): Promise<ShadowSummary>;
  close(): Promise<void>;
}

/** How long an alias revision's shadow figures are kept after their last write. */
export const SHADOW_STATS_TTL_SECONDS = 30 * 86_400;

const WORD = /[\p{L}\p{N}]+/gu;

function termFrequencies(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [token] of text.toLowerCase().matchAll(WORD)) counts.set(token, (counts.get(token) ?? 0) + 1);
  return counts;
}

/** The cosine of two texts' term-frequency vectors. */
export function textSimilarity(a: string, b: string): number {
  const x = termFrequencies(a);
  const y = termFrequencies(b);
  if (x.size === 0 && y.size === 0) return 1;
  if (x.size === 0 || y.size === 0) return 0;
  let dot = 0;
  for (const [term, n] of x) dot += n * (y.get(term) ?? 0);
  const norm = (v: Map<string, number>) => Math.sqrt([...v.values()].reduce((sum, n) => sum + n * n, 0));
  // Rounding can put identical texts a hair above 1.
  return Math.min(1, dot / (norm(x) * norm(y)));
}

export function compareShadow(served: ShadowAnswer, shadow: ShadowAnswer): ShadowComparison {
  return {
    latencyRatio: served.totalMs > 0 ? shadow.totalMs / served.totalMs : null,
    lengthRatio: served.text.length > 0 ? shadow.text.length / served.text.length : null,
    similarity: textSimilarity(served.text, shadow.text),
    costUsd: Math.max(0, shadow.costUsd),
  };
}

interface Sums {
  requests: number;
  latencyCount: number;
  latencySum: number;
  lengthCount: number;
  lengthSum: number;
  similaritySum: number;
  costUsd: number;
}

const emptySums = (): Sums => ({ requests: 0, latencyCount: 0, latencySum: 0, lengthCount: 0, lengthSum: 0, similaritySum: 0, costUsd: 0 });

function toSummary(version: number, s: Sums): ShadowSummary {
  return {
    version,
    requests: s.requests,
    meanLatencyRatio: s.latencyCount > 0 ? s.latencySum / s.latencyCount : null,
    meanLengthRatio: s.lengthCount > 0 ? s.lengthSum / s.lengthCount : null,
    meanSimilarity: s.requests > 0 ? s.similaritySum / s.requests : null,
    costUsd: Math.max(0, s.costUsd),
  };
}

export function createMemoryShadowStats(): ShadowStats {
  const sums = new Map<string, Sums>();
  const keyOf = (alias: string, revision: number, version: number) => `${alias}\n${revision}\n${version}`;
  return {
    async record(alias, revision, version, c) {
      const key = keyOf(alias, revision, version);
      const s = sums.get(key) ?? emptySums();
      sums.set(key, s);
      s.requests++;
      if (c.latencyRatio !== null) {
        s.latencyCount++;
        s.latencySum += c.latencyRatio;
      }
      if (c.lengthRatio !== null) {
        s.lengthCount++;
        s.lengthSum += c.lengthRatio;
      }
      s.similaritySum += c.similarity;
      s.costUsd += c.costUsd;
    },
    async summary(alias, revision, version) {
      return toSummary(version, sums.get(keyOf(alias, revision, version)) ?? emptySums());
    },
    async close() {
      sums.clear();
    },
  };
}

/** The sums in one Redis hash per alias, revision and version; the connection is the caller's. */
export function createRedisShadowStats(options: {
  redis: Pick<Redis, 'multi' | 'hgetall'>;
  prefix: string;
  ttlSeconds?: number;
}): ShadowStats {
  const ttl = options.ttlSeconds ?? SHADOW_STATS_TTL_SECONDS;
  const keyOf = (alias: string, revision: number, version: number) => `${options.prefix}:shadow:${alias}:${revision}:${version}`;
  return {
    async record(alias, revision, version, c) {
      const key = keyOf(alias, revision, version);
      const multi = options.redis.multi().hincrby(key, 'n', 1).hincrbyfloat(key, 'sim', c.similarity);
      if (c.latencyRatio !== null) multi.hincrby(key, 'latN', 1).hincrbyfloat(key, 'lat', c.latencyRatio);
      if (c.lengthRatio !== null) multi.hincrby(key, 'lenN', 1).hincrbyfloat(key, 'len', c.lengthRatio);
      if (c.costUsd > 0) multi.hincrbyfloat(key, 'cost', c.costUsd);
      const results = await multi.expire(key, ttl).exec();
      const failed = results?.find(([error]) => error);
      if (failed?.[0]) throw failed[0];
    },
    async summary(alias, revision, version) {
      const h = await options.redis.hgetall(keyOf(alias, revision, version));
      const n = (field: string) => Number(h[field] ?? 0);
      return toSummary(version, {
        requests: n('n'),
        latencyCount: n('latN'),
        latencySum: n('lat'),
        lengthCount: n('lenN'),
        lengthSum: n('len'),
        similaritySum: n('sim'),
        costUsd: n('cost'),
      });
    },
    async close() {},
  };
}
