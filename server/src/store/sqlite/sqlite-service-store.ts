import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { PromptLogRow, PromptTemplate, PromptTemplateVersion, TemplateVariable } from '@axon/contracts';
import type Database from 'better-sqlite3';
import { AppError } from '../../errors';
import { createRedactor } from '../../redaction/redact';
import type {
  PromptLogRedaction,
  PromptLogRepository,
  PromptLogWriter,
  PromptRepository,
  PromptVersionInput,
  StoredUsageRecord,
  UsageGrouping,
  UsageRepository,
} from '../service-store';
import { createSqliteBatchWriter } from './sqlite-batch-writer';
import type { PromptLogMessage, PromptLogWorkerData } from './sqlite-prompt-log-worker';

type Row = Record<string, unknown>;

const toTemplate = (r: Row): PromptTemplate => ({
  id: r.id as string,
  name: r.name as string,
  description: r.description as string,
  activeVersion: r.active_version as number,
  latestVersion: r.latest_version as number,
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
});

const toVersion = (r: Row): PromptTemplateVersion => ({
  version: r.version as number,
  system: r.system as string,
  message: r.message as string,
  variables: JSON.parse(r.variables as string) as TemplateVariable[],
  note: r.note as string,
  createdBy: (r.created_by as string | null) ?? null,
  createdAt: r.created_at as string,
});

