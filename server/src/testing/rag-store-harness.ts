import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { createPostgresRagRepositories, type PostgresRagOptions } from '../store/postgres/postgres-rag-store';
import type { RagStoreUnderTest } from '../store/rag-store-contract';
import { openSqliteStore } from '../store/sqlite/sqlite-store';
import { HOME_ORG_ID } from '../store/store';

/** A clock that tests move by hand. */
function manualClock() {
  let at = Date.parse('2030-01-01T00:00:00.000Z');
  return {
    now: () => new Date(at),
    advance(ms: number) {
      at += ms;
    },
  };
}

/** The SQLite store in a fresh file, for the rag contract suite. */
export async function openSqliteRagUnderTest(options: { memoryIndex?: boolean } = {}): Promise<RagStoreUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'axon-rag-contract-'));
  const clock = manualClock();
  const store = openSqliteStore({ path: join(dir, 'axon.db'), now: clock.now, ...options });
  const orgs = new Map<string, string>();
  return {
    collections: store.collections,
    documents: store.documents,
    searchIndex: store.searchIndex,
    ingestJobs: store.ingestJobs,
    vectors: true,
    async addUser(org) {
      let orgId = HOME_ORG_ID;
      if (org) {
        orgId = orgs.get(org) ?? (await store.organizations.create({ slug: org, name: org, limits: {}, promptLogMode: null })).id;
        orgs.set(org, orgId);
      }
      return (await store.users.create({ email: `${randomUUID()}@example.com`, passwordHash: null, role: 'member', orgId })).id;
    },
    advance: clock.advance,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The PostgreSQL repositories on a migrated database, for the rag contract suite. Accounts and
 * organisations are written straight into their tables (they belong to another room).
 */
export function openPostgresRagUnderTest(
  pool: pg.Pool,
  options: Omit<PostgresRagOptions, 'now'> & { close?: () => Promise<void> },
): RagStoreUnderTest & ReturnType<typeof createPostgresRagRepositories> {
  const clock = manualClock();
  const repositories = createPostgresRagRepositories(pool, { ...options, now: clock.now });
  return {
    ...repositories,
    async addUser(org) {
      const orgId = org ? `org_${org}` : HOME_ORG_ID;
      const at = clock.now().toISOString();
      if (org)
        await pool.query('INSERT INTO organizations (id, slug, name, created_at) VALUES ($1, $2, $2, $3) ON CONFLICT (id) DO NOTHING', [
          orgId,
          org,
          at,
        ]);
      const id = randomUUID();
      await pool.query("INSERT INTO users (id, email, role, org_id, created_at) VALUES ($1, $2, 'member', $3, $4)", [
        id,
        `${id}@example.com`,
        orgId,
        at,
      ]);
      return id;
    },
    advance: clock.advance,
    async close() {
      await options.close?.();
    },
  };
}
