import { randomUUID } from 'node:crypto';
import type { PromptLogRow, PromptTemplate, PromptTemplateVersion, TemplateVariable } from '@axon/contracts';
import type pg from 'pg';
import { AppError } from '../../errors';
import { createRedactor } from '../../redaction/redact';
import type {
  PromptLogRepository,
  PromptRepository,
  PromptVersionInput,
  StoredUsageRecord,
  UsageGrouping,
  UsageRecord,
  UsageRepository,
} from '../service-store';
import { createPgBatchWriter } from './pg-batch-writer';
import { inTransaction } from './pg-pool';
import { isoOf, isUniqueViolation, type Sql, storableText } from './pg-values';

type Row = Record<string, unknown>;

const toTemplate = (r: Row): PromptTemplate => ({
  id: r.id as string,
  name: r.name as string,
  description: r.description as string,
  activeVersion: r.active_version as number,
  latestVersion: r.latest_version as number,
  createdAt: isoOf(r.created_at),
  updatedAt: isoOf(r.updated_at),
});

const toVersion = (r: Row): PromptTemplateVersion => ({
  version: r.version as number,
  system: r.system as string,
  message: r.message as string,
  variables: r.variables as TemplateVariable[],
  note: r.note as string,
  createdBy: (r.created_by as string | null) ?? null,
  createdAt: isoOf(r.created_at),
});

const TEMPLATE_COLUMNS = 't.*, (SELECT max(version) FROM prompt_template_versions v WHERE v.template_id = t.id) AS latest_version';

