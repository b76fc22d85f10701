import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { afterAll, describe, expect, it } from 'vitest';
import { describeModelRegistryContract } from '../model-registry-contract';
import { SQLITE_MIGRATIONS } from './migrations';
import { migrateSqlite, openSqliteStore } from './sqlite-store';

const dir = mkdtempSync(join(tmpdir(), 'axon-model-registry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeModelRegistryContract('sqlite', async ({ now }) => {
  const store = openSqliteStore({ path: join(dir, 'axon.db'), now });
  return { store, close: () => store.close() };
});

describe('served responses kept before their source was', () => {
  it('are the web chat’s when a message of their id exists, a program’s otherwise', async () => {
    const path = join(dir, 'before-source.db');
    const db = new Database(path);
    sqliteVec.load(db);
    migrateSqlite(
      db,
      SQLITE_MIGRATIONS.filter((m) => m.version < 25),
    );
    const at = new Date().toISOString();
    db.exec(`
      INSERT INTO users (id, email, role, org_id, created_at) VALUES ('u1', 'u1@example.com', 'member', 'org_default', '${at}');
      INSERT INTO conversations (id, user_id, title, created_at, updated_at) VALUES ('c1', 'u1', 'Bonds', '${at}', '${at}');
      INSERT INTO messages (id, conversation_id, role, content, status, created_at) VALUES ('msg_web', 'c1', 'assistant', 'a', 'complete', '${at}');
      INSERT INTO model_served_responses (response_id, org_id, user_id, alias, version, revision, arm, created_at) VALUES
        ('msg_web', 'org_default', 'u1', 'chat', 1, 1, 'v1', '${at}'),
        ('chatcmpl-1', 'org_default', 'u1', 'chat', 1, 1, 'v1', '${at}');
    `);
    db.close();

    const store = openSqliteStore({ path });
    try {
      expect(store.migrated).toContain(25);
      expect((await store.modelRegistry.servedBy('msg_web'))?.source).toBe('web');
      expect((await store.modelRegistry.servedBy('chatcmpl-1'))?.source).toBe('api');
    } finally {
      store.close();
    }
  });
});
