import { type ArmStats, TrafficPolicySchema } from '@axon/contracts';
import { describe, expect, it } from 'vitest';
import { type AbPolicy, type BernoulliArm, bernoulliKl, experimentReport, glrStatistic, sequentialTest, stoppingThreshold } from './glr';
import { mulberry32 } from './seeded-random';

/** Feeds arms with rates `rates` one observation at a time (round robin), testing after each; stops at `cap` samples. */
function simulate(rates: number[], seed: number, cap: number, options = { delta: 0.05, minSamples: 30 }) {
  const random = mulberry32(seed);
  const arms: BernoulliArm[] = rates.map((_, i) => ({ arm: `arm${i}`, successes: 0, trials: 0 }));
  for (let n = 0; n < cap; n++) {
    const i = n % rates.length;
    const arm = arms[i] as BernoulliArm;
    arm.trials++;
    if (random() < (rates[i] as number)) arm.successes++;
    const result = sequentialTest(arms, options);
    if (result.significant) return { stopped: true, leader: result.leader, samples: n + 1 };
  }
  return { stopped: false, leader: null, samples: cap };
}

function buildArm(arm: string, version: number, figures: Partial<ArmStats> = {}): ArmStats {
  return { arm, version, requests: 0, errors: 0, ttftP50Ms: null, ttftP95Ms: null, costUsd: 0, thumbsUp: 0, thumbsDown: 0, ...figures };
}

const abPolicy = (extra: Record<string, unknown> = {}) =>
  TrafficPolicySchema.parse({
    type: 'ab',
    variants: [
      { name: 'control', version: 1 },
      { name: 'terse', version: 2 },
    ],
    ...extra,
  }) as AbPolicy;

describe('GLR statistic', () => {
  it('computes the Bernoulli KL divergence, with its edge cases', () => {
    expect(bernoulliKl(0.5, 0.5)).toBe(0);
    expect(bernoulliKl(0.6, 0.5)).toBeCloseTo(0.6 * Math.log(1.2) + 0.4 * Math.log(0.8), 12);
    expect(bernoulliKl(0, 0.5)).toBeCloseTo(Math.log(2), 12);
    expect(bernoulliKl(1, 0.25)).toBeCloseTo(Math.log(4), 12);
    expect(bernoulliKl(0.5, 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('weighs both arms against the pooled rate, and is zero when the leader is not better', () => {
    const leader = { arm: 'a', successes: 60, trials: 100 };
    const other = { arm: 'b', successes: 90, trials: 200 };
    const pooled = 150 / 300;
    expect(glrStatistic(leader, other)).toBeCloseTo(100 * bernoulliKl(0.6, pooled) + 200 * bernoulliKl(0.45, pooled), 12);
    expect(glrStatistic(other, leader)).toBe(0);
    expect(glrStatistic(leader, { arm: 'c', successes: 60, trials: 100 })).toBe(0);
  });

  it('sets the threshold at ln((1 + ln N) / δ)', () => {
    expect(stoppingThreshold(1000, 0.05)).toBeCloseTo(Math.log((1 + Math.log(1000)) / 0.05), 12);
    expect(stoppingThreshold(0, 0.05)).toBeCloseTo(Math.log(20), 12);
  });

  it('takes the smallest statistic over the other arms, so the leader must beat every one', () => {
    const arms = [
      { arm: 'a', successes: 70, trials: 100 },
      { arm: 'b', successes: 30, trials: 100 },
      { arm: 'c', successes: 66, trials: 100 },
    ];
    const result = sequentialTest(arms, { delta: 0.05, minSamples: 30 });
    expect(result.leader).toBe('a');
    expect(result.glr).toBeCloseTo(glrStatistic(arms[0] as BernoulliArm, arms[2] as BernoulliArm), 12);
    expect(result.significant).toBe(false);
    expect(sequentialTest(arms.slice(0, 2), { delta: 0.05, minSamples: 30 }).significant).toBe(true);
  });
});

describe('sequential test, simulated', () => {
  it('finds a better variant (0.60 against 0.45) with the right leader in at least 95 of 100 runs', () => {
    let right = 0;
    for (let run = 0; run < 100; run++) {
      const outcome = simulate([0.45, 0.6], 5000 + run, 4000);
      if (outcome.stopped && outcome.leader === 'arm1') right++;
    }
    expect(right).toBeGreaterThanOrEqual(95);
  });

  it('stops falsely in at most 5 % of 200 A/A runs, looking after every observation up to 2,000 samples', () => {
    let falseStops = 0;
    for (let run = 0; run < 200; run++) if (simulate([0.5, 0.5], 1000 + run, 2000).stopped) falseStops++;
    expect(falseStops).toBeLessThanOrEqual(10);
  });
});

describe('experimentReport', () => {
  it('reads thumbs for the feedback metric and is significant on a clear winner', () => {
    const report = experimentReport(abPolicy(), [
      buildArm('control', 1, { requests: 500, thumbsUp: 90, thumbsDown: 110 }),
      buildArm('terse', 2, { requests: 500, thumbsUp: 150, thumbsDown: 50 }),
    ]);
    expect(report).toMatchObject({ metric: 'feedback', delta: 0.05, samples: 400, leader: 'terse', significant: true });
    expect(report.rates).toEqual({ control: 0.45, terse: 0.75 });
    expect(report.glr).toBeGreaterThan(report.threshold as number);
  });

  it('reads requests that did not fail for the success metric', () => {
    const report = experimentReport(abPolicy({ metric: 'success' }), [
      buildArm('control', 1, { requests: 400, errors: 80, thumbsUp: 400 }),
      buildArm('terse', 2, { requests: 400, errors: 8 }),
    ]);
    expect(report).toMatchObject({ metric: 'success', samples: 800, leader: 'terse', significant: true });
    expect(report.rates).toEqual({ control: 0.8, terse: 0.98 });
  });

  it('is not significant while an arm has fewer than minSamples, however large the gap', () => {
    const report = experimentReport(abPolicy({ minSamples: 30 }), [
      buildArm('control', 1, { thumbsUp: 0, thumbsDown: 29 }),
      buildArm('terse', 2, { thumbsUp: 300, thumbsDown: 0 }),
    ]);
    expect(report.leader).toBe('terse');
    expect(report.glr).toBeGreaterThan(report.threshold as number);
    expect(report.significant).toBe(false);
  });

  it('has no statistic while a variant has no figures', () => {
    const report = experimentReport(abPolicy(), [buildArm('control', 1, { thumbsUp: 5, thumbsDown: 5 })]);
    expect(report).toMatchObject({
      samples: 10,
      glr: null,
      threshold: null,
      leader: 'control',
      significant: false,
      rates: { control: 0.5 },
    });
    expect(experimentReport(abPolicy(), [])).toMatchObject({ samples: 0, leader: null, significant: false, rates: {} });
  });
});
