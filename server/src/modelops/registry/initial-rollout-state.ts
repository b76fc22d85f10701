import type { RolloutState, TrafficPolicy } from '@axon/contracts';

/**
 * The state a policy starts in when it is put: canaries and A/B tests run from their first step at
 * once; fixed and weighted policies have nothing to run.
 */
export function initialRolloutState(policy: TrafficPolicy, at: Date): RolloutState | null {
  if (policy.type !== 'canary' && policy.type !== 'ab') return null;
  return { status: 'running', step: 0, stepStartedAt: at.toISOString(), reason: null, winner: null };
}
