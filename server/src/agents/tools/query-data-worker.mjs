// The thread that runs `query_data` queries: it opens each dataset read-only and reads at most the
// row cap. Its parent terminates it when a query runs past the time cap or the call is stopped,
// which is the only way to interrupt a running better-sqlite3 statement.
import { parentPort } from 'node:worker_threads';
import Database from 'better-sqlite3';

const open = new Map();

function database(file) {
  let db = open.get(file);
  if (!db) {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('query_only = ON');
    open.set(file, db);
  }
  return db;
}

const cell = (value, maxChars) => {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (typeof value === 'string' && value.length > maxChars) return `${value.slice(0, maxChars)}…`;
  return value;
};

parentPort.on('message', ({ id, file, sql, maxRows, maxCellChars }) => {
  try {
    const statement = database(file).prepare(sql);
    if (!statement.reader) throw new Error('The statement returns no rows.');
    if (!statement.readonly) throw new Error('The statement would write.');
    const columns = statement.columns().map((c) => c.name);
    const rows = [];
    let truncated = false;
    for (const row of statement.raw(true).iterate()) {
      if (rows.length === maxRows) {
        truncated = true;
        break;
      }
      rows.push(row.map((v) => cell(v, maxCellChars)));
    }
    parentPort.postMessage({ id, columns, rows, truncated });
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
