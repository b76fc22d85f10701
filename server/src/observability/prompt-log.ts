import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Redactor } from '../redaction/redact';
import { createBatchWriter } from './batch-writer';

export type PromptLogMode = 'off' | 'redacted' | 'full';

export interface PromptLogEntry {
  orgId: string;
  userId: string | null;
  apiKeyId: string | null;
  route: string;
  model: string;
  prompt: string;
  response: string;
  status: string;
  inputTokens: number | null;
  outputTokens: number | null;
}

export interface PromptLogRow extends PromptLogEntry {
  id: string;
  at: string;
  mode: 'redacted' | 'full';
}

/**
 * What was asked of the models through the API and what they answered: nothing (`off`), with
 * personal data and secrets replaced by placeholders before the row is written (`redacted`, the
 * default), or as sent (`full`). Rows older than the retention period are deleted every hour.
 */
export function createPromptLog(db: Database.Database, options: { mode: PromptLogMode; retentionDays: number; redactor: Redactor }) {
  const batch = createBatchWriter(
    db,
    `INSERT INTO prompt_log (id, at, org_id, user_id, api_key_id, route, model, mode, prompt, response, status, input_tokens, output_tokens)
     VALUES (:id, :at, :orgId, :userId, :apiKeyId, :route, :model, :mode, :prompt, :response, :status, :inputTokens, :outputTokens)`,
  );
  const flush = batch.flush;
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
      // Redacted now, so that nothing raw waits in memory either.
      batch.add({
        ...entry,
        id: randomUUID(),
        at: new Date().toISOString(),
        mode,
        prompt: clean(mode, entry.prompt),
        response: clean(mode, entry.response),
      });
    },
    flush,
    /** The organisation's rows, newest first. */
    list(options: { orgId: string; before?: string | undefined; limit: number }): PromptLogRow[] {
      flush();
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
    close() {
      flush();
      clearInterval(timer);
    },
  };
}

export type PromptLog = ReturnType<typeof createPromptLog>;
