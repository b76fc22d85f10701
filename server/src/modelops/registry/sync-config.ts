import { isDeepStrictEqual } from 'node:util';
import {
  type AliasInput,
  CachePolicySchema,
  type ModelAlias,
  type ModelVersion,
  type ModelVersionInput,
  ModelVersionInputSchema,
  ShadowPolicySchema,
  TrafficPolicySchema,
} from '@axon/contracts';
import { ConfigError } from '../../config';
import type { ConfiguredAlias } from '../../config/config-schema';
import { AppError } from '../../errors';
import type { AuditRepository } from '../../store';
import type { ModelRegistryRepository } from '../types';

/** What a start-up sync changed, for the log. */
export interface AliasSyncResult {
  created: string[];
  versionsAdded: Array<{ alias: string; version: number }>;
  policiesPut: string[];
}

/** Values compared as their JSON (absent and `undefined` fields alike), whatever the key order. */
const sameJson = (a: unknown, b: unknown) =>
  isDeepStrictEqual(JSON.parse(JSON.stringify(a ?? null)), JSON.parse(JSON.stringify(b ?? null)));

/** A stored version's spec read with today's schema, so that a field added since with a default compares equal. */
function specOf({ alias: _alias, version: _version, createdAt: _at, createdBy: _by, ...spec }: ModelVersion): ModelVersionInput {
  return ModelVersionInputSchema.parse(spec);
}

function aliasInputOf(alias: ConfiguredAlias): AliasInput {
  return {
    ...(alias.description === undefined ? {} : { description: alias.description }),
    policy: alias.policy,
    ...(alias.shadow ? { shadow: alias.shadow } : {}),
    ...(alias.cache ? { cache: alias.cache } : {}),
  };
}

/**
 * Whether the stored alias already says what the file does (stored policies read with today's
 * schema), or says what a verdict made of the file's policy (a canary promoted or rolled back, a
 * version fixed by hand): the file has not changed since, so the verdict stands.
 */
function sameAsStored(stored: ModelAlias, wanted: AliasInput): boolean {
  const decided = stored.state?.decidedFrom !== undefined && sameJson(TrafficPolicySchema.parse(stored.state.decidedFrom), wanted.policy);
  return (
    (stored.source === 'config' || decided) &&
    (stored.description ?? null) === (wanted.description ?? null) &&
    (decided || sameJson(TrafficPolicySchema.parse(stored.policy), wanted.policy)) &&
    sameJson(stored.shadow && ShadowPolicySchema.parse(stored.shadow), wanted.shadow) &&
    sameJson(stored.cache && CachePolicySchema.parse(stored.cache), wanted.cache)
  );
}

/**
 * Brings the store's aliases in line with the `aliases` of the configuration, at start. Versions are
 * append-only: a stored version must equal the file's entry at its number (else a `ConfigError`
 * names the alias and version), entries beyond the stored ones are added. An alias's description and
 * policies are put (source `config`) only when they differ from the stored ones, so that a restart
 * does not bump its revision. Aliases made through the API and not in the file are left alone.
 */
export async function syncConfiguredAliases(
  store: { modelRegistry: ModelRegistryRepository },
  aliases: Record<string, ConfiguredAlias>,
  audit: Pick<AuditRepository, 'append'>,
): Promise<AliasSyncResult> {
  const registry = store.modelRegistry;
  const result: AliasSyncResult = { created: [], versionsAdded: [], policiesPut: [] };
  const record = (
    action: 'deployment.create' | 'deployment.version' | 'deployment.policy',
    alias: string,
    details: Record<string, unknown>,
  ) =>
    audit.append({
      action,
      actorId: null,
      actorEmail: null,
      orgId: null,
      target: `alias:${alias}`,
      details: { source: 'config', ...details },
    });

  // Every alias's versions are checked before anything is written: a wrong file changes nothing.
  const stored = new Map<string, ModelAlias | undefined>();
  const problems: string[] = [];
  for (const [name, alias] of Object.entries(aliases)) {
    const current = await registry.getAlias(name);
    stored.set(name, current);
    for (const version of current?.versions ?? []) {
      const entry = alias.versions[version.version - 1];
      if (entry && !sameJson(specOf(version), entry))
        problems.push(
          `aliases.${name}.versions[${version.version - 1}]: version ${version.version} of ${name} differs from the stored one; versions are immutable; add a new one`,
        );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  for (const [name, alias] of Object.entries(aliases)) {
    let current = stored.get(name);
    const wanted = aliasInputOf(alias);
    if (!current) {
      // The policy names versions added right below.
      current = await registry.putAlias(name, wanted, 'config');
      result.created.push(name);
      await record('deployment.create', name, { revision: current.revision, policy: wanted.policy });
    }
    for (let number = current.versions.length + 1; number <= alias.versions.length; number++) {
      const entry = alias.versions[number - 1] as ModelVersionInput;
      try {
        await registry.addVersion(name, entry, null, { ifNext: number });
      } catch (error) {
        if (!AppError.isInstance(error) || error.code !== 'conflict') throw error;
        // Another replica starting at the same time added it: it must be this entry too.
        const theirs = (await registry.getAlias(name))?.versions.find((v) => v.version === number);
        if (!theirs || !sameJson(specOf(theirs), entry))
          throw new ConfigError([
            `aliases.${name}.versions[${number - 1}]: version ${number} of ${name} was added otherwise meanwhile; versions are immutable; add a new one`,
          ]);
        continue;
      }
      result.versionsAdded.push({ alias: name, version: number });
      await record('deployment.version', name, { version: number, model: entry.model });
    }
    if (!result.created.includes(name) && !sameAsStored(current, wanted)) {
      const put = await registry.putAlias(name, wanted, 'config');
      result.policiesPut.push(name);
      await record('deployment.policy', name, { revision: put.revision, policy: wanted.policy });
    }
  }
  return result;
}
