import type Database from 'better-sqlite3';

/**
 * Rows written in batches, one transaction per `intervalMs` at most: a commit per request would
 * cost more than the rest of a request's bookkeeping together. `flush` writes what waits now.
 */
export function createSqliteBatchWriter(db: Database.Database, insertSql: string, intervalMs = 50) {
  const insert = db.prepare(insertSql);
  const write = db.transaction((rows: Array<Record<string, unknown>>) => {
    for (const row of rows) insert.run(row);
  });
  let pending: Array<Record<string, unknown>> = [];
  let scheduled: NodeJS.Timeout | undefined;
  const flush = () => {
    if (scheduled) clearTimeout(scheduled);
    scheduled = undefined;
    const rows = pending;
    pending = [];
    if (rows.length > 0) write(rows);
  };
  return {
    add(row: Record<string, unknown>) {
      pending.push(row);
      scheduled ??= setTimeout(flush, intervalMs);
    },
    flush,
  };
}
