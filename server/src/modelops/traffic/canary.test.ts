import { type ArmStats, type RolloutState, TrafficPolicySchema } from '@axon/contracts';
import { describe, expect, it } from 'vitest';
import { type CanaryPolicy, decideCanary, figuresSince, formatPercent, MIN_RATED_ANSWERS, stepBaselineOf } from './canary';

const start = new Date('2026-12-01T10:00:00.000Z');
const later = (seconds: number) => new Date(start.getTime() + seconds * 1000);
const running = (step = 0, extra: Partial<RolloutState> = {}): RolloutState => ({
  status: 'running',
  step,
  stepStartedAt: start.toISOString(),
  reason: null,
  winner: null,
  ...extra,
});

const policy = (extra: Record<string, unknown> = {}) =>
  TrafficPolicySchema.parse({
    type: 'canary',
    stable: 1,
    candidate: 2,
    steps: [5, 25, 100],
    minSamples: 100,
    stepSeconds: 600,
    ...extra,
  }) as CanaryPolicy;

function candidate(figures: Partial<ArmStats> = {}): ArmStats[] {
  return [
    { arm: 'stable', version: 1, requests: 5000, errors: 500, ttftP50Ms: 9000, ttftP95Ms: 9000, costUsd: 1, thumbsUp: 0, thumbsDown: 90 },
    {
      arm: 'candidate',
      version: 2,
      requests: 240,
      errors: 1,
      ttftP50Ms: 300,
      ttftP95Ms: 850,
      costUsd: 0.2,
      thumbsUp: 0,
      thumbsDown: 0,
      ...figures,
    },
  ];
}

describe('decideCanary', () => {
  it('holds below minSamples, whatever the figures, saying how many it has', () => {
    const decision = decideCanary(policy(), running(), candidate({ requests: 40, errors: 40 }), later(3600));
    expect(decision.action).toBe('hold');
    expect(decision.state).toEqual(running());
    expect(decision.reason).toBe('step 1 of 3 (5 %): 40 of 100 requests so far');
  });

  it('holds with no candidate figures at all', () => {
    expect(decideCanary(policy(), running(), [], later(3600))).toMatchObject({
      action: 'hold',
      reason: 'step 1 of 3 (5 %): 0 of 100 requests so far',
    });
  });

  it('rolls back on the error rate, with the figures in the reason', () => {
    const decision = decideCanary(policy(), running(), candidate({ errors: 29 }), later(10));
    expect(decision.action).toBe('rollback');
    expect(decision.reason).toBe('rolled back at step 1 of 3 (5 %): error rate 12.1 % > 5 % over 240 requests');
    expect(decision.state).toEqual({
      status: 'rolled-back',
      step: 0,
      stepStartedAt: later(10).toISOString(),
      reason: decision.reason,
      winner: null,
    });
  });

  it('rolls back on TTFT p95', () => {
    const decision = decideCanary(policy({ thresholds: { ttftP95Ms: 2000 } }), running(1), candidate({ ttftP95Ms: 6200 }), later(10));
    expect(decision).toMatchObject({
      action: 'rollback',
      reason: 'rolled back at step 2 of 3 (25 %): TTFT p95 6,200 ms > 2,000 ms over 240 requests',
    });
  });

  it(`judges negative feedback only from ${MIN_RATED_ANSWERS} rated answers`, () => {
    const few = decideCanary(policy(), running(), candidate({ thumbsUp: 0, thumbsDown: MIN_RATED_ANSWERS - 1 }), later(10));
    expect(few.action).toBe('hold');
    const enough = decideCanary(policy(), running(), candidate({ thumbsUp: 6, thumbsDown: 4 }), later(10));
    expect(enough).toMatchObject({
      action: 'rollback',
      reason: 'rolled back at step 1 of 3 (5 %): negative feedback 40 % > 30 % over 10 rated answers',
    });
    expect(decideCanary(policy(), running(), candidate({ thumbsUp: 7, thumbsDown: 3 }), later(10)).action).toBe('hold');
  });

  it('holds a healthy step until stepSeconds have passed, then advances and restarts the clock', () => {
    const early = decideCanary(policy(), running(), candidate(), later(120));
    expect(early).toMatchObject({
      action: 'hold',
      reason: 'step 1 of 3 (5 %): healthy so far (240 requests, 0.4 % errors, TTFT p95 850 ms); 120 s of 600 s',
    });
    const decision = decideCanary(policy(), running(), candidate(), later(600));
    expect(decision.action).toBe('advance');
    expect(decision.reason).toBe('advanced to step 2 of 3 (25 %): healthy at 5 % with 240 requests, 0.4 % errors, TTFT p95 850 ms');
    expect(decision.state).toEqual({
      status: 'running',
      step: 1,
      stepStartedAt: later(600).toISOString(),
      reason: decision.reason,
      winner: null,
    });
  });

  it('promotes after the last step', () => {
    const decision = decideCanary(policy(), running(2), candidate({ requests: 1203, errors: 5 }), later(601));
    expect(decision.action).toBe('promote');
    expect(decision.reason).toBe('promoted: healthy at step 3 of 3 (100 %) with 1,203 requests, 0.4 % errors, TTFT p95 850 ms');
    expect(decision.state).toMatchObject({ status: 'promoted', step: 2, reason: decision.reason });
  });

  it('holds when paused and does nothing once decided', () => {
    const paused = running(1, { status: 'paused' });
    expect(decideCanary(policy(), paused, candidate({ errors: 200 }), later(9999))).toEqual({
      action: 'hold',
      state: paused,
      reason: 'paused at step 2 of 3 (25 %)',
    });
    for (const status of ['promoted', 'rolled-back', 'stopped'] as const)
      expect(decideCanary(policy(), running(1, { status }), candidate({ errors: 200 }), later(9999)).action).toBe('hold');
  });

  it('waits out a 0 % step without samples', () => {
    const zero = policy({ steps: [0, 50, 100], stepSeconds: 60 });
    expect(decideCanary(zero, running(), [], later(30)).action).toBe('hold');
    expect(decideCanary(zero, running(), [], later(60))).toMatchObject({ action: 'advance', state: { step: 1 } });
  });
});

describe('step figures', () => {
  it('subtracts the counts at the start of the step', () => {
    const [, arm] = candidate({ requests: 300, errors: 9, thumbsUp: 12, thumbsDown: 4 }) as [ArmStats, ArmStats];
    const baseline = stepBaselineOf({ ...arm, requests: 100, errors: 8, thumbsUp: 10, thumbsDown: 4 });
    expect(figuresSince(arm, baseline)).toMatchObject({ requests: 200, errors: 1, thumbsUp: 2, thumbsDown: 0, ttftP95Ms: 850 });
    expect(figuresSince(arm, undefined)).toBe(arm);
    expect(stepBaselineOf(undefined)).toEqual({ requests: 0, errors: 0, thumbsUp: 0, thumbsDown: 0 });
  });

  it('formats shares as percent', () => {
    expect(formatPercent(0.12)).toBe('12 %');
    expect(formatPercent(0.004)).toBe('0.4 %');
    expect(formatPercent(0.05)).toBe('5 %');
  });
});
