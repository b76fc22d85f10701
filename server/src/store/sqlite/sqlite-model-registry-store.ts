import type { AliasInput, FeedbackValue, ModelAlias, ModelVersion, ModelVersionInput, RolloutState, TrafficPolicy } from '@axon/contracts';
import type Database from 'better-sqlite3';
import { AppError } from '../../errors';
import { initialRolloutState } from '../../modelops/registry/initial-rollout-state';
import type { ModelRegistryRepository, ServedResponse } from '../../modelops/types';

type Row = Record<string, unknown>;

const parsed = <T>(text: unknown): T | undefined => (text === null || text === undefined ? undefined : (JSON.parse(text as string) as T));

const toVersion = (row: Row): ModelVersion => ({
  ...(JSON.parse(row.spec as string) as ModelVersionInput),
  alias: row.alias as string,
  version: row.version as number,
  createdAt: row.created_at as string,
  createdBy: (row.created_by as string | null) ?? null,
});

function toAlias(row: Row, versions: ModelVersion[]): ModelAlias {
  const description = (row.description as string | null) ?? undefined;
  const shadow = parsed<AliasInput['shadow']>(row.shadow);
  const cache = parsed<AliasInput['cache']>(row.cache);
  return {
    name: row.name as string,
    ...(description === undefined ? {} : { description }),
    policy: JSON.parse(row.policy as string) as TrafficPolicy,
    ...(shadow ? { shadow } : {}),
    ...(cache ? { cache } : {}),
    source: row.source as ModelAlias['source'],
    revision: row.revision as number,
    state: parsed<RolloutState>(row.state) ?? null,
    versions,
    updatedAt: row.updated_at as string,
  };
}

const toServed = (row: Row): ServedResponse => ({
  responseId: row.response_id as string,
  orgId: row.org_id as string,
  userId: row.user_id as string,
  alias: row.alias as string,
  version: row.version as number,
  revision: row.revision as number,
  arm: row.arm as string,
  source: row.source === 'web' ? 'web' : 'api',
});

const jsonOrNull = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

/** Model aliases, their immutable versions and which version served a response, in SQLite (migrations 22 and 25). */
export function createSqliteModelRegistryRepository(db: Database.Database, now: () => Date): ModelRegistryRepository {
  const q = {
    aliases: db.prepare('SELECT * FROM model_aliases ORDER BY name'),
    alias: db.prepare('SELECT * FROM model_aliases WHERE name = ?'),
    allVersions: db.prepare('SELECT * FROM model_versions ORDER BY alias, version'),
    versions: db.prepare('SELECT * FROM model_versions WHERE alias = ? ORDER BY version'),
    upsert: db.prepare(
      `INSERT INTO model_aliases (name, description, policy, shadow, cache, source, revision, state, updated_at)
       VALUES (@name, @description, @policy, @shadow, @cache, @source, 1, @state, @at)
       ON CONFLICT (name) DO UPDATE SET description = excluded.description, policy = excluded.policy, shadow = excluded.shadow,
         cache = excluded.cache, source = excluded.source, revision = model_aliases.revision + 1, state = excluded.state,
         updated_at = excluded.updated_at`,
    ),
    delete: db.prepare('DELETE FROM model_aliases WHERE name = ?'),
    nextVersion: db.prepare('SELECT COALESCE(MAX(version), 0) + 1 AS next FROM model_versions WHERE alias = ?'),
    insertVersion: db.prepare(
      'INSERT INTO model_versions (alias, version, spec, created_at, created_by) VALUES (?, ?, ?, ?, ?) RETURNING *',
    ),
    setState: db.prepare('UPDATE model_aliases SET state = ? WHERE name = ? AND revision = ?'),
    recordServed: db.prepare(
      `INSERT INTO model_served_responses (response_id, org_id, user_id, alias, version, revision, arm, source, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (response_id) DO NOTHING`,
    ),
    servedBy: db.prepare('SELECT * FROM model_served_responses WHERE response_id = ?'),
    servedFeedback: db.prepare('SELECT feedback FROM model_served_responses WHERE response_id = ? AND user_id = ?'),
    setServedFeedback: db.prepare(
      'UPDATE model_served_responses SET feedback = ?, feedback_comment = ?, feedback_at = ? WHERE response_id = ? AND user_id = ?',
    ),
    pruneServed: db.prepare('DELETE FROM model_served_responses WHERE created_at < ?'),
  };

  const getAlias = (name: string): ModelAlias | undefined => {
    const row = q.alias.get(name) as Row | undefined;
    return row && toAlias(row, (q.versions.all(name) as Row[]).map(toVersion));
  };

  return {
    async listAliases() {
      const versions = new Map<string, ModelVersion[]>();
      for (const row of q.allVersions.all() as Row[]) {
        const version = toVersion(row);
        versions.set(version.alias, [...(versions.get(version.alias) ?? []), version]);
      }
      return (q.aliases.all() as Row[]).map((row) => toAlias(row, versions.get(row.name as string) ?? []));
    },
    async getAlias(name) {
      return getAlias(name);
    },
    async putAlias(name, input, source) {
      return db
        .transaction(() => {
          const at = now();
          q.upsert.run({
            name,
            description: input.description ?? null,
            policy: JSON.stringify(input.policy),
            shadow: jsonOrNull(input.shadow),
            cache: jsonOrNull(input.cache),
            source,
            state: jsonOrNull(initialRolloutState(input.policy, at) ?? undefined),
            at: at.toISOString(),
          });
          return getAlias(name) as ModelAlias;
        })
        .immediate();
    },
    async deleteAlias(name) {
      return q.delete.run(name).changes > 0;
    },
    async addVersion(alias, input, createdBy, options = {}) {
      // An immediate transaction holds the file's write lock from the start: another process adding
      // a version at the same time waits, then reads the number this one took.
      return db
        .transaction(() => {
          if (!q.alias.get(alias)) throw new AppError('not_found', { detail: `No such alias: ${alias}` });
          const { next } = q.nextVersion.get(alias) as { next: number };
          if (options.ifNext !== undefined && options.ifNext !== next)
            throw new AppError('conflict', { detail: `${alias} has version ${next - 1} already; the next would be ${next}` });
          const row = q.insertVersion.get(alias, next, JSON.stringify(input), now().toISOString(), createdBy) as Row;
          return toVersion(row);
        })
        .immediate();
    },
    async setState(alias, revision, state) {
      return q.setState.run(jsonOrNull(state ?? undefined), alias, revision).changes > 0;
    },
    async recordServed(served) {
      q.recordServed.run(
        served.responseId,
        served.orgId,
        served.userId,
        served.alias,
        served.version,
        served.revision,
        served.arm,
        served.source,
        now().toISOString(),
      );
    },
    async servedBy(responseId) {
      const row = q.servedBy.get(responseId) as Row | undefined;
      return row && toServed(row);
    },
    async setServedFeedback(responseId, userId, value, comment) {
      return db
        .transaction(() => {
          const row = q.servedFeedback.get(responseId, userId) as Row | undefined;
          if (!row) return undefined;
          q.setServedFeedback.run(value, value ? comment : null, value ? now().toISOString() : null, responseId, userId);
          return { previous: (row.feedback as FeedbackValue | null) ?? null };
        })
        .immediate();
    },
    async pruneServed(before) {
      return q.pruneServed.run(before.toISOString()).changes;
    },
  };
}
