import type pg from 'pg';
import { PG_MIGRATIONS } from './migrations';
import type { PgMigration } from './pg-migration';

/** The advisory lock key under which migrations run, so that replicas starting at once migrate once. */
const MIGRATION_LOCK = 0x6178_6f6e; // "axon"

export interface MigrationResult {
  /** Versions this call applied (empty when another replica had applied them). */
  applied: number[];
  /** Optional migrations that failed and were left out, with why. */
  skipped: { version: number; name: string; reason: string }[];
}

/**
 * Applies the migrations not applied yet. Holds a session advisory lock for the whole run: a second
 * replica waits, then finds everything applied.
 */
export async function migratePostgres(pool: pg.Pool, migrations: PgMigration[] = PG_MIGRATIONS): Promise<MigrationResult> {
  const client = await pool.connect();
  const result: MigrationResult = { applied: [], skipped: [] };
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), skipped TEXT)',
    );
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        await client.query('COMMIT');
        result.applied.push(migration.version);
      } catch (error) {
        await client.query('ROLLBACK');
        if (!migration.optional) throw error;
        result.skipped.push({ version: migration.version, name: migration.name, reason: (error as Error).message });
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return result;
}
