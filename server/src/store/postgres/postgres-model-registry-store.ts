import type { FeedbackValue, ModelAlias, ModelVersion, ModelVersionInput, RolloutState } from '@axon/contracts';
import type pg from 'pg';
import { AppError } from '../../errors';
import { initialRolloutState } from '../../modelops/registry/initial-rollout-state';
import type { ModelRegistryRepository, ServedResponse } from '../../modelops/types';
import { inTransaction } from './pg-pool';
import { isoOf, type Sql } from './pg-values';

type Row = Record<string, unknown>;

const toVersion = (row: Row): ModelVersion => ({
  ...(row.spec as ModelVersionInput),
  alias: row.alias as string,
  version: row.version as number,
  createdAt: isoOf(row.created_at),
  createdBy: (row.created_by as string | null) ?? null,
});

const toAlias = (row: Row, versions: ModelVersion[]): ModelAlias => ({
  name: row.name as string,
  ...(row.description === null ? {} : { description: row.description as string }),
  policy: row.policy as ModelAlias['policy'],
  ...(row.shadow === null ? {} : { shadow: row.shadow as NonNullable<ModelAlias['shadow']> }),
  ...(row.cache === null ? {} : { cache: row.cache as NonNullable<ModelAlias['cache']> }),
  source: row.source as ModelAlias['source'],
  revision: row.revision as number,
  state: (row.state as RolloutState | null) ?? null,
  versions,
  updatedAt: isoOf(row.updated_at),
});

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

/** A value for a JSONB parameter (node-postgres would send a JS array as a PostgreSQL array). */
const jsonb = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));

async function readAlias(sql: Sql, name: string): Promise<ModelAlias | undefined> {
  const { rows } = await sql.query('SELECT * FROM model_aliases WHERE name = $1', [name]);
  if (!rows[0]) return undefined;
  const versions = await sql.query('SELECT * FROM model_versions WHERE alias = $1 ORDER BY version', [name]);
  return toAlias(rows[0], versions.rows.map(toVersion));
}

/** Model aliases, their immutable versions and which version served a response, in PostgreSQL (`MODEL_REGISTRY_MIGRATIONS`). */
export function createPostgresModelRegistryRepository(pool: pg.Pool, { now }: { now: () => Date }): ModelRegistryRepository {
  return {
    async listAliases() {
      const [aliases, all] = await Promise.all([
        pool.query('SELECT * FROM model_aliases ORDER BY name'),
        pool.query('SELECT * FROM model_versions ORDER BY alias, version'),
      ]);
      const versions = new Map<string, ModelVersion[]>();
      for (const row of all.rows) {
        const version = toVersion(row);
        versions.set(version.alias, [...(versions.get(version.alias) ?? []), version]);
      }
      return aliases.rows.map((row) => toAlias(row, versions.get(row.name as string) ?? []));
    },
    getAlias: (name) => readAlias(pool, name),
    async putAlias(name, input, source) {
      return inTransaction(pool, async (client) => {
        const at = now();
        await client.query(
          `INSERT INTO model_aliases (name, description, policy, shadow, cache, source, revision, state, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)
           ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, policy = EXCLUDED.policy, shadow = EXCLUDED.shadow,
             cache = EXCLUDED.cache, source = EXCLUDED.source, revision = model_aliases.revision + 1, state = EXCLUDED.state,
             updated_at = EXCLUDED.updated_at`,
          [
            name,
            input.description ?? null,
            jsonb(input.policy),
            jsonb(input.shadow),
            jsonb(input.cache),
            source,
            jsonb(initialRolloutState(input.policy, at)),
            at.toISOString(),
          ],
        );
        return (await readAlias(client, name)) as ModelAlias;
      });
    },
    async deleteAlias(name) {
      const { rowCount } = await pool.query('DELETE FROM model_aliases WHERE name = $1', [name]);
      return (rowCount ?? 0) > 0;
    },
    async addVersion(alias, input, createdBy, options = {}) {
      return inTransaction(pool, async (client) => {
        // The alias's row lock serialises replicas adding versions at once; the number is read after
        // it is held (a statement of its own, so that it sees what the one before committed).
        const locked = await client.query('SELECT name FROM model_aliases WHERE name = $1 FOR UPDATE', [alias]);
        if (!locked.rows[0]) throw new AppError('not_found', { detail: `No such alias: ${alias}` });
        const last = await client.query<{ last: number }>(
          'SELECT COALESCE(MAX(version), 0)::int AS last FROM model_versions WHERE alias = $1',
          [alias],
        );
        const next = (last.rows[0]?.last ?? 0) + 1;
        if (options.ifNext !== undefined && options.ifNext !== next)
          throw new AppError('conflict', { detail: `${alias} has version ${next - 1} already; the next would be ${next}` });
        const { rows } = await client.query(
          'INSERT INTO model_versions (alias, version, spec, created_at, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING *',
          [alias, next, jsonb(input), now().toISOString(), createdBy],
        );
        return toVersion(rows[0] as Row);
      });
    },
    async setState(alias, revision, state) {
      const { rowCount } = await pool.query('UPDATE model_aliases SET state = $1 WHERE name = $2 AND revision = $3', [
        jsonb(state),
        alias,
        revision,
      ]);
      return (rowCount ?? 0) > 0;
    },
    async recordServed(served) {
      await pool.query(
        `INSERT INTO model_served_responses (response_id, org_id, user_id, alias, version, revision, arm, source, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (response_id) DO NOTHING`,
        [
          served.responseId,
          served.orgId,
          served.userId,
          served.alias,
          served.version,
          served.revision,
          served.arm,
          served.source,
          now().toISOString(),
        ],
      );
    },
    async servedBy(responseId) {
      const { rows } = await pool.query('SELECT * FROM model_served_responses WHERE response_id = $1', [responseId]);
      return rows[0] && toServed(rows[0]);
    },
    async setServedFeedback(responseId, userId, value, comment) {
      // The row lock makes two votes at once read each other's value as the one replaced.
      const { rows } = await pool.query(
        `UPDATE model_served_responses s SET feedback = $3, feedback_comment = $4, feedback_at = $5
         FROM (SELECT response_id, feedback FROM model_served_responses WHERE response_id = $1 AND user_id = $2 FOR UPDATE) old
         WHERE s.response_id = old.response_id
         RETURNING old.feedback AS previous`,
        [responseId, userId, value, value ? comment : null, value ? now().toISOString() : null],
      );
      return rows[0] && { previous: (rows[0].previous as FeedbackValue | null) ?? null };
    },
    async pruneServed(before) {
      const { rowCount } = await pool.query('DELETE FROM model_served_responses WHERE created_at < $1', [before.toISOString()]);
      return rowCount ?? 0;
    },
  };
}
