import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgresStore } from '../../store/postgres/postgres-store';
import { openSqliteStore } from '../../store/sqlite/sqlite-store';
import type { Store } from '../../store/store';

/** Where `axon eval retrieval` indexes: SQLite (in-memory indexes, or FTS5 and sqlite-vec), or PostgreSQL. */
export type EvaluationEngine = 'sqlite' | 'sqlite-fts' | 'postgres';

export interface EvaluationStore {
  store: Store;
  /** What searched, for the report (e.g. `postgres 15.14, pgvector: no`). */
  description: string;
  /** Closes the store and removes what it made. */
  close(): Promise<void>;
}

/**
 * A temporary store for an evaluation: a SQLite file in a temporary folder, or a new database on the
 * PostgreSQL server of `databaseUrl` (made with CREATE DATABASE, dropped afterwards).
 */
export async function openEvaluationStore(
  engine: EvaluationEngine,
  options: { databaseUrl?: string | undefined } = {},
): Promise<EvaluationStore> {
  if (engine !== 'postgres') {
    const dir = mkdtempSync(join(tmpdir(), 'axon-eval-'));
    const store = openSqliteStore({ path: join(dir, 'eval.db'), memoryIndex: engine === 'sqlite' });
    return {
      store,
      description: engine === 'sqlite' ? 'sqlite (in-memory indexes)' : 'sqlite (FTS5 and sqlite-vec)',
      async close() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (!options.databaseUrl) throw new Error('--store postgres needs --database-url postgres://… (or AXON_DATABASE_URL)');
  const name = `axon_eval_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: options.databaseUrl, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(options.databaseUrl);
  url.pathname = `/${name}`;
  try {
    const store = await openPostgresStore({ url: url.toString(), poolSize: 4 });
    const version = (await store.pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?';
    const vector = (await store.pool.query<{ v: string }>("SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'")).rows[0]?.v;
    return {
      store,
      description: `postgres ${version}, pgvector: ${vector ?? 'no (full-text only)'}`,
      async close() {
        await store.close();
        await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      },
    };
  } catch (error) {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    throw error;
  }
}
