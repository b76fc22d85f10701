import type { ArmStats } from '@axon/contracts';
import type { Redis } from 'ioredis';
import type { ArmMetricsStore, CallOutcome } from '../types';
import { TTFT_BUCKETS, ttftBucket, ttftQuantile } from './ttft-histogram';

/**
 * Per-arm figures of an alias's experiment, keyed by alias and revision (a changed policy starts
 * from zero): requests, failures, cost, thumbs up and down, and time to first token as a
 * log-spaced histogram (see ttft-histogram.ts) read as p50/p95. In memory for one process; in
 * Redis, one hash per alias and revision, written in one MULTI per call (one round trip), so that
 * every replica's requests count. Figures expire 30 days after their last write.
 */

/** How long the figures of an alias's revision are kept after their last write. */
export const ARM_METRICS_TTL_SECONDS = 30 * 86_400;

interface ArmCounters {
  version: number;
  requests: number;
  errors: number;
  costUsd: number;
  thumbsUp: number;
  thumbsDown: number;
  ttft: Map<number, number>;
}

function toArmStats(arm: string, c: ArmCounters): ArmStats {
  return {
    arm,
    version: c.version,
    requests: Math.max(0, c.requests),
    errors: Math.max(0, c.errors),
    ttftP50Ms: ttftQuantile(c.ttft, 0.5),
    ttftP95Ms: ttftQuantile(c.ttft, 0.95),
    costUsd: Math.max(0, c.costUsd),
    thumbsUp: Math.max(0, c.thumbsUp),
    thumbsDown: Math.max(0, c.thumbsDown),
  };
}

const byVersionThenArm = (a: ArmStats, b: ArmStats) => a.version - b.version || a.arm.localeCompare(b.arm);

/** The thumbs counters a vote moves: +1 on `value`, −1 on a different `previous`. */
function voteDeltas(value: 'up' | 'down', previous: 'up' | 'down' | undefined): { up: number; down: number } | undefined {
  if (previous === value) return undefined;
  const up = (value === 'up' ? 1 : 0) - (previous === 'up' ? 1 : 0);
  const down = (value === 'down' ? 1 : 0) - (previous === 'down' ? 1 : 0);
  return { up, down };
}

/** The figures of one process (the embedded deployment and tests). */
export function createMemoryArmMetrics(options: { now?: () => number; ttlSeconds?: number } = {}): ArmMetricsStore {
  const now = options.now ?? Date.now;
  const ttlMs = (options.ttlSeconds ?? ARM_METRICS_TTL_SECONDS) * 1000;
  const epochs = new Map<string, { lastWrite: number; arms: Map<string, ArmCounters> }>();
  const keyOf = (alias: string, revision: number) => `${alias}\n${revision}`;

  function live(alias: string, revision: number) {
    const key = keyOf(alias, revision);
    const epoch = epochs.get(key);
    if (epoch && now() - epoch.lastWrite > ttlMs) {
      epochs.delete(key);
      return undefined;
    }
    return epoch;
  }

  function counters(alias: string, revision: number, arm: string, version: number): ArmCounters {
    let epoch = live(alias, revision);
    if (!epoch) {
      epoch = { lastWrite: now(), arms: new Map() };
      epochs.set(keyOf(alias, revision), epoch);
    }
    epoch.lastWrite = now();
    let c = epoch.arms.get(arm);
    if (!c) {
      c = { version, requests: 0, errors: 0, costUsd: 0, thumbsUp: 0, thumbsDown: 0, ttft: new Map() };
      epoch.arms.set(arm, c);
    }
    c.version = version;
    return c;
  }

  return {
    async record(alias, revision, arm, version, outcome: CallOutcome) {
      const c = counters(alias, revision, arm, version);
      c.requests++;
      if (!outcome.ok) c.errors++;
      c.costUsd += Math.max(0, outcome.costUsd);
      if (outcome.ttftMs !== null) {
        const bucket = ttftBucket(outcome.ttftMs);
        c.ttft.set(bucket, (c.ttft.get(bucket) ?? 0) + 1);
      }
    },
    async recordFeedback(alias, revision, arm, version, value, previous) {
      const deltas = voteDeltas(value, previous);
      if (!deltas) return;
      const c = counters(alias, revision, arm, version);
      c.thumbsUp += deltas.up;
      c.thumbsDown += deltas.down;
    },
    async snapshot(alias, revision) {
      const epoch = live(alias, revision);
      if (!epoch) return [];
      return [...epoch.arms].map(([arm, c]) => toArmStats(arm, c)).sort(byVersionThenArm);
    },
    async close() {
      epochs.clear();
    },
  };
}

