import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/postgres';
import { openStore } from './open-store';

const dataDir = mkdtempSync(join(tmpdir(), 'axon-open-store-'));
let database: TestDatabase | undefined;
afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  await database?.drop();
});

describe('openStore', () => {
  it('opens the SQLite file in the data directory when no database URL is set', async () => {
    const store = await openStore({ dataDir, databaseUrl: undefined, databasePoolSize: 10 });
    try {
      expect(store.engine).toBe('sqlite');
      expect(existsSync(join(dataDir, 'axon.db'))).toBe(true);
      await store.ping();
    } finally {
      await store.close();
    }
  });

  it('opens PostgreSQL, migrated, when a database URL is set', async () => {
    database = await createTestDatabase('axon_open');
    const store = await openStore({ dataDir: join(dataDir, 'unused'), databaseUrl: database.url, databasePoolSize: 2 });
    try {
      expect(store.engine).toBe('postgres');
      expect(existsSync(join(dataDir, 'unused'))).toBe(false);
      expect((await store.organizations.list()).map((o) => o.id)).toEqual(['org_default']);
      expect(await store.users.count()).toBe(0);
    } finally {
      await store.close();
    }
  });
});