/** Named templates and their immutable versions, in PostgreSQL. */
export function createPostgresPromptRepository(pool: pg.Pool, now: () => Date): PromptRepository {
  const get = async (orgId: string, idOrName: string) => {
    const { rows } = await pool.query(
      `SELECT ${TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.org_id = $1 AND (t.id = $2 OR t.name = $2)`,
      [orgId, idOrName],
    );
    return rows[0] && toTemplate(rows[0]);
  };
  const version = async (id: string, number: number) => {
    const { rows } = await pool.query('SELECT * FROM prompt_template_versions WHERE template_id = $1 AND version = $2', [id, number]);
    return rows[0] && toVersion(rows[0]);
  };
  const insertVersion = (sql: Sql, templateId: string, number: number, input: PromptVersionInput, at: string) =>
    sql.query(
      'INSERT INTO prompt_template_versions (template_id, version, system, message, variables, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [
        templateId,
        number,
        storableText(input.system),
        storableText(input.message),
        JSON.stringify(input.variables),
        storableText(input.note),
        input.createdBy,
        at,
      ],
    );

  return {
    async list(orgId) {
      // By code point, as SQLite orders text, whatever the database's collation.
      const { rows } = await pool.query(
        `SELECT ${TEMPLATE_COLUMNS} FROM prompt_templates t WHERE t.org_id = $1 ORDER BY t.name COLLATE "C"`,
        [orgId],
      );
      return rows.map(toTemplate);
    },
    get,
    async create(orgId, input) {
      const id = randomUUID();
      const at = now().toISOString();
      try {
        await inTransaction(pool, async (client) => {
          await client.query(
            'INSERT INTO prompt_templates (id, org_id, name, description, active_version, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $5)',
            [id, orgId, input.name, storableText(input.description), at],
          );
          await insertVersion(client, id, 1, input, at);
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError('conflict', { detail: `A template named "${input.name}" exists already.` });
        throw error;
      }
      return (await get(orgId, id)) as PromptTemplate;
    },
    async versions(id) {
      const { rows } = await pool.query('SELECT * FROM prompt_template_versions WHERE template_id = $1 ORDER BY version DESC', [id]);
      return rows.map(toVersion);
    },
    version,
    async addVersion(id, input, activate) {
      const at = now().toISOString();
      const next = await inTransaction(pool, async (client) => {
        // The template's row is locked so that versions added at once get consecutive numbers.
        await client.query('SELECT id FROM prompt_templates WHERE id = $1 FOR UPDATE', [id]);
        const { rows } = await client.query<{ next: number }>(
          'SELECT coalesce(max(version), 0) + 1 AS next FROM prompt_template_versions WHERE template_id = $1',
          [id],
        );
        const number = (rows[0] as { next: number }).next;
        await insertVersion(client, id, number, input, at);
        await client.query(
          `UPDATE prompt_templates SET updated_at = $1${activate ? ', active_version = $3' : ''} WHERE id = $2`,
          activate ? [at, id, number] : [at, id],
        );
        return number;
      });
      return (await version(id, next)) as PromptTemplateVersion;
    },
    async activate(id, number) {
      await pool.query('UPDATE prompt_templates SET active_version = $1, updated_at = $2 WHERE id = $3', [number, now().toISOString(), id]);
    },
  };
}

const USAGE_GROUP_SQL: Record<UsageGrouping, string> = {
  model: 'model',
  user: "coalesce(user_email, 'unknown')",
  day: `to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  organisation: '(SELECT o.slug FROM organizations o WHERE o.id = usage_events.org_id)',
};

const USAGE_COLUMNS: Array<readonly [string, (row: UsageRecord) => unknown]> = [
  ['at', (r) => r.at],
  ['org_id', (r) => r.orgId],
  ['user_id', (r) => r.userId],
  ['user_email', (r) => r.userEmail],
  ['api_key_id', (r) => r.apiKeyId],
  ['route', (r) => r.route],
  ['model', (r) => r.model],
  ['status', (r) => r.status],
  ['input_tokens', (r) => r.inputTokens],
  ['output_tokens', (r) => r.outputTokens],
  ['cost_usd', (r) => r.costUsd],
  ['latency_ms', (r) => r.latencyMs],
  ['ttft_ms', (r) => r.ttftMs],
];

const toStoredUsage = (r: Row): StoredUsageRecord => ({
  id: Number(r.id),
  at: isoOf(r.at),
  orgId: r.org_id as string,
  userId: (r.user_id as string | null) ?? null,
  userEmail: (r.user_email as string | null) ?? null,
  apiKeyId: (r.api_key_id as string | null) ?? null,
  route: r.route as string,
  model: r.model as string,
  status: r.status as string,
  inputTokens: r.input_tokens as number,
  outputTokens: r.output_tokens as number,
  costUsd: r.cost_usd as number,
  latencyMs: (r.latency_ms as number | null) ?? null,
  ttftMs: (r.ttft_ms as number | null) ?? null,
});

/** The usage ledger's rows in PostgreSQL: one multi-row INSERT per batch; a read first writes what waits. */
export function createPostgresUsageRepository(pool: pg.Pool, options: { onError?: (error: unknown) => void } = {}): UsageRepository {
  const batch = createPgBatchWriter<UsageRecord>(pool, {
    table: 'usage_events',
    columns: USAGE_COLUMNS,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  return {
    append(record) {
      batch.add({ ...record });
    },
    flush: batch.flush,
    async totals(range) {
      await batch.flush();
      const { rows } = await pool.query(
        `SELECT * FROM (
           SELECT ${USAGE_GROUP_SQL[range.groupBy]} AS key, count(*) AS requests, count(*) FILTER (WHERE status = 'error') AS errors,
                  sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost_usd) AS cost,
                  array_agg(latency_ms ORDER BY latency_ms) FILTER (WHERE latency_ms IS NOT NULL) AS latencies
           FROM usage_events WHERE at >= $1 AND at < $2 AND ($3::text IS NULL OR org_id = $3) GROUP BY 1
         ) totals ORDER BY key COLLATE "C" NULLS FIRST`,
        [isoOf(range.from), isoOf(range.to), range.orgId],
      );
      return rows.map((r) => ({
        key: (r.key as string | null) ?? null,
        requests: Number(r.requests),
        errors: Number(r.errors),
        inputTokens: Number(r.input),
        outputTokens: Number(r.output),
        costUsd: Number(r.cost),
        latenciesMs: (r.latencies as number[] | null) ?? [],
      }));
    },
    async spentSince(subject, since) {
      await batch.flush();
      const [column, id] = 'userId' in subject ? ['user_id', subject.userId] : ['org_id', subject.orgId];
      const { rows } = await pool.query(`SELECT coalesce(sum(cost_usd), 0) AS spent FROM usage_events WHERE ${column} = $1 AND at >= $2`, [
        id,
        isoOf(since),
      ]);
      return Number(rows[0]?.spent ?? 0);
    },
    async events(range) {
      await batch.flush();
      const { rows } = await pool.query(
        'SELECT * FROM usage_events WHERE at >= $1 AND at < $2 AND ($3::text IS NULL OR org_id = $3) ORDER BY id',
        [isoOf(range.from), isoOf(range.to), range.orgId],
      );
      return rows.map(toStoredUsage);
    },
  };
}

const PROMPT_LOG_COLUMNS: Array<readonly [string, (row: PromptLogRow) => unknown]> = [
  ['id', (r) => r.id],
  ['at', (r) => r.at],
  ['org_id', (r) => r.orgId],
  ['user_id', (r) => r.userId],
  ['api_key_id', (r) => r.apiKeyId],
  ['route', (r) => r.route],
  ['model', (r) => r.model],
  ['mode', (r) => r.mode],
  ['prompt', (r) => storableText(r.prompt)],
  ['response', (r) => storableText(r.response)],
  ['status', (r) => r.status],
  ['input_tokens', (r) => r.inputTokens],
  ['output_tokens', (r) => r.outputTokens],
];

const toPromptLogRow = (r: Row): PromptLogRow => ({
  id: r.id as string,
  orgId: r.org_id as string,
  at: isoOf(r.at),
  mode: r.mode as 'redacted' | 'full',
  userId: (r.user_id as string | null) ?? null,
  apiKeyId: (r.api_key_id as string | null) ?? null,
  route: r.route as string,
  model: r.model as string,
  prompt: r.prompt as string,
  response: r.response as string,
  status: r.status as string,
  inputTokens: (r.input_tokens as number | null) ?? null,
  outputTokens: (r.output_tokens as number | null) ?? null,
});

/**
 * The prompt log in PostgreSQL. A writer redacts a row as it is added (so that nothing raw waits in
 * memory) and writes its rows with one multi-row INSERT per batch.
 */
export function createPostgresPromptLogRepository(
  pool: pg.Pool,
  options: { onError?: (error: unknown) => void } = {},
): PromptLogRepository {
  return {
    openWriter(redaction) {
      const redactor = createRedactor(redaction);
      const batch = createPgBatchWriter<PromptLogRow>(pool, {
        table: 'prompt_log',
        columns: PROMPT_LOG_COLUMNS,
        // Prompts can be long: fewer of them to a statement.
        rowsPerStatement: 100,
        maxQueued: 5_000,
        ...(options.onError ? { onError: options.onError } : {}),
      });
      return {
        add(row) {
          const redacted = row.mode === 'redacted';
          batch.add({
            ...row,
            prompt: redacted ? redactor.redact(row.prompt).text : row.prompt,
            response: redacted ? redactor.redact(row.response).text : row.response,
          });
        },
        flush: batch.flush,
        close: batch.flush,
      };
    },
    async list(query) {
      // Rows before an instant; a `before` that is none bounds nothing.
      const before = query.before !== undefined && !Number.isNaN(Date.parse(query.before)) ? isoOf(query.before) : null;
      const { rows } = await pool.query(
        'SELECT * FROM prompt_log WHERE org_id = $1 AND ($2::timestamptz IS NULL OR at < $2) ORDER BY at DESC LIMIT $3',
        [query.orgId, before, query.limit],
      );
      return rows.map(toPromptLogRow);
    },
    async deleteBefore(at) {
      const { rowCount } = await pool.query('DELETE FROM prompt_log WHERE at < $1', [isoOf(at)]);
      return rowCount ?? 0;
    },
  };
}

/**
 * Prompt templates, the usage ledger and the prompt log in PostgreSQL (tables of `SERVICE_MIGRATIONS`).
 * The usage ledger queues rows: flush it (`usage.flush()`) before the pool ends.
 */
export function createPostgresServiceRepositories(
  pool: pg.Pool,
  options: { now?: () => Date; onError?: (error: unknown) => void } = {},
): { prompts: PromptRepository; usage: UsageRepository; promptLog: PromptLogRepository } {
  const { now = () => new Date(), onError } = options;
  const writing = onError ? { onError } : {};
  return {
    prompts: createPostgresPromptRepository(pool, now),
    usage: createPostgresUsageRepository(pool, writing),
    promptLog: createPostgresPromptLogRepository(pool, writing),
  };
}
