import type { ModelAlias, RolloutState } from '@axon/contracts';
import type { ArmMetricsStore, ModelRegistryRepository } from '../types';
import { decideCanary, figuresSince, formatPercent, stepBaselineOf } from './canary';
import { experimentReport } from './glr';

/**
 * Runs every replica's rollouts: at each tick it looks at every alias whose canary or A/B test is
 * running, decides from the shared figures, and writes the new state with the registry's
 * compare-and-set on the alias's revision. Replicas ticking at once decide from the same state and
 * figures, so they write the same state: a canary moves one step, not one per replica. A verdict
 * (promote, roll back) turns the policy into `fixed` at the chosen version, then records the state
 * under the new revision; an A/B test that became significant stops with its winner, which the
 * alias then serves to everyone (see assign.ts).
 *
 * A canary step is judged on its own requests: the figures are kept per revision, so the state
 * keeps the candidate's counts when the step began (`stepBaseline`) and the step's figures are the
 * difference. TTFT percentiles are the revision's (a histogram cannot be subtracted).
 */

export type ControllerAction = 'start' | 'advance' | 'promote' | 'rollback' | 'stop';

/** A change the controller made to an alias. */
export interface ControllerChange {
  alias: string;
  action: ControllerAction;
  state: RolloutState;
  reason: string;
}

export interface CanaryController {
  /** Looks at every running rollout once and applies what it decides; resolves to the changes it made. */
  tick(): Promise<ControllerChange[]>;
  /** Ticks every `intervalMs` (the timer does not keep the process alive). */
  start(): void;
  stop(): void;
}

export function createCanaryController(deps: {
  registry: Pick<ModelRegistryRepository, 'listAliases' | 'setState' | 'putAlias'>;
  metrics: ArmMetricsStore;
  intervalMs: number;
  /** The clock, in ms since the epoch. */
  now?: () => number;
  /** Told of every change (to announce it to the replicas' alias caches). */
  onChange?: (alias: string, change: ControllerChange) => void;
  /** Told of a failure on one alias; the others are still looked at. */
  onError?: (error: unknown, alias: string) => void;
}): CanaryController {
  const now = deps.now ?? Date.now;
  let timer: ReturnType<typeof setInterval> | undefined;
  let inFlight: Promise<ControllerChange[]> | undefined;

  async function evaluateCanary(alias: ModelAlias, at: Date): Promise<ControllerChange | undefined> {
    const { policy } = alias;
    if (policy.type !== 'canary') return undefined;
    let started: ControllerChange | undefined;
    let state = alias.state;
    if (state && state.status !== 'running') return undefined;
    if (!state) {
      // A canary without a state runs from its first step as of now; kept, so that the step's clock runs.
      state = {
        status: 'running',
        step: 0,
        stepStartedAt: at.toISOString(),
        reason: null,
        winner: null,
        stepBaseline: stepBaselineOf(undefined),
      };
      if (!(await deps.registry.setState(alias.name, alias.revision, state))) return undefined;
      started = { alias: alias.name, action: 'start', state, reason: 'started at step 1' };
    }

    const candidate = (await deps.metrics.snapshot(alias.name, alias.revision)).find((a) => a.arm === 'candidate');
    const decision = decideCanary(policy, state, candidate ? [figuresSince(candidate, state.stepBaseline)] : [], at);
    if (decision.action === 'hold') return started;

    if (decision.action === 'advance') {
      const next: RolloutState = { ...decision.state, stepBaseline: stepBaselineOf(candidate) };
      if (!(await deps.registry.setState(alias.name, alias.revision, next))) return started;
      return { alias: alias.name, action: 'advance', state: next, reason: decision.reason };
    }

    // Claim the verdict at this revision first: a replica that lost the race (the policy changed) stops here.
    if (!(await deps.registry.setState(alias.name, alias.revision, decision.state))) return started;
    const version = decision.action === 'promote' ? policy.candidate : policy.stable;
    const put = await deps.registry.putAlias(
      alias.name,
      { description: alias.description, policy: { type: 'fixed', version }, shadow: alias.shadow, cache: alias.cache },
      alias.source,
    );
    // putAlias bumped the revision and reset the state; the verdict stays visible under the new one.
    await deps.registry.setState(alias.name, put.revision, { ...decision.state, decidedFrom: policy });
    return { alias: alias.name, action: decision.action, state: decision.state, reason: decision.reason };
  }

  async function evaluateExperiment(alias: ModelAlias, at: Date): Promise<ControllerChange | undefined> {
    const { policy } = alias;
    if (policy.type !== 'ab') return undefined;
    if (alias.state && alias.state.status !== 'running') return undefined;
    const report = experimentReport(policy, await deps.metrics.snapshot(alias.name, alias.revision));
    if (!report.significant || report.leader === null) return undefined;
    const leader = report.leader;
    const measure = report.metric === 'feedback' ? 'thumbs-up' : 'success';
    const others = Object.entries(report.rates)
      .filter(([arm]) => arm !== leader)
      .map(([arm, rate]) => `${arm} ${formatPercent(rate)}`)
      .join(', ');
    const samples = `${report.samples.toLocaleString('en-US')} ${report.metric === 'feedback' ? 'rated answers' : 'requests'}`;
    const reason =
      `stopped: ${leader} wins with ${formatPercent(report.rates[leader] ?? 0)} ${measure} (${others}) over ${samples}; ` +
      `GLR ${(report.glr ?? 0).toFixed(1)} > ${(report.threshold ?? 0).toFixed(1)} at δ = ${report.delta}`;
    const state: RolloutState = {
      status: 'stopped',
      step: alias.state?.step ?? 0,
      stepStartedAt: at.toISOString(),
      reason,
      winner: leader,
    };
    if (!(await deps.registry.setState(alias.name, alias.revision, state))) return undefined;
    return { alias: alias.name, action: 'stop', state, reason };
  }

  async function runTick(): Promise<ControllerChange[]> {
    const at = new Date(now());
    const changes: ControllerChange[] = [];
    for (const alias of await deps.registry.listAliases()) {
      try {
        const change = alias.policy.type === 'canary' ? await evaluateCanary(alias, at) : await evaluateExperiment(alias, at);
        if (!change) continue;
        changes.push(change);
        deps.onChange?.(alias.name, change);
      } catch (error) {
        deps.onError?.(error, alias.name);
      }
    }
    return changes;
  }

  function tick(): Promise<ControllerChange[]> {
    // One tick at a time per replica: a slow store must not pile ticks up.
    inFlight ??= runTick().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  return {
    tick,
    start() {
      if (timer || deps.intervalMs <= 0) return;
      timer = setInterval(() => {
        tick().catch((error) => deps.onError?.(error, '*'));
      }, deps.intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
