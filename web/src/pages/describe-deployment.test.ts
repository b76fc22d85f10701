import type { ModelAlias, ModelVersion, RolloutState, TrafficPolicy } from '@axon/contracts';
import { describe, expect, it } from 'vitest';
import { describeEndpoints, describeParams, describePolicy, describeStatus, readSteps, rollbackTargets } from './describe-deployment';

const running = (step: number): RolloutState => ({
  status: 'running',
  step,
  stepStartedAt: '2030-01-01T00:00:00.000Z',
  reason: null,
  winner: null,
});

const version = (n: number): ModelVersion => ({
  alias: 'support',
  version: n,
  model: 'sim/sim-1',
  params: {},
  endpoints: [],
  balance: 'weighted',
  fallbacks: [],
  createdAt: '2030-01-01T00:00:00.000Z',
  createdBy: null,
});

const alias = (policy: TrafficPolicy, versions: number[]): ModelAlias => ({
  name: 'support',
  policy,
  source: 'api',
  revision: 1,
  state: null,
  versions: versions.map(version),
  updatedAt: '2030-01-01T00:00:00.000Z',
});

const canary = (stable: number, candidate: number): TrafficPolicy => ({
  type: 'canary',
  stable,
  candidate,
  steps: [5, 25, 50, 100],
  minSamples: 100,
  stepSeconds: 600,
  thresholds: { errorRate: 0.05, ttftP95Ms: 5000, negativeFeedbackRate: 0.3 },
  sticky: 'conversation',
});

describe('describePolicy', () => {
  it('says each kind of policy in words', () => {
    expect(describePolicy({ type: 'fixed', version: 3 }, null)).toBe('fixed at v3');
    expect(describePolicy(canary(3, 4), running(1))).toBe('canary v4 at 25 % (step 2 of 4)');
    expect(describePolicy(canary(3, 4), null)).toBe('canary v4 at 5 % (step 1 of 4)');
    expect(
      describePolicy(
        {
          type: 'ab',
          variants: [
            { name: 'a', version: 3, weight: 1 },
            { name: 'b', version: 4, weight: 1 },
          ],
          sticky: 'user',
          metric: 'feedback',
          delta: 0.05,
          minSamples: 30,
        },
        running(0),
      ),
    ).toBe('A/B: a (v3) vs b (v4)');
    expect(
      describePolicy(
        {
          type: 'weighted',
          split: [
            { version: 1, weight: 7 },
            { version: 2, weight: 3 },
          ],
          sticky: 'conversation',
        },
        null,
      ),
    ).toBe('weighted v1 70 % / v2 30 %');
  });

  it('keeps a step past the last one at the last step', () => {
    expect(describePolicy(canary(1, 2), running(9))).toBe('canary v2 at 100 % (step 4 of 4)');
  });
});

describe('describeStatus', () => {
  it('writes a rolled-back rollout in two words', () => {
    expect(describeStatus('rolled-back')).toBe('rolled back');
    expect(describeStatus('paused')).toBe('paused');
  });
});

describe('rollbackTargets', () => {
  it('offers the versions older than the newest one served, newest first', () => {
    expect(rollbackTargets(alias({ type: 'fixed', version: 3 }, [1, 2, 3, 4]))).toEqual([2, 1]);
    expect(rollbackTargets(alias(canary(2, 3), [1, 2, 3]))).toEqual([2, 1]);
    expect(rollbackTargets(alias({ type: 'fixed', version: 1 }, [1, 2]))).toEqual([]);
  });
});

describe('describeParams and describeEndpoints', () => {
  it('lists the parameters a version fixes, or says it keeps the defaults', () => {
    expect(describeParams({ temperature: 0.2, max_tokens: 512 })).toBe('temperature 0.2 · max_tokens 512');
    expect(describeParams({ stop: ['END', '\n'] })).toBe('stop "END", "\\n"');
    expect(describeParams({})).toBe('defaults');
  });

  it('names the endpoints with their weights and limits', () => {
    expect(describeEndpoints({ endpoints: [], balance: 'weighted' })).toBe('the model’s own connection');
    expect(
      describeEndpoints({
        endpoints: [
          { connection: 'vllm-a', weight: 2, maxConcurrent: 8 },
          { connection: 'vllm-b', model: 'llama', weight: 1 },
        ],
        balance: 'least-outstanding',
      }),
    ).toBe('vllm-a ×2, at most 8 at once; vllm-b (llama) — least-outstanding');
  });
});

describe('readSteps', () => {
  it('reads rising percents, with or without % signs', () => {
    expect(readSteps('5, 25,50 100%')).toEqual({ steps: [5, 25, 50, 100] });
  });

  it('says what is wrong with steps that cannot work', () => {
    expect(readSteps('')).toEqual({ error: expect.stringContaining('at least one step') });
    expect(readSteps('50, 25')).toEqual({ error: expect.stringContaining('more traffic than the one before') });
    expect(readSteps('5, 150')).toEqual({ error: expect.stringContaining('from 0 to 100') });
    expect(readSteps('five')).toEqual({ error: expect.stringContaining('from 0 to 100') });
  });
});
