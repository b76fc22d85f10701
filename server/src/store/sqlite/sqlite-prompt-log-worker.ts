// The prompt log's writer thread: redacts rows (in `redacted` mode) and inserts them in batches, so
// that neither the scan for personal data nor the commit runs on the thread that serves requests.
import { parentPort, workerData } from 'node:worker_threads';
import type { PromptLogRow } from '@axon/contracts';
import Database from 'better-sqlite3';
import { createRedactor } from '../../redaction/redact';

export interface PromptLogWorkerData {
  dbPath: string;
  patterns: Array<{ name: string; pattern: string }>;
  /** Entity types to redact; all when not given. */
  types?: readonly string[] | undefined;
  /** Regions whose national phone formats are recognised; the default list when not given. */
  phoneRegions?: readonly string[] | undefined;
}

export type PromptLogMessage = { type: 'rows'; rows: PromptLogRow[] } | { type: 'flush'; id: number };

const { dbPath, patterns, types, phoneRegions } = workerData as PromptLogWorkerData;
const db = new Database(dbPath);
db.pragma('busy_timeout = 5000');
// As the serving connection: WAL, and no fsync per commit (a crash loses at most the last commits, never the file).
db.pragma('synchronous = NORMAL');
const redactor = createRedactor({ custom: patterns, ...(types ? { types } : {}), ...(phoneRegions ? { phoneRegions } : {}) });
const insert = db.prepare(
  `INSERT INTO prompt_log (id, at, org_id, user_id, api_key_id, route, model, mode, prompt, response, status, input_tokens, output_tokens)
   VALUES (:id, :at, :orgId, :userId, :apiKeyId, :route, :model, :mode, :prompt, :response, :status, :inputTokens, :outputTokens)`,
);
const write = db.transaction((rows: PromptLogRow[]) => {
  for (const row of rows) insert.run(row);
});

parentPort?.on('message', (message: PromptLogMessage) => {
  if (message.type === 'flush') return parentPort?.postMessage({ id: message.id });
  // Redacted before the transaction: the write lock (which the serving thread's own writes wait
  // for) is held only for the inserts.
  for (const row of message.rows) {
    if (row.mode !== 'redacted') continue;
    row.prompt = redactor.redact(row.prompt).text;
    row.response = redactor.redact(row.response).text;
  }
  write(message.rows);
});
