import { resolve } from 'node:path';
import type { Config } from '../config/config-schema';
import { openPostgresStore, type PostgresStoreOptions } from './postgres/postgres-store';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store';
import type { Store } from './store';

export interface OpenStoreOptions {
  now?: () => Date;
  /** Settings only the PostgreSQL store has. */
  postgres?: Omit<PostgresStoreOptions, 'url' | 'poolSize' | 'now'>;
  /** Settings only the SQLite store has. */
  sqlite?: Omit<SqliteStoreOptions, 'path' | 'now'>;
}

export type OpenedStore = Store & {
  engine: 'sqlite' | 'postgres';
  /** Whether vectors can be searched (SQLite: sqlite-vec, always; PostgreSQL: with pgvector). */
  vectors: boolean;
  /** What opening it migrated: versions applied now, optional ones left out. */
  migration: { applied: number[]; skipped: string[] };
};

/**
 * The store the configuration asks for: PostgreSQL when `databaseUrl` is set (every replica shares
 * it), else the SQLite file `<dataDir>/axon.db`. Either is migrated when this resolves.
 */
export async function openStore(
  config: Pick<Config, 'dataDir' | 'databaseUrl' | 'databasePoolSize'>,
  { now, postgres = {}, sqlite = {} }: OpenStoreOptions = {},
): Promise<OpenedStore> {
  const clock = now ? { now } : {};
  if (config.databaseUrl) {
    const store = await openPostgresStore({ ...postgres, ...clock, url: config.databaseUrl, poolSize: config.databasePoolSize });
    return Object.assign(store, {
      engine: 'postgres' as const,
      migration: { applied: store.migrated.applied, skipped: store.migrated.skipped.map((s) => s.name) },
    });
  }
  const store = openSqliteStore({ ...sqlite, ...clock, path: resolve(config.dataDir, 'axon.db') });
  return Object.assign(store, { engine: 'sqlite' as const, vectors: true, migration: { applied: store.migrated, skipped: [] } });
}
