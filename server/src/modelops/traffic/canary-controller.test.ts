import { type AliasInput, type ModelAlias, ModelAliasSchema, type RolloutState } from '@axon/contracts';
import { describe, expect, it } from 'vitest';
import { initialRolloutState } from '../registry/initial-rollout-state';
import type { ArmMetricsStore, CallOutcome, ModelRegistryRepository } from '../types';
import { createMemoryArmMetrics } from './arm-metrics';
import { type ControllerChange, createCanaryController } from './canary-controller';

const t0 = Date.parse('2026-12-01T10:00:00.000Z');

/** The three registry members the controller uses, in memory, recording its calls; every call yields to the event loop. */
class FakeRegistry implements Pick<ModelRegistryRepository, 'listAliases' | 'setState' | 'putAlias'> {
  readonly aliases = new Map<string, ModelAlias>();
  readonly calls: { method: 'setState' | 'putAlias'; alias: string; revision?: number; ok?: boolean }[] = [];
  /** Runs before a setState takes effect (to simulate a change by someone else in between). */
  beforeSetState?: (alias: ModelAlias) => void;

  constructor(private readonly now: () => number) {}

  add(name: string, policy: unknown, state: RolloutState | null): void {
    this.aliases.set(
      name,
      ModelAliasSchema.parse({
        name,
        source: 'api',
        revision: 1,
        policy,
        shadow: { version: 1, share: 0.1 },
        state,
        versions: [],
        updatedAt: new Date(t0).toISOString(),
      }),
    );
  }

  get(name: string): ModelAlias {
    const alias = this.aliases.get(name);
    if (!alias) throw new Error(`no alias ${name}`);
    return alias;
  }

  async listAliases(): Promise<ModelAlias[]> {
    await Promise.resolve();
    return [...this.aliases.values()].map((a) => structuredClone(a));
  }

  async setState(name: string, revision: number, state: RolloutState | null): Promise<boolean> {
    await Promise.resolve();
    const alias = this.get(name);
    this.beforeSetState?.(alias);
    const ok = alias.revision === revision;
    if (ok) alias.state = structuredClone(state);
    this.calls.push({ method: 'setState', alias: name, revision, ok });
    return ok;
  }

  async putAlias(name: string, input: AliasInput, source: 'config' | 'api'): Promise<ModelAlias> {
    await Promise.resolve();
    const alias = this.get(name);
    const next: ModelAlias = {
      ...alias,
      ...input,
      source,
      revision: alias.revision + 1,
      state: initialRolloutState(input.policy, new Date(this.now())),
      updatedAt: new Date(this.now()).toISOString(),
    };
    this.aliases.set(name, next);
    this.calls.push({ method: 'putAlias', alias: name });
    return structuredClone(next);
  }
}

const running = (step = 0, at = t0): RolloutState => ({
  status: 'running',
  step,
  stepStartedAt: new Date(at).toISOString(),
  reason: null,
  winner: null,
});
const canary = { type: 'canary', stable: 1, candidate: 2, steps: [10, 50, 100], minSamples: 50, stepSeconds: 60 };
const ok: CallOutcome = { ok: true, ttftMs: 200, totalMs: 900, costUsd: 0.001, outputChars: 300 };

async function serve(metrics: ArmMetricsStore, alias: ModelAlias, arm: string, version: number, count: number, failures = 0) {
  for (let i = 0; i < count; i++)
    await metrics.record(alias.name, alias.revision, arm, version, i < failures ? { ...ok, ok: false, ttftMs: null } : ok);
}

function setup() {
  let clock = t0;
  const registry = new FakeRegistry(() => clock);
  const metrics = createMemoryArmMetrics({ now: () => clock });
  const changes: ControllerChange[] = [];
  const errors: unknown[] = [];
  const make = () =>
    createCanaryController({
      registry,
      metrics,
      intervalMs: 0,
      now: () => clock,
      onChange: (_alias, change) => changes.push(change),
      onError: (error) => errors.push(error),
    });
  return {
    registry,
    metrics,
    changes,
    errors,
    controller: make(),
    make,
    advanceClock: (seconds: number) => {
      clock += seconds * 1000;
    },
  };
}

