import { createHash } from 'node:crypto';
import type { RolloutState, ShadowPolicy, TrafficPolicy } from '@axon/contracts';
import type { Assignment } from '../types';

/**
 * Which version of an alias serves a request. Sticky policies hash `alias:revision:key` (the user
 * or the conversation) to a point in [0, 1), so a conversation keeps its variant across requests
 * and replicas without any shared state; a canary's growing share only ever adds users to the
 * candidate (a point below 5 % is below 25 % too). A new revision (a changed policy) reshuffles.
 */

/** What `assign` reads of an alias (a `ModelAlias` fits). */
export interface AssignableAlias {
  name: string;
  revision: number;
  policy: TrafficPolicy;
  shadow?: ShadowPolicy | undefined;
  state: RolloutState | null;
}

/** Who asks: the user, the conversation when there is one, and this request's unique id. */
export interface AssignmentKey {
  userId: string;
  conversationId?: string | undefined;
  requestId: string;
}

/** A string's point in [0, 1): the first 48 bits of its SHA-256, exact in a double. */
export function hashToUnit(text: string): number {
  const digest = createHash('sha256').update(text).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The request's point in [0, 1) for the policy's stickiness: per user, per conversation (the user's
 * when the request names no conversation), or a fresh draw per request.
 */
function stickyPoint(
  alias: AssignableAlias,
  sticky: 'user' | 'conversation' | 'request',
  key: AssignmentKey,
  random: () => number,
): number {
  if (sticky === 'request') return random();
  const stickyKey = sticky === 'conversation' && key.conversationId ? `c:${key.conversationId}` : `u:${key.userId}`;
  return hashToUnit(`${alias.name}:${alias.revision}:${stickyKey}`);
}

/** The entry whose share of the total weight holds `point`. */
function pickByWeight<T extends { weight: number }>(entries: readonly [T, ...T[]], point: number): T {
  const total = entries.reduce((sum, e) => sum + e.weight, 0);
  let cumulative = 0;
  for (const entry of entries) {
    cumulative += entry.weight / total;
    if (point < cumulative) return entry;
  }
  // Rounding can leave the last cumulative share a hair below 1.
  return entries[entries.length - 1] as T;
}

function nonEmpty<T>(items: readonly T[]): readonly [T, ...T[]] {
  if (items.length === 0) throw new Error('a traffic policy needs at least one entry');
  return items as readonly [T, ...T[]];
}

/** The version and arm the policy serves at `point`. */
function serve(alias: AssignableAlias, point: () => number): { version: number; arm: string } {
  const { policy, state } = alias;
  switch (policy.type) {
    case 'fixed':
      return { version: policy.version, arm: `v${policy.version}` };
    case 'weighted': {
      const entry = pickByWeight(nonEmpty(policy.split), point());
      return { version: entry.version, arm: `v${entry.version}` };
    }
    case 'canary': {
      const stable = { version: policy.stable, arm: 'stable' };
      const candidate = { version: policy.candidate, arm: 'candidate' };
      const status = state?.status ?? 'running';
      if (status === 'promoted') return candidate;
      if (status !== 'running' && status !== 'paused') return stable;
      const step = Math.min(state?.step ?? 0, policy.steps.length - 1);
      const percent = policy.steps[step] ?? 0;
      return point() < percent / 100 ? candidate : stable;
    }
    case 'ab': {
      const variants = nonEmpty(policy.variants);
      const status = state?.status ?? 'running';
      if (status === 'running' || status === 'paused') {
        const variant = pickByWeight(variants, point());
        return { version: variant.version, arm: variant.name };
      }
      // Stopped (or promoted) with a winner: everyone gets it; otherwise the first variant, the control.
      const winner = variants.find((v) => v.name === state?.winner) ?? variants[0];
      return { version: winner.version, arm: winner.name };
    }
  }
}

/**
 * Assigns a request to a version of the alias. `random` draws the point of `request` stickiness
 * (Math.random by default). The shadow version, if any, mirrors a `share` of requests chosen by a
 * hash of the request id (independent of the arm's point), and is never the version that serves.
 */
export function assign(alias: AssignableAlias, key: AssignmentKey, random: () => number = Math.random): Assignment {
  const sticky = alias.policy.type === 'fixed' ? 'request' : alias.policy.sticky;
  const { version, arm } = serve(alias, () => stickyPoint(alias, sticky, key, random));
  const assignment: Assignment = { alias: alias.name, version, arm, revision: alias.revision };
  const shadow = alias.shadow;
  if (shadow && shadow.share > 0 && shadow.version !== version) {
    if (hashToUnit(`shadow:${alias.name}:${alias.revision}:${key.requestId}`) < shadow.share) assignment.shadowVersion = shadow.version;
  }
  return assignment;
}
