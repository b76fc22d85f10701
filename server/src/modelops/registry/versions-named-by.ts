import type { AliasInput, TrafficPolicy } from '@axon/contracts';

/** The versions a traffic policy sends requests to, in the order it names them (repeats removed). */
export function versionsNamedByPolicy(policy: TrafficPolicy): number[] {
  const named =
    policy.type === 'fixed'
      ? [policy.version]
      : policy.type === 'weighted'
        ? policy.split.map((s) => s.version)
        : policy.type === 'canary'
          ? [policy.stable, policy.candidate]
          : policy.variants.map((v) => v.version);
  return [...new Set(named)];
}

/** The versions an alias's policies name that are not among `existing`; empty when every one exists. */
export function missingVersions(input: Pick<AliasInput, 'policy' | 'shadow'>, existing: Iterable<number>): number[] {
  const have = new Set(existing);
  const named = [...versionsNamedByPolicy(input.policy), ...(input.shadow ? [input.shadow.version] : [])];
  return [...new Set(named)].filter((version) => !have.has(version));
}