/** Named templates and their immutable versions. */
export function createSqlitePromptRepository(db: Database.Database, now: () => Date): PromptRepository {
  const columns = 't.*, (SELECT max(version) FROM prompt_template_versions v WHERE v.template_id = t.id) AS latest_version';
  const insertVersion = db.prepare(
    'INSERT INTO prompt_template_versions (template_id, version, system, message, variables, note, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const addVersion = (templateId: string, version: number, input: PromptVersionInput, at: string) =>
    insertVersion.run(templateId, version, input.system, input.message, JSON.stringify(input.variables), input.note, input.createdBy, at);
  const getStatement = db.prepare(`SELECT ${columns} FROM prompt_templates t WHERE t.org_id = ? AND (t.id = ? OR t.name = ?)`);
  const get = (orgId: string, idOrName: string) => getStatement.get(orgId, idOrName, idOrName) as Row | undefined;
  const versionStatement = db.prepare('SELECT * FROM prompt_template_versions WHERE template_id = ? AND version = ?');
  const version = (id: string, number: number) => {
    const row = versionStatement.get(id, number) as Row | undefined;
    return row && toVersion(row);
  };

  return {
    async list(orgId) {
      return (db.prepare(`SELECT ${columns} FROM prompt_templates t WHERE t.org_id = ? ORDER BY t.name`).all(orgId) as Row[]).map(
        toTemplate,
      );
    },
    async get(orgId, idOrName) {
      const row = get(orgId, idOrName);
      return row && toTemplate(row);
    },
    async create(orgId, input) {
      const id = randomUUID();
      const at = now().toISOString();
      try {
        db.transaction(() => {
          db.prepare(
            'INSERT INTO prompt_templates (id, org_id, name, description, active_version, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)',
          ).run(id, orgId, input.name, input.description, at, at);
          addVersion(id, 1, input, at);
        })();
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
          throw new AppError('conflict', { detail: `A template named "${input.name}" exists already.` });
        throw error;
      }
      return toTemplate(get(orgId, id) as Row);
    },
    async versions(id) {
      return (db.prepare('SELECT * FROM prompt_template_versions WHERE template_id = ? ORDER BY version DESC').all(id) as Row[]).map(
        toVersion,
      );
    },
    async version(id, number) {
      return version(id, number);
    },
    async addVersion(id, input, activate) {
      const at = now().toISOString();
      const next = db.transaction(() => {
        const number =
          ((db.prepare('SELECT max(version) FROM prompt_template_versions WHERE template_id = ?').pluck().get(id) as number) ?? 0) + 1;
        addVersion(id, number, input, at);
        db.prepare(`UPDATE prompt_templates SET updated_at = ?${activate ? ', active_version = ?' : ''} WHERE id = ?`).run(
          ...(activate ? [at, number, id] : [at, id]),
        );
        return number;
      })();
      return version(id, next) as PromptTemplateVersion;
    },
    async activate(id, number) {
      db.prepare('UPDATE prompt_templates SET active_version = ?, updated_at = ? WHERE id = ?').run(number, now().toISOString(), id);
    },
  };
}

const USAGE_GROUP_SQL: Record<UsageGrouping, string> = {
  model: 'model',
  user: "coalesce(user_email, 'unknown')",
  day: 'substr(at, 1, 10)',
  organisation: '(SELECT o.slug FROM organizations o WHERE o.id = usage_events.org_id)',
};

const toStoredUsage = (r: Row): StoredUsageRecord => ({
  id: r.id as number,
  at: r.at as string,
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

/** The usage ledger's rows, written in batches; a read first writes what waits. */
export function createSqliteUsageRepository(db: Database.Database): UsageRepository & { close(): void } {
  const batch = createSqliteBatchWriter(
    db,
    `INSERT INTO usage_events (at, org_id, user_id, user_email, api_key_id, route, model, status, input_tokens, output_tokens, cost_usd, latency_ms, ttft_ms)
     VALUES (:at, :orgId, :userId, :userEmail, :apiKeyId, :route, :model, :status, :inputTokens, :outputTokens, :costUsd, :latencyMs, :ttftMs)`,
  );
  return {
    append(record) {
      batch.add({ ...record });
    },
    async flush() {
      batch.flush();
    },
    async totals(options) {
      batch.flush();
      const rows = db
        .prepare(
          `SELECT ${USAGE_GROUP_SQL[options.groupBy]} AS key, count(*) AS requests, sum(status = 'error') AS errors, sum(input_tokens) AS input,
                  sum(output_tokens) AS output, sum(cost_usd) AS cost, json_group_array(latency_ms) AS latencies
           FROM usage_events WHERE at >= :from AND at < :to AND (:orgId IS NULL OR org_id = :orgId) GROUP BY key ORDER BY key`,
        )
        .all({ from: options.from, to: options.to, orgId: options.orgId }) as Row[];
      return rows.map((r) => ({
        key: (r.key as string | null) ?? null,
        requests: r.requests as number,
        errors: r.errors as number,
        inputTokens: r.input as number,
        outputTokens: r.output as number,
        costUsd: r.cost as number,
        latenciesMs: (JSON.parse(r.latencies as string) as Array<number | null>)
          .filter((x): x is number => x !== null)
          .sort((a, b) => a - b),
      }));
    },
    async spentSince(subject, since) {
      batch.flush();
      const [column, id] = 'userId' in subject ? ['user_id', subject.userId] : ['org_id', subject.orgId];
      return (
        (db
          .prepare(`SELECT coalesce(sum(cost_usd), 0) FROM usage_events WHERE ${column} = ? AND at >= ?`)
          .pluck()
          .get(id, since) as number) ?? 0
      );
    },
    async events(range) {
      batch.flush();
      return (
        db
          .prepare('SELECT * FROM usage_events WHERE at >= :from AND at < :to AND (:orgId IS NULL OR org_id = :orgId) ORDER BY id')
          .all({ from: range.from, to: range.to, orgId: range.orgId }) as Row[]
      ).map(toStoredUsage);
    },
    close() {
      batch.flush();
    },
  };
}

const PROMPT_LOG_INSERT = `INSERT INTO prompt_log (id, at, org_id, user_id, api_key_id, route, model, mode, prompt, response, status, input_tokens, output_tokens)
   VALUES (:id, :at, :orgId, :userId, :apiKeyId, :route, :model, :mode, :prompt, :response, :status, :inputTokens, :outputTokens)`;

const toPromptLogRow = (r: Row): PromptLogRow => ({
  id: r.id as string,
  orgId: r.org_id as string,
  at: r.at as string,
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
 * The prompt log. With a database file, a writer redacts and writes its rows on a thread of its own:
 * the scan and the commit cost about a tenth of a busy server's CPU, taken off the thread serving
 * requests. In memory (`:memory:` cannot be shared with a thread), rows are redacted as they are
 * added and written in batches.
 */
export function createSqlitePromptLogRepository(
  db: Database.Database,
  options: { path: string },
): PromptLogRepository & { close(): Promise<void> } {
  const writers = new Set<PromptLogWriter>();
  return {
    openWriter(redaction) {
      const writer =
        options.path === ':memory:'
          ? startInProcessWriter(db, redaction)
          : startWriterThread(options.path, redaction, () => writers.delete(writer));
      writers.add(writer);
      return writer;
    },
    async list(query) {
      return (
        db
          .prepare('SELECT * FROM prompt_log WHERE org_id = :orgId AND at < :before ORDER BY at DESC LIMIT :limit')
          .all({ orgId: query.orgId, before: query.before ?? '9999', limit: query.limit }) as Row[]
      ).map(toPromptLogRow);
    },
    async deleteBefore(at) {
      return db.prepare('DELETE FROM prompt_log WHERE at < ?').run(at).changes;
    },
    async close() {
      await Promise.all([...writers].map((writer) => writer.close()));
    },
  };
}

function startInProcessWriter(db: Database.Database, redaction: PromptLogRedaction): PromptLogWriter {
  const redactor = createRedactor(redaction);
  const batch = createSqliteBatchWriter(db, PROMPT_LOG_INSERT);
  return {
    add(row) {
      // Redacted now, so that nothing raw waits in memory either.
      const redacted = row.mode === 'redacted';
      batch.add({
        ...row,
        prompt: redacted ? redactor.redact(row.prompt).text : row.prompt,
        response: redacted ? redactor.redact(row.response).text : row.response,
      });
    },
    async flush() {
      batch.flush();
    },
    async close() {
      if (db.open) batch.flush();
    },
  };
}

// From the bundle the worker is dist/prompt-log-worker.js; from the sources a shim loads it through tsx.
const fromSource = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(fromSource ? './sqlite-prompt-log-worker-from-source.mjs' : './prompt-log-worker.js', import.meta.url);

/**
 * The writer thread, started with the first row: rows are sent every 50 ms (or 256 at a time), and
 * `flush` waits until it has written them.
 */
function startWriterThread(dbPath: string, redaction: PromptLogRedaction, onClose: () => void): PromptLogWriter {
  let worker: Worker | undefined;
  let pending: PromptLogRow[] = [];
  let scheduled: NodeJS.Timeout | undefined;
  let nextId = 1;
  const waiting = new Map<number, () => void>();
  const thread = (): Worker => {
    if (worker) return worker;
    const started = new Worker(WORKER_URL, {
      workerData: {
        dbPath,
        patterns: redaction.custom ?? [],
        types: redaction.types,
        phoneRegions: redaction.phoneRegions,
      } satisfies PromptLogWorkerData,
    });
    started.unref();
    started.on('error', (error) => console.error('prompt log writer failed', error));
    started.on('message', (message: { id: number }) => {
      waiting.get(message.id)?.();
      waiting.delete(message.id);
      if (waiting.size === 0) started.unref();
    });
    worker = started;
    return started;
  };
  const send = () => {
    if (scheduled) clearTimeout(scheduled);
    scheduled = undefined;
    if (pending.length === 0) return;
    thread().postMessage({ type: 'rows', rows: pending } satisfies PromptLogMessage);
    pending = [];
  };
  const flush = async (): Promise<void> => {
    send();
    if (!worker) return;
    const running = worker;
    const id = nextId++;
    // Held while a flush waits, so that the process does not exit before the rows are written.
    running.ref();
    await new Promise<void>((resolve) => {
      waiting.set(id, resolve);
      running.postMessage({ type: 'flush', id } satisfies PromptLogMessage);
    });
  };
  return {
    add(row) {
      pending.push(row);
      if (pending.length >= 256) send();
      else scheduled ??= setTimeout(send, 50);
    },
    flush,
    async close() {
      onClose();
      await flush();
      await worker?.terminate();
      worker = undefined;
    },
  };
}
