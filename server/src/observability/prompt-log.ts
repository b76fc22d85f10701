import { randomUUID } from 'node:crypto';
import type { PromptLogRow } from '@axon/contracts';
import type { PromptLogRedaction, PromptLogRepository } from '../store';

export type PromptLogMode = 'off' | 'redacted' | 'full';

/** What a `/v1` call asked and got, before the logging mode keeps it. */
export type PromptLogEntry = Omit<PromptLogRow, 'id' | 'at' | 'mode'>;

/**
 * What was asked of the models through the API and what they answered: nothing (`off`), with
 * personal data and secrets replaced by placeholders before the row is written (`redacted`, the
 * default), or as sent (`full`). Rows older than the retention period are deleted every hour.
 *
 * Rows are redacted and written in batches by the store's writer (with SQLite, on a thread of its
 * own); raw text is only ever in memory, on its way there.
 */
export function createPromptLog(
  log: PromptLogRepository,
  options: {
    mode: PromptLogMode;
    retentionDays: number;
    /** What is redacted in `redacted` mode. */
    redaction: PromptLogRedaction;
    /** Told when deleting old rows fails. */
    onError?: (error: unknown) => void;
  },
) {
  const writer = log.openWriter(options.redaction);
  const onError = options.onError ?? ((error: unknown) => console.error('pruning the prompt log failed', error));
  const prune = () => log.deleteBefore(new Date(Date.now() - options.retentionDays * 86_400_000).toISOString());
  void prune().catch(onError);
  const timer = setInterval(() => void prune().catch(onError), 3_600_000).unref();
  return {
    /** The server's mode; an organisation may set its own. */
    mode: options.mode,
    retentionDays: options.retentionDays,
    /** Keeps one exchange in `mode` (the organisation's, else the server's). */
    record(entry: PromptLogEntry, mode: PromptLogMode = options.mode) {
      if (mode === 'off') return;
      writer.add({ ...entry, id: randomUUID(), at: new Date().toISOString(), mode });
    },
    /** Resolves when every row recorded so far is in the table. */
    flush: () => writer.flush(),
    /** The organisation's rows, newest first. */
    async list(query: { orgId: string; before?: string | undefined; limit: number }): Promise<PromptLogRow[]> {
      await writer.flush();
      return log.list(query);
    },
    /** Deletes the rows older than the retention period; returns how many. */
    prune,
    async close() {
      clearInterval(timer);
      await writer.close();
    },
  };
}

export type PromptLog = ReturnType<typeof createPromptLog>;
