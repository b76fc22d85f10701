/**
 * Time-to-first-token percentiles from a fixed log-spaced histogram: bucket i holds values in
 * [1.1^i, 1.1^(i+1)) ms, from 1 ms to 10 minutes (141 buckets), so every replica counts into the
 * same buckets (in Redis, one HINCRBY per value) and a percentile is read to within ~5 %.
 */

const GROWTH = 1.1;
const MAX_MS = 600_000;

/** How many buckets there are; the last also takes everything above 10 minutes. */
export const TTFT_BUCKETS = Math.ceil(Math.log(MAX_MS) / Math.log(GROWTH)) + 1;

/** The bucket a time in ms falls in (below 1 ms: the first). */
export function ttftBucket(ms: number): number {
  if (!(ms >= 1)) return 0;
  return Math.min(TTFT_BUCKETS - 1, Math.floor(Math.log(ms) / Math.log(GROWTH)));
}

/** The value a bucket stands for: its geometric middle, in ms (rounded to 0.01 ms). */
export function ttftBucketValue(bucket: number): number {
  return Math.round(GROWTH ** (bucket + 0.5) * 100) / 100;
}

/** The q-quantile (0..1) of the counts by bucket; null when there are none. */
export function ttftQuantile(counts: ReadonlyMap<number, number>, q: number): number | null {
  let total = 0;
  for (const n of counts.values()) total += Math.max(0, n);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let cumulative = 0;
  for (const bucket of [...counts.keys()].sort((a, b) => a - b)) {
    cumulative += Math.max(0, counts.get(bucket) ?? 0);
    if (cumulative >= rank) return ttftBucketValue(bucket);
  }
  return null;
}
