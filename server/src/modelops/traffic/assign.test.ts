import { type RolloutState, TrafficPolicySchema } from '@axon/contracts';
import { describe, expect, it } from 'vitest';
import { type AssignableAlias, assign, hashToUnit } from './assign';
import { mulberry32 } from './seeded-random';

const at = '2026-12-01T00:00:00.000Z';
const running = (step = 0): RolloutState => ({ status: 'running', step, stepStartedAt: at, reason: null, winner: null });

function buildAlias(policy: unknown, extra: Partial<AssignableAlias> = {}): AssignableAlias {
  return { name: 'chat-default', revision: 3, policy: TrafficPolicySchema.parse(policy), state: null, ...extra };
}

/** The share of `count` distinct users given each arm. */
function shares(alias: AssignableAlias, count = 10_000): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const { arm } = assign(alias, { userId: `user-${i}`, conversationId: `conv-${i}`, requestId: `req-${i}` });
    counts[arm] = (counts[arm] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).map(([arm, n]) => [arm, n / count]));
}

describe('assign', () => {
  it('maps a hash to [0, 1), spread evenly', () => {
    const points = Array.from({ length: 10_000 }, (_, i) => hashToUnit(`key-${i}`));
    expect(points.every((p) => p >= 0 && p < 1)).toBe(true);
    const mean = points.reduce((a, b) => a + b, 0) / points.length;
    expect(mean).toBeGreaterThan(0.49);
    expect(mean).toBeLessThan(0.51);
  });

  it('serves a fixed policy its version as arm v<N>', () => {
    const assignment = assign(buildAlias({ type: 'fixed', version: 2 }), { userId: 'u', requestId: 'r' });
    expect(assignment).toEqual({ alias: 'chat-default', version: 2, arm: 'v2', revision: 3 });
  });

  it('splits a weighted policy by its weights', () => {
    const alias = buildAlias({
      type: 'weighted',
      split: [
        { version: 1, weight: 3 },
        { version: 2, weight: 1 },
      ],
    });
    const s = shares(alias);
    expect(s.v1).toBeGreaterThan(0.72);
    expect(s.v1).toBeLessThan(0.78);
    expect(s.v2).toBeGreaterThan(0.22);
    expect(s.v2).toBeLessThan(0.28);
  });

  it('keeps a conversation on its variant across requests and instances, and different conversations apart', () => {
    const alias = buildAlias(
      {
        type: 'ab',
        variants: [
          { name: 'a', version: 1 },
          { name: 'b', version: 2 },
        ],
      },
      { state: running() },
    );
    for (let c = 0; c < 50; c++) {
      const arms = new Set(
        Array.from(
          { length: 20 },
          (_, r) => assign(alias, { userId: `user-${r}`, conversationId: `conv-${c}`, requestId: `req-${r}` }).arm,
        ),
      );
      expect(arms.size).toBe(1);
    }
    const s = shares(alias);
    expect(s.a).toBeGreaterThan(0.46);
    expect(s.b).toBeGreaterThan(0.46);
  });

  it('sticks per user when asked, whatever the conversation, and falls back to the user without a conversation', () => {
    const perUser = buildAlias(
      {
        type: 'ab',
        sticky: 'user',
        variants: [
          { name: 'a', version: 1 },
          { name: 'b', version: 2 },
        ],
      },
      { state: running() },
    );
    for (let u = 0; u < 30; u++) {
      const arms = new Set(
        Array.from({ length: 10 }, (_, c) => assign(perUser, { userId: `u${u}`, conversationId: `c${c}`, requestId: `r${c}` }).arm),
      );
      expect(arms.size).toBe(1);
    }
    const perConversation = buildAlias(
      {
        type: 'ab',
        variants: [
          { name: 'a', version: 1 },
          { name: 'b', version: 2 },
        ],
      },
      { state: running() },
    );
    for (let u = 0; u < 30; u++) {
      const arms = new Set(Array.from({ length: 10 }, (_, r) => assign(perConversation, { userId: `u${u}`, requestId: `r${r}` }).arm));
      expect(arms.size).toBe(1);
    }
  });

  it('draws per request from `random` with request stickiness', () => {
    const alias = buildAlias({
      type: 'weighted',
      sticky: 'request',
      split: [
        { version: 1, weight: 1 },
        { version: 2, weight: 1 },
      ],
    });
    const key = { userId: 'u', conversationId: 'c', requestId: 'r' };
    expect(assign(alias, key, () => 0.1).version).toBe(1);
    expect(assign(alias, key, () => 0.9).version).toBe(2);
  });

  it('gives a canary candidate its step share, keeps the same users on it as the share grows, and ends on the verdict', () => {
    const policy = { type: 'canary', stable: 1, candidate: 2, steps: [5, 25, 100] };
    expect(shares(buildAlias(policy, { state: running(0) })).candidate).toBeCloseTo(0.05, 1);
    expect(shares(buildAlias(policy, { state: null })).candidate).toBeCloseTo(0.05, 1);
    expect(shares(buildAlias(policy, { state: running(1) })).candidate).toBeCloseTo(0.25, 1);
    expect(shares(buildAlias(policy, { state: { ...running(1), status: 'paused' } })).candidate).toBeCloseTo(0.25, 1);
    expect(shares(buildAlias(policy, { state: running(2) }))).toEqual({ candidate: 1 });
    expect(shares(buildAlias(policy, { state: { ...running(1), status: 'rolled-back' } }))).toEqual({ stable: 1 });
    expect(shares(buildAlias(policy, { state: { ...running(1), status: 'promoted' } }))).toEqual({ candidate: 1 });

    for (let i = 0; i < 2000; i++) {
      const key = { userId: `user-${i}`, conversationId: `conv-${i}`, requestId: `req-${i}` };
      if (assign(buildAlias(policy, { state: running(0) }), key).arm === 'candidate')
        expect(assign(buildAlias(policy, { state: running(1) }), key).arm).toBe('candidate');
    }
    const served = assign(buildAlias(policy, { state: running(2) }), { userId: 'u', requestId: 'r' });
    expect(served).toMatchObject({ version: 2, arm: 'candidate', revision: 3 });
  });

  it('serves an A/B test by weight while it runs, then everyone the winner once stopped', () => {
    const policy = {
      type: 'ab',
      variants: [
        { name: 'control', version: 1, weight: 1 },
        { name: 'terse', version: 2, weight: 3 },
      ],
    };
    expect(shares(buildAlias(policy, { state: running() })).terse).toBeCloseTo(0.75, 1);
    expect(shares(buildAlias(policy, { state: { ...running(), status: 'stopped', winner: 'control' } }))).toEqual({ control: 1 });
    expect(shares(buildAlias(policy, { state: { ...running(), status: 'stopped', winner: 'terse' } }))).toEqual({ terse: 1 });
    expect(
      assign(buildAlias(policy, { state: { ...running(), status: 'stopped', winner: 'terse' } }), { userId: 'u', requestId: 'r' }),
    ).toMatchObject({
      version: 2,
      arm: 'terse',
    });
  });

  it('reshuffles when the revision changes', () => {
    const policy = {
      type: 'ab',
      variants: [
        { name: 'a', version: 1 },
        { name: 'b', version: 2 },
      ],
    };
    let moved = 0;
    for (let i = 0; i < 1000; i++) {
      const key = { userId: `u${i}`, conversationId: `c${i}`, requestId: `r${i}` };
      const before = assign(buildAlias(policy, { state: running(), revision: 3 }), key).arm;
      const after = assign(buildAlias(policy, { state: running(), revision: 4 }), key).arm;
      if (before !== after) moved++;
    }
    expect(moved).toBeGreaterThan(400);
    expect(moved).toBeLessThan(600);
  });

  it('mirrors a share of requests to the shadow by request id, independent of the arm, never the served version', () => {
    const alias = buildAlias(
      {
        type: 'weighted',
        split: [
          { version: 1, weight: 1 },
          { version: 2, weight: 1 },
        ],
      },
      { shadow: { version: 2, share: 0.5 } },
    );
    const random = mulberry32(7);
    let mirrored = 0;
    let mirroredOnV1 = 0;
    let onV1 = 0;
    const total = 10_000;
    for (let i = 0; i < total; i++) {
      // Fifty conversations, each on one arm; the shadow decision varies per request.
      const a = assign(alias, { userId: 'u', conversationId: `c${i % 50}`, requestId: `req-${random()}` });
      if (a.version === 2) expect(a.shadowVersion).toBeUndefined();
      if (a.version === 1) onV1++;
      if (a.shadowVersion === 2) {
        mirrored++;
        if (a.version === 1) mirroredOnV1++;
      }
    }
    expect(onV1).toBeGreaterThan(0);
    expect(mirroredOnV1 / onV1).toBeGreaterThan(0.45);
    expect(mirroredOnV1 / onV1).toBeLessThan(0.55);
    expect(mirrored).toBe(mirroredOnV1);

    const key = { userId: 'u', requestId: 'same-request' };
    const fixed = buildAlias({ type: 'fixed', version: 1 }, { shadow: { version: 3, share: 0.5 } });
    expect(assign(fixed, key).shadowVersion).toBe(assign(fixed, key).shadowVersion);
    expect(assign(buildAlias({ type: 'fixed', version: 1 }, { shadow: { version: 3, share: 1 } }), key).shadowVersion).toBe(3);
    expect(assign(buildAlias({ type: 'fixed', version: 1 }, { shadow: { version: 3, share: 0 } }), key).shadowVersion).toBeUndefined();
  });
});