describe('canary controller', () => {
  it('rolls back on an injected error rate and fixes the policy at the stable version', async () => {
    const { registry, metrics, controller, changes, advanceClock } = setup();
    registry.add('chat', canary, running());
    await serve(metrics, registry.get('chat'), 'stable', 1, 500, 5);
    await serve(metrics, registry.get('chat'), 'candidate', 2, 200, 20);
    advanceClock(10);

    const made = await controller.tick();
    expect(made.map((c) => c.action)).toEqual(['rollback']);
    expect(changes).toEqual(made);
    const alias = registry.get('chat');
    expect(alias.policy).toEqual({ type: 'fixed', version: 1 });
    expect(alias.revision).toBe(2);
    expect(alias.shadow).toEqual({ version: 1, share: 0.1 });
    expect(alias.state?.status).toBe('rolled-back');
    expect(alias.state?.reason).toBe('rolled back at step 1 of 3 (10 %): error rate 10 % > 5 % over 200 requests');
    // Decided: nothing more to do.
    advanceClock(3600);
    expect(await controller.tick()).toEqual([]);
  });

  it('holds while the candidate is below minSamples, however long the step has run', async () => {
    const { registry, metrics, controller, advanceClock } = setup();
    registry.add('chat', canary, running());
    await serve(metrics, registry.get('chat'), 'candidate', 2, 49, 49);
    advanceClock(3600);
    expect(await controller.tick()).toEqual([]);
    expect(registry.get('chat').state).toEqual(running());
    expect(registry.calls).toEqual([]);
  });

  it('promotes step by step on healthy figures, judging each step on its own requests', async () => {
    const { registry, metrics, controller, advanceClock } = setup();
    registry.add('chat', canary, running());
    const actions: string[] = [];
    for (let step = 0; step < 3; step++) {
      await serve(metrics, registry.get('chat'), 'candidate', 2, 60, 1);
      if (step === 0) {
        advanceClock(30);
        expect(await controller.tick()).toEqual([]);
        advanceClock(30);
      }
      const made = await controller.tick();
      actions.push(...made.map((c) => c.action));
      if (step < 2) {
        expect(registry.get('chat').state).toMatchObject({
          status: 'running',
          step: step + 1,
          stepBaseline: { requests: 60 * (step + 1) },
        });
        // The new step has served nothing yet: its time running out does not move it.
        advanceClock(600);
        expect(await controller.tick()).toEqual([]);
      }
    }
    expect(actions).toEqual(['advance', 'advance', 'promote']);
    const alias = registry.get('chat');
    expect(alias.policy).toEqual({ type: 'fixed', version: 2 });
    expect(alias.state).toMatchObject({ status: 'promoted', step: 2 });
    expect(alias.state?.reason).toMatch(/^promoted: healthy at step 3 of 3 \(100 %\) with 60 requests, 1\.7 % errors, TTFT p95 \d+ ms$/);
  });

  it('starts a canary without a state at step 0 as of now', async () => {
    const { registry, metrics, controller, advanceClock } = setup();
    registry.add('chat', canary, null);
    advanceClock(5);
    expect((await controller.tick()).map((c) => c.action)).toEqual(['start']);
    expect(registry.get('chat').state).toMatchObject({ status: 'running', step: 0, stepStartedAt: new Date(t0 + 5000).toISOString() });
    await serve(metrics, registry.get('chat'), 'candidate', 2, 50);
    advanceClock(59);
    expect(await controller.tick()).toEqual([]);
    advanceClock(1);
    expect((await controller.tick()).map((c) => c.action)).toEqual(['advance']);
  });

  it('moves one step only when two controllers tick at once', async () => {
    const { registry, metrics, controller, make, advanceClock } = setup();
    const other = make();
    registry.add('chat', canary, running());
    await serve(metrics, registry.get('chat'), 'candidate', 2, 80);
    advanceClock(60);
    await Promise.all([controller.tick(), other.tick()]);
    // Both looked at step 0 and both wrote: the same state, one step on.
    expect(registry.calls.filter((c) => c.method === 'setState' && c.ok)).toHaveLength(2);
    expect(registry.get('chat').state).toMatchObject({ status: 'running', step: 1, stepBaseline: { requests: 80 } });
    await Promise.all([controller.tick(), other.tick()]);
    expect(registry.get('chat').state?.step).toBe(1);
  });

  it('reaches one verdict when two controllers promote at once', async () => {
    const { registry, metrics, controller, make, advanceClock } = setup();
    registry.add('chat', canary, running(2));
    await serve(metrics, registry.get('chat'), 'candidate', 2, 80);
    advanceClock(60);
    await Promise.all([controller.tick(), make().tick()]);
    const alias = registry.get('chat');
    expect(alias.policy).toEqual({ type: 'fixed', version: 2 });
    expect(alias.state?.status).toBe('promoted');
  });

  it('writes nothing when the alias changed between the look and the write', async () => {
    const { registry, metrics, controller, changes, advanceClock } = setup();
    registry.add('chat', canary, running());
    await serve(metrics, registry.get('chat'), 'candidate', 2, 80);
    advanceClock(60);
    registry.beforeSetState = (alias) => {
      alias.revision += 1;
      alias.state = running();
    };
    expect(await controller.tick()).toEqual([]);
    expect(changes).toEqual([]);
    expect(registry.get('chat').state).toEqual(running());
    expect(registry.calls.filter((c) => c.method === 'putAlias')).toEqual([]);
  });

  it('leaves paused canaries and fixed or weighted policies alone', async () => {
    const { registry, metrics, controller, advanceClock } = setup();
    registry.add('paused', canary, { ...running(), status: 'paused' });
    registry.add('fixed', { type: 'fixed', version: 1 }, null);
    registry.add('weighted', { type: 'weighted', split: [{ version: 1, weight: 1 }] }, null);
    await serve(metrics, registry.get('paused'), 'candidate', 2, 100, 100);
    advanceClock(3600);
    expect(await controller.tick()).toEqual([]);
    expect(registry.calls).toEqual([]);
  });

  it('stops a significant A/B test with its winner and keeps the policy', async () => {
    const { registry, metrics, controller, advanceClock } = setup();
    const ab = {
      type: 'ab',
      variants: [
        { name: 'control', version: 1 },
        { name: 'terse', version: 2 },
      ],
    };
    registry.add('ab', ab, running());
    const alias = registry.get('ab');
    for (let i = 0; i < 20; i++) {
      await metrics.recordFeedback(alias.name, alias.revision, 'control', 1, i < 9 ? 'up' : 'down');
      await metrics.recordFeedback(alias.name, alias.revision, 'terse', 2, i < 15 ? 'up' : 'down');
    }
    expect(await controller.tick()).toEqual([]);
    for (let i = 0; i < 180; i++) {
      await metrics.recordFeedback(alias.name, alias.revision, 'control', 1, i < 81 ? 'up' : 'down');
      await metrics.recordFeedback(alias.name, alias.revision, 'terse', 2, i < 135 ? 'up' : 'down');
    }
    advanceClock(1);
    const made = await controller.tick();
    expect(made.map((c) => c.action)).toEqual(['stop']);
    const stopped = registry.get('ab');
    expect(stopped.policy).toMatchObject({ type: 'ab' });
    expect(stopped.revision).toBe(1);
    expect(stopped.state).toMatchObject({ status: 'stopped', winner: 'terse' });
    expect(stopped.state?.reason).toMatch(
      /^stopped: terse wins with 75 % thumbs-up \(control 45 %\) over 400 rated answers; GLR [\d.]+ > [\d.]+ at δ = 0\.05$/,
    );
    expect(await controller.tick()).toEqual([]);
  });

  it('goes on with the other aliases when one fails', async () => {
    const { registry, metrics, errors, advanceClock } = setup();
    registry.add('broken', canary, running());
    registry.add('chat', canary, running());
    await serve(metrics, registry.get('chat'), 'candidate', 2, 80);
    advanceClock(60);
    const failing: ArmMetricsStore = {
      ...metrics,
      snapshot: (alias, revision) => (alias === 'broken' ? Promise.reject(new Error('store down')) : metrics.snapshot(alias, revision)),
    };
    const controller = createCanaryController({
      registry,
      metrics: failing,
      intervalMs: 0,
      now: () => t0 + 60_000,
      onError: (e) => errors.push(e),
    });
    expect((await controller.tick()).map((c) => c.alias)).toEqual(['chat']);
    expect(errors).toHaveLength(1);
  });

  it('ticks on its timer once started, until stopped', async () => {
    const { registry, metrics } = setup();
    registry.add('chat', canary, null);
    const seen = new Promise<string>((resolve) => {
      const controller = createCanaryController({
        registry,
        metrics,
        intervalMs: 5,
        onChange: (alias) => {
          controller.stop();
          resolve(alias);
        },
      });
      controller.start();
    });
    expect(await seen).toBe('chat');
    expect(registry.get('chat').state?.status).toBe('running');
  });
});
