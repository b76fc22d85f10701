import type { ArmStats, GenerationParams, ModelAlias, ModelVersion, RolloutState, TrafficPolicy } from '@axon/contracts';

/** A share (0..1) or percent as people read it: "25 %", "0.4 %". */
export function formatPercent(percent: number): string {
  const rounded = percent >= 10 || Number.isInteger(percent) ? Math.round(percent) : Math.round(percent * 10) / 10;
  return `${rounded} %`;
}

/** An alias's traffic policy in words: "fixed at v3", "canary v4 at 25 % (step 2 of 4)", "A/B: a (v3) vs b (v4)". */
export function describePolicy(policy: TrafficPolicy, state: RolloutState | null): string {
  switch (policy.type) {
    case 'fixed':
      return `fixed at v${policy.version}`;
    case 'canary': {
      const step = Math.min(state?.step ?? 0, policy.steps.length - 1);
      return `canary v${policy.candidate} at ${formatPercent(policy.steps[step] ?? 0)} (step ${step + 1} of ${policy.steps.length})`;
    }
    case 'ab':
      return `A/B: ${policy.variants.map((v) => `${v.name} (v${v.version})`).join(' vs ')}`;
    case 'weighted': {
      const total = policy.split.reduce((sum, s) => sum + s.weight, 0);
      return `weighted ${policy.split.map((s) => `v${s.version} ${formatPercent((s.weight / total) * 100)}`).join(' / ')}`;
    }
  }
}

/** The words of a rollout's state badge. */
export function describeStatus(status: RolloutState['status']): string {
  return status === 'rolled-back' ? 'rolled back' : status;
}

/** The versions a policy sends traffic to, lowest first. */
export function servedVersions(policy: TrafficPolicy): number[] {
  const versions =
    policy.type === 'fixed'
      ? [policy.version]
      : policy.type === 'canary'
        ? [policy.stable, policy.candidate]
        : policy.type === 'ab'
          ? policy.variants.map((v) => v.version)
          : policy.split.map((s) => s.version);
  return [...new Set(versions)].sort((a, b) => a - b);
}

/** The versions one may roll back to: those older than the newest one served, newest first. */
export function rollbackTargets(alias: ModelAlias): number[] {
  const newest = Math.max(...servedVersions(alias.policy));
  return alias.versions
    .map((v) => v.version)
    .filter((v) => v < newest)
    .sort((a, b) => b - a);
}

/** Whether the alias has a rollout or an experiment one can promote, pause or resume. */
export function isExperiment(alias: ModelAlias): boolean {
  return alias.policy.type === 'canary' || alias.policy.type === 'ab';
}

/** A version's generation parameters as "temperature 0.2 · max_tokens 512", or "defaults". */
export function describeParams(params: GenerationParams): string {
  const parts = Object.entries(params)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name} ${Array.isArray(value) ? value.map((s) => JSON.stringify(s)).join(', ') : String(value)}`);
  return parts.length ? parts.join(' · ') : 'defaults';
}

/** A version's endpoints in words: "the model's own connection", or "vllm-a ×2, vllm-b (max 8 at once)". */
export function describeEndpoints(version: Pick<ModelVersion, 'endpoints' | 'balance'>): string {
  if (version.endpoints.length === 0) return 'the model’s own connection';
  const each = version.endpoints.map(
    (e) =>
      `${e.connection}${e.model ? ` (${e.model})` : ''}${e.weight !== 1 ? ` ×${e.weight}` : ''}${
        e.maxConcurrent ? `, at most ${e.maxConcurrent} at once` : ''
      }`,
  );
  return `${each.join('; ')} — ${version.balance}`;
}

/** An arm's share of failed requests, or null before it has served any. */
export function errorRate(arm: Pick<ArmStats, 'requests' | 'errors'>): number | null {
  return arm.requests > 0 ? arm.errors / arm.requests : null;
}

/** Milliseconds as the tables show them: "—" before any. */
export function formatMs(ms: number | null): string {
  return ms === null ? '—' : `${Math.round(ms).toLocaleString('en')} ms`;
}

/** US dollars with enough digits for the fractions of a cent a few requests cost. */
export function formatUsd(usd: number): string {
  return `$${usd < 1 ? usd.toFixed(4) : usd.toFixed(2)}`;
}

/**
 * Reads the canary's steps as typed ("5, 25, 50, 100"): percents rising to at most 100, or the
 * reason they are not.
 */
export function readSteps(text: string): { steps: number[] } | { error: string } {
  const parts = text
    .split(/[\s,]+/)
    .map((p) => p.replace(/%$/, ''))
    .filter(Boolean);
  if (parts.length === 0) return { error: 'Give at least one step, like 5, 25, 50, 100.' };
  if (parts.length > 10) return { error: 'At most 10 steps.' };
  const steps = parts.map(Number);
  if (steps.some((s) => !Number.isFinite(s) || s < 0 || s > 100)) return { error: 'Each step is a percent from 0 to 100.' };
  if (steps.some((s, i) => i > 0 && s <= (steps[i - 1] as number)))
    return { error: 'Each step must send more traffic than the one before.' };
  return { steps };
}
