import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { PromptLogRow } from '@axon/contracts';
import type Database from 'better-sqlite3';
import type { Redactor, RedactorOptions } from '../redaction/redact';
import { createBatchWriter } from './batch-writer';
import type { PromptLogMessage, PromptLogWorkerData } from './prompt-log-worker';

export type PromptLogMode = 'off' | 'redacted' | 'full';

/** What a `/v1` call asked and got, before the logging mode keeps it. */
export type PromptLogEntry = Omit<PromptLogRow, 'id' | 'at' | 'mode'>;

/**
 * What was asked of the models through the API and what they answered: nothing (`off`), with
 * personal data and secrets replaced by placeholders before the row is written (`redacted`, the
 * default), or as sent (`full`). Rows older than the retention period are deleted every hour.
 *
 * With `dbPath` (a database file) rows are redacted and written by a thread of their own: the scan
 * and the commit cost about a tenth of a busy server's CPU, taken off the thread serving requests.
 * Raw text is only ever in memory, on its way to that thread. Without it, they are redacted here
 * and written in batches.
 */
export function createPromptLog(
  db: Database.Database,
  options: {
    mode: PromptLogMode;
    retentionDays: number;
    redactor: Redactor;
    dbPath?: string | undefined;
    patterns?: Array<{ name: string; pattern: string }>;
    /** What the writer thread's redactor finds (its own copy of `redactor`'s options). */
    redaction?: Pick<RedactorOptions, 'types' | 'phoneRegions'>;
  },
) {
  const writer = options.dbPath ? startWriterThread(options.dbPath, options.patterns ?? [], options.redaction ?? {}) : undefined;
  const batch = writer
    ? undefined
    : createBatchWriter(
        db,
        `INSERT INTO prompt_log (id, at, org_id, user_id, api_key_id, route, model, mode, prompt, response, status, input_tokens, output_tokens)
         VALUES (:id, :at, :orgId, :userId, :apiKeyId, :route, :model, :mode, :prompt, :response, :status, :inputTokens, :outputTokens)`,
      );
  const flush = async () => {
    if (writer) await writer.flush();
    else batch?.flush();
  };
  const prune = () =>
    db.prepare('DELETE FROM prompt_log WHERE at < ?').run(new Date(Date.now() - options.retentionDays * 86_400_000).toISOString()).changes;
  prune();
  const timer = setInterval(prune, 3_600_000).unref();
  const clean = (mode: PromptLogMode, text: string) => (mode === 'redacted' ? options.redactor.redact(text).text : text);
  return {
    /** The server's mode; an organisation may set its own. */
    mode: options.mode,
    retentionDays: options.retentionDays,
    /** Keeps one exchange in `mode` (the organisation's, else the server's). */
    record(entry: PromptLogEntry, mode: PromptLogMode = options.mode) {
      if (mode === 'off') return;
      const row = { ...entry, id: randomUUID(), at: new Date().toISOString(), mode };
      if (writer) writer.add(row);
      // Redacted now, so that nothing raw waits in memory either.
      else batch?.add({ ...row, prompt: clean(mode, entry.prompt), response: clean(mode, entry.response) });
    },
    /** Resolves when every row recorded so far is in the table. */
    flush,
    /** The organisation's rows, newest first. */
    async list(options: { orgId: string; before?: string | undefined; limit: number }): Promise<PromptLogRow[]> {
      await flush();
      return (
        db
          .prepare('SELECT * FROM prompt_log WHERE org_id = :orgId AND at < :before ORDER BY at DESC LIMIT :limit')
          .all({ orgId: options.orgId, before: options.before ?? '9999', limit: options.limit }) as Array<Record<string, unknown>>
      ).map((r) => ({
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
      }));
    },
    prune,
    async close() {
      clearInterval(timer);
      await flush();
      await writer?.close();
    },
  };
}

export type PromptLog = ReturnType<typeof createPromptLog>;

// From the bundle the worker is dist/prompt-log-worker.js; from the sources a shim loads it through tsx.
const fromSource = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(fromSource ? './prompt-log-worker-from-source.mjs' : './prompt-log-worker.js', import.meta.url);

/**
 * The writer thread, started with the first row: rows are sent every 50 ms (or 256 at a time), and
 * `flush` waits until it has written them.
 */
function startWriterThread(
  dbPath: string,
  patterns: Array<{ name: string; pattern: string }>,
  redaction: Pick<RedactorOptions, 'types' | 'phoneRegions'>,
) {
  let worker: Worker | undefined;
  let pending: Array<Record<string, unknown>> = [];
  let scheduled: NodeJS.Timeout | undefined;
  let nextId = 1;
  const waiting = new Map<number, () => void>();
  const thread = (): Worker => {
    if (worker) return worker;
    const started = new Worker(WORKER_URL, {
      workerData: { dbPath, patterns, types: redaction.types, phoneRegions: redaction.phoneRegions } satisfies PromptLogWorkerData,
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
  return {
    add(row: Record<string, unknown>) {
      pending.push(row);
      if (pending.length >= 256) send();
      else scheduled ??= setTimeout(send, 50);
    },
    async flush(): Promise<void> {
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
    },
    async close() {
      await worker?.terminate();
    },
  };
}
