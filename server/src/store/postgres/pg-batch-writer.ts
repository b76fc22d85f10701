import type { Sql } from './pg-values';

export interface PgBatchWriterOptions<T> {
  table: string;
  /** Each column and how a queued row gives its value. */
  columns: Array<readonly [column: string, value: (row: T) => unknown]>;
  /** How long a row waits for others before its batch is written. */
  intervalMs?: number;
  /** Rows per statement at most (PostgreSQL takes up to 65,535 parameters in one). */
  rowsPerStatement?: number;
  /** Rows kept for another try while the database fails; the oldest beyond this are dropped. */
  maxQueued?: number;
  /** Told when a batch written on the timer fails (the rows stay queued) or rows are dropped. */
  onError?: (error: unknown) => void;
}

/**
 * Rows written in batches: one multi-row `INSERT` per `intervalMs` at most (more for a large batch),
 * not a round trip per row. Batches are written one after the other, in the order rows were added.
 * A batch that fails goes back to the head of the queue for the next flush.
 */
export function createPgBatchWriter<T>(sql: Sql, options: PgBatchWriterOptions<T>) {
  const { table, columns, intervalMs = 50, rowsPerStatement = 500, maxQueued = 50_000 } = options;
  const onError = options.onError ?? ((error: unknown) => console.error(`writing to ${table} failed`, error));
  const names = columns.map(([column]) => column).join(', ');
  let pending: T[] = [];
  let scheduled: NodeJS.Timeout | undefined;
  let written: Promise<void> = Promise.resolve();

  const insert = async (rows: T[]) => {
    const values: unknown[] = [];
    const tuples = rows.map((row) => {
      const placeholders = columns.map(([, value]) => {
        values.push(value(row));
        return `$${values.length}`;
      });
      return `(${placeholders.join(', ')})`;
    });
    await sql.query(`INSERT INTO ${table} (${names}) VALUES ${tuples.join(', ')}`, values);
  };

  const writeQueued = async () => {
    while (pending.length > 0) {
      const rows = pending.slice(0, rowsPerStatement);
      pending = pending.slice(rows.length);
      try {
        await insert(rows);
      } catch (error) {
        pending = [...rows, ...pending];
        if (pending.length > maxQueued) {
          onError(new Error(`dropped ${pending.length - maxQueued} rows for ${table} that could not be written`));
          pending = pending.slice(pending.length - maxQueued);
        }
        throw error;
      }
    }
  };

  const flush = (): Promise<void> => {
    if (scheduled) clearTimeout(scheduled);
    scheduled = undefined;
    const run = written.then(writeQueued);
    written = run.catch(() => undefined);
    return run;
  };

  const flushLater = (delayMs: number) => {
    scheduled ??= setTimeout(() => {
      flush().catch((error) => {
        onError(error);
        // Tried again a while later (without holding the process up for it), unless something flushes first.
        if (pending.length > 0) flushLater(intervalMs * 20);
        scheduled?.unref();
      });
    }, delayMs);
  };

  return {
    add(row: T) {
      pending.push(row);
      flushLater(intervalMs);
    },
    /** Resolves when every row added so far is written; rejects when a batch failed (its rows stay queued). */
    flush,
    /** Rows waiting to be written. */
    get queued() {
      return pending.length;
    },
  };
}
