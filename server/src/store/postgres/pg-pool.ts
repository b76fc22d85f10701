import pg from 'pg';

export interface PgPoolOptions {
  url: string;
  /** Connections kept open at most (each replica has its own pool). */
  max?: number;
}

// COUNT(*) and SUM() of bigints arrive as strings by default; every count Axon reads fits a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number(value));

/** A connection pool with limits fit for an API replica: bounded waits, idle connections closed. */
export function createPgPool({ url, max = 10 }: PgPoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    // A query stuck behind a lock must not hold a request forever.
    statement_timeout: 30_000,
    application_name: 'axon',
  });
  // An idle client that loses its connection emits here; without a listener the process would crash.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `work` in one transaction on one connection of the pool. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
