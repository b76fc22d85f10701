import type { ArmStats, ExperimentReport, TrafficPolicy } from '@axon/contracts';

/**
 * The sequential test of an A/B experiment over Bernoulli arms (a thumbs-up share or a success
 * share), after the stopping rule of track-and-stop best-arm identification (Garivier & Kaufmann,
 * 2016) as TensorZero's experimentation uses it: for the empirical leader L and every other arm j,
 * the generalised likelihood ratio of "L is better than j" against "they are equal",
 *
 *   Z(L, j) = n_L·KL(p_L, p̄) + n_j·KL(p_j, p̄),  p̄ = (n_L·p_L + n_j·p_j) / (n_L + n_j),
 *
 * (zero when p_L ≤ p_j), and the test stops when min_j Z(L, j) exceeds ln((1 + ln N) / δ), N being
 * all samples so far. The threshold grows with N, which is what lets the figures be looked at after
 * every observation without the error probability piling up (up to δ that the leader is wrong).
 * This threshold is the practical one, not a proven time-uniform bound: simulated A/A tests looked
 * at after every observation stop falsely about 3–5 % of the time at δ = 0.05 (glr.test.ts).
 */

export type AbPolicy = Extract<TrafficPolicy, { type: 'ab' }>;

/** One arm's Bernoulli observations. */
export interface BernoulliArm {
  arm: string;
  successes: number;
  trials: number;
}

/** x·ln(x/y), with 0·ln(0/y) = 0. */
function xlogx(x: number, y: number): number {
  return x === 0 ? 0 : x * Math.log(x / y);
}

/** The Kullback–Leibler divergence of Bernoulli(q) from Bernoulli(p), in nats. */
export function bernoulliKl(p: number, q: number): number {
  if (p === q) return 0;
  // q at 0 or 1 while p differs: infinitely unlikely.
  if (q <= 0 || q >= 1) return Number.POSITIVE_INFINITY;
  return xlogx(p, q) + xlogx(1 - p, 1 - q);
}

/** Z(leader, other): the evidence that `leader`'s rate is higher than `other`'s (0 when it is not). */
export function glrStatistic(leader: BernoulliArm, other: BernoulliArm): number {
  if (leader.trials === 0 || other.trials === 0) return 0;
  const pL = leader.successes / leader.trials;
  const pJ = other.successes / other.trials;
  if (pL <= pJ) return 0;
  const pooled = (leader.successes + other.successes) / (leader.trials + other.trials);
  return leader.trials * bernoulliKl(pL, pooled) + other.trials * bernoulliKl(pJ, pooled);
}

/** ln((1 + ln N) / δ): what the smallest statistic must pass after N samples. */
export function stoppingThreshold(samples: number, delta: number): number {
  return Math.log((1 + Math.log(Math.max(samples, 1))) / delta);
}

export interface SequentialTestResult {
  samples: number;
  /** The smallest Z(leader, j) over the other arms; null until every arm has a sample. */
  glr: number | null;
  threshold: number | null;
  leader: string | null;
  significant: boolean;
  rates: Record<string, number>;
}

/**
 * The test over `arms` (at least two). The leader is the arm with the highest rate (ties: more
 * trials, then the earlier arm). It is significant only once every arm has `minSamples` trials.
 */
export function sequentialTest(arms: readonly BernoulliArm[], options: { delta: number; minSamples: number }): SequentialTestResult {
  const samples = arms.reduce((sum, a) => sum + a.trials, 0);
  const rates: Record<string, number> = {};
  for (const a of arms) if (a.trials > 0) rates[a.arm] = a.successes / a.trials;

  let leader: BernoulliArm | undefined;
  for (const a of arms) {
    if (a.trials === 0) continue;
    const rate = a.successes / a.trials;
    const best = leader ? leader.successes / leader.trials : Number.NEGATIVE_INFINITY;
    if (!leader || rate > best || (rate === best && a.trials > leader.trials)) leader = a;
  }
  if (!leader || arms.length < 2 || arms.some((a) => a.trials === 0))
    return { samples, glr: null, threshold: null, leader: leader?.arm ?? null, significant: false, rates };

  const top = leader;
  const glr = Math.min(...arms.filter((a) => a !== top).map((a) => glrStatistic(top, a)));
  const threshold = stoppingThreshold(samples, options.delta);
  const enough = arms.every((a) => a.trials >= options.minSamples);
  return { samples, glr, threshold, leader: top.arm, significant: enough && glr > threshold, rates };
}

/** An arm's observations for the metric: rated answers' thumbs-up, or requests that did not fail. */
export function bernoulliArm(stats: ArmStats | undefined, arm: string, metric: AbPolicy['metric']): BernoulliArm {
  if (!stats) return { arm, successes: 0, trials: 0 };
  if (metric === 'feedback') return { arm, successes: stats.thumbsUp, trials: stats.thumbsUp + stats.thumbsDown };
  return { arm, successes: Math.max(0, stats.requests - stats.errors), trials: stats.requests };
}

/** The A/B test's report over its variants' figures (a variant without figures counts as no samples). */
export function experimentReport(policy: AbPolicy, arms: readonly ArmStats[]): ExperimentReport {
  const observations = policy.variants.map((v) =>
    bernoulliArm(
      arms.find((a) => a.arm === v.name),
      v.name,
      policy.metric,
    ),
  );
  const result = sequentialTest(observations, { delta: policy.delta, minSamples: policy.minSamples });
  return { metric: policy.metric, delta: policy.delta, ...result };
}
