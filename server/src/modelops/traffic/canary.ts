import type { ArmStats, RolloutState, TrafficPolicy } from '@axon/contracts';

/**
 * The canary's verdict at one look: roll the candidate back as soon as it has served `minSamples`
 * requests at the step and any figure crosses its threshold; move to the next step once it has
 * served `minSamples` there, the step has lasted `stepSeconds` and it is healthy; promote it after
 * the last step. A pure function of the policy, the state and the candidate's figures at this step
 * (the controller works those out); reasons are sentences with the figures, shown to operators.
 */

export type CanaryPolicy = Extract<TrafficPolicy, { type: 'canary' }>;

/**
 * Rated answers the candidate needs before its share of thumbs-down is judged: below this, one or
 * two unhappy users would roll back a healthy version.
 */
export const MIN_RATED_ANSWERS = 10;

export type CanaryAction = 'hold' | 'advance' | 'promote' | 'rollback';

export interface CanaryDecision {
  action: CanaryAction;
  /** The state to set (the given one on `hold`). */
  state: RolloutState;
  /** Why, in a sentence with the figures ("error rate 12 % > 5 % over 240 requests"). */
  reason: string;
}

/** 0.123 → "12.3 %", 0.004 → "0.4 %". */
export function formatPercent(share: number): string {
  return `${Number((share * 100).toFixed(1)).toLocaleString('en-US')} %`;
}

const count = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, one: string, many: string) => `${count(n)} ${n === 1 ? one : many}`;

/** The candidate's figures in a phrase: "240 requests, 0.4 % errors, TTFT p95 850 ms". */
function describeFigures(candidate: ArmStats): string {
  const parts = [plural(candidate.requests, 'request', 'requests')];
  if (candidate.requests > 0) parts.push(`${formatPercent(candidate.errors / candidate.requests)} errors`);
  if (candidate.ttftP95Ms !== null) parts.push(`TTFT p95 ${count(Math.round(candidate.ttftP95Ms))} ms`);
  const rated = candidate.thumbsUp + candidate.thumbsDown;
  if (rated > 0)
    parts.push(`${formatPercent(candidate.thumbsDown / rated)} thumbs-down of ${plural(rated, 'rated answer', 'rated answers')}`);
  return parts.join(', ');
}

/** The first threshold the candidate crosses, as a sentence; undefined when it is healthy. */
function breach(policy: CanaryPolicy, c: ArmStats): string | undefined {
  const { errorRate, ttftP95Ms, negativeFeedbackRate } = policy.thresholds;
  const requests = plural(c.requests, 'request', 'requests');
  if (c.requests > 0 && c.errors / c.requests > errorRate)
    return `error rate ${formatPercent(c.errors / c.requests)} > ${formatPercent(errorRate)} over ${requests}`;
  if (c.ttftP95Ms !== null && c.ttftP95Ms > ttftP95Ms)
    return `TTFT p95 ${count(Math.round(c.ttftP95Ms))} ms > ${count(ttftP95Ms)} ms over ${requests}`;
  const rated = c.thumbsUp + c.thumbsDown;
  if (rated >= MIN_RATED_ANSWERS && c.thumbsDown / rated > negativeFeedbackRate)
    return `negative feedback ${formatPercent(c.thumbsDown / rated)} > ${formatPercent(negativeFeedbackRate)} over ${plural(rated, 'rated answer', 'rated answers')}`;
  return undefined;
}

const noFigures = (version: number): ArmStats => ({
  arm: 'candidate',
  version,
  requests: 0,
  errors: 0,
  ttftP50Ms: null,
  ttftP95Ms: null,
  costUsd: 0,
  thumbsUp: 0,
  thumbsDown: 0,
});

/**
 * Decides what the canary does now. `arms` holds the candidate's figures at the current step (arm
 * `candidate`; other arms are ignored). Only a running canary moves; every other status holds.
 */
export function decideCanary(policy: CanaryPolicy, state: RolloutState, arms: readonly ArmStats[], now: Date): CanaryDecision {
  const last = policy.steps.length - 1;
  const step = Math.min(Math.max(state.step, 0), last);
  const percent = policy.steps[step] ?? 0;
  const where = `step ${step + 1} of ${policy.steps.length} (${percent} %)`;
  if (state.status === 'paused') return { action: 'hold', state, reason: `paused at ${where}` };
  if (state.status !== 'running') return { action: 'hold', state, reason: `the canary is ${state.status}; nothing to decide` };

  const candidate = arms.find((a) => a.arm === 'candidate') ?? noFigures(policy.candidate);
  // A step that sends the candidate nothing can only be waited out.
  const needed = percent > 0 ? policy.minSamples : 0;
  if (candidate.requests < needed)
    return { action: 'hold', state, reason: `${where}: ${count(candidate.requests)} of ${plural(needed, 'request', 'requests')} so far` };

  const problem = breach(policy, candidate);
  const changed = (status: RolloutState['status'], nextStep: number, reason: string): CanaryDecision => ({
    action: status === 'rolled-back' ? 'rollback' : status === 'promoted' ? 'promote' : 'advance',
    state: { status, step: nextStep, stepStartedAt: now.toISOString(), reason, winner: null },
    reason,
  });
  if (problem) return changed('rolled-back', step, `rolled back at ${where}: ${problem}`);

  const started = Date.parse(state.stepStartedAt);
  const elapsedSeconds = Number.isNaN(started) ? 0 : Math.max(0, (now.getTime() - started) / 1000);
  if (elapsedSeconds < policy.stepSeconds)
    return {
      action: 'hold',
      state,
      reason: `${where}: healthy so far (${describeFigures(candidate)}); ${count(Math.floor(elapsedSeconds))} s of ${count(policy.stepSeconds)} s`,
    };

  if (step >= last) return changed('promoted', step, `promoted: healthy at ${where} with ${describeFigures(candidate)}`);
  const next = step + 1;
  return changed(
    'running',
    next,
    `advanced to step ${next + 1} of ${policy.steps.length} (${policy.steps[next]} %): healthy at ${percent} % with ${describeFigures(candidate)}`,
  );
}

/** The counts a step starts from, kept in the state as `stepBaseline`. */
export function stepBaselineOf(arm: ArmStats | undefined): NonNullable<RolloutState['stepBaseline']> {
  return { requests: arm?.requests ?? 0, errors: arm?.errors ?? 0, thumbsUp: arm?.thumbsUp ?? 0, thumbsDown: arm?.thumbsDown ?? 0 };
}

/**
 * An arm's figures since `baseline` (the revision's figures minus those when the step began).
 * Counts are exact; TTFT percentiles and cost stay the revision's, the histogram having no history.
 */
export function figuresSince(arm: ArmStats, baseline: RolloutState['stepBaseline']): ArmStats {
  if (!baseline) return arm;
  return {
    ...arm,
    requests: Math.max(0, arm.requests - baseline.requests),
    errors: Math.max(0, arm.errors - baseline.errors),
    thumbsUp: Math.max(0, arm.thumbsUp - baseline.thumbsUp),
    thumbsDown: Math.max(0, arm.thumbsDown - baseline.thumbsDown),
  };
}