/**
 * The figures in Redis, shared by every replica: one hash `<prefix>:arms:<alias>:<revision>` with
 * fields `<arm>:<counter>` (`v` version, `n` requests, `e` errors, `c` cost, `up`, `down`, `h<i>`
 * TTFT bucket i). The connection is the caller's: `close` leaves it open.
 */
export function createRedisArmMetrics(options: {
  redis: Pick<Redis, 'multi' | 'hgetall'>;
  prefix: string;
  ttlSeconds?: number;
}): ArmMetricsStore {
  const ttl = options.ttlSeconds ?? ARM_METRICS_TTL_SECONDS;
  const keyOf = (alias: string, revision: number) => `${options.prefix}:arms:${alias}:${revision}`;

  async function exec(multi: ReturnType<Redis['multi']>): Promise<void> {
    const results = await multi.exec();
    const failed = results?.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
  }

  return {
    async record(alias, revision, arm, version, outcome) {
      const key = keyOf(alias, revision);
      const multi = options.redis.multi().hset(key, `${arm}:v`, version).hincrby(key, `${arm}:n`, 1);
      if (!outcome.ok) multi.hincrby(key, `${arm}:e`, 1);
      if (outcome.costUsd > 0) multi.hincrbyfloat(key, `${arm}:c`, outcome.costUsd);
      if (outcome.ttftMs !== null) multi.hincrby(key, `${arm}:h${ttftBucket(outcome.ttftMs)}`, 1);
      await exec(multi.expire(key, ttl));
    },
    async recordFeedback(alias, revision, arm, version, value, previous) {
      const deltas = voteDeltas(value, previous);
      if (!deltas) return;
      const key = keyOf(alias, revision);
      const multi = options.redis.multi().hset(key, `${arm}:v`, version);
      if (deltas.up !== 0) multi.hincrby(key, `${arm}:up`, deltas.up);
      if (deltas.down !== 0) multi.hincrby(key, `${arm}:down`, deltas.down);
      await exec(multi.expire(key, ttl));
    },
    async snapshot(alias, revision) {
      const fields = await options.redis.hgetall(keyOf(alias, revision));
      const arms = new Map<string, ArmCounters>();
      for (const [field, raw] of Object.entries(fields)) {
        const at = field.lastIndexOf(':');
        const arm = field.slice(0, at);
        const counter = field.slice(at + 1);
        let c = arms.get(arm);
        if (!c) {
          c = { version: 0, requests: 0, errors: 0, costUsd: 0, thumbsUp: 0, thumbsDown: 0, ttft: new Map() };
          arms.set(arm, c);
        }
        const value = Number(raw);
        if (counter === 'v') c.version = value;
        else if (counter === 'n') c.requests = value;
        else if (counter === 'e') c.errors = value;
        else if (counter === 'c') c.costUsd = value;
        else if (counter === 'up') c.thumbsUp = value;
        else if (counter === 'down') c.thumbsDown = value;
        else if (counter.startsWith('h')) {
          const bucket = Number(counter.slice(1));
          if (Number.isInteger(bucket) && bucket >= 0 && bucket < TTFT_BUCKETS) c.ttft.set(bucket, value);
        }
      }
      return [...arms]
        .filter(([, c]) => c.version > 0)
        .map(([arm, c]) => toArmStats(arm, c))
        .sort(byVersionThenArm);
    },
    async close() {},
  };
}
