import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/postgres';
import { describeModelRegistryContract } from '../model-registry-contract';
import { migratePostgres } from './migrate';
import { PG_MIGRATIONS } from './migrations';
import { MODEL_REGISTRY_MIGRATIONS } from './model-registry-migrations';
import { createPgPool } from './pg-pool';
import { createPostgresModelRegistryRepository } from './postgres-model-registry-store';

const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
});

describeModelRegistryContract('postgres', async ({ now }) => {
  const database = await createTestDatabase('axon_model_registry');
  databases.push(database);
  // Four connections, so that versions added at once really race.
  const pool = createPgPool({ url: database.url, max: 4 });
  await migratePostgres(pool, MODEL_REGISTRY_MIGRATIONS);
  return { store: { modelRegistry: createPostgresModelRegistryRepository(pool, { now }) }, close: () => pool.end() };
});

describe('served responses kept before their source was', () => {
  it('are the web chat’s when a message of their id exists, a program’s otherwise', async () => {
    const database = await createTestDatabase('axon_served_source');
    databases.push(database);
    const pool = createPgPool({ url: database.url, max: 2 });
    try {
      await migratePostgres(
        pool,
        PG_MIGRATIONS.filter((m) => m.version < 301),
      );
      await pool.query(`
        INSERT INTO users (id, email, role, org_id, created_at) VALUES ('u1', 'u1@example.com', 'member', 'org_default', now());
        INSERT INTO conversations (id, user_id, title, created_at, updated_at) VALUES ('c1', 'u1', 'Bonds', now(), now());
        INSERT INTO messages (id, conversation_id, role, content, status, created_at) VALUES ('msg_web', 'c1', 'assistant', 'a', 'complete', now());
        INSERT INTO model_served_responses (response_id, org_id, user_id, alias, version, revision, arm, created_at) VALUES
          ('msg_web', 'org_default', 'u1', 'chat', 1, 1, 'v1', now()),
          ('chatcmpl-1', 'org_default', 'u1', 'chat', 1, 1, 'v1', now());
      `);
      expect((await migratePostgres(pool)).applied).toContain(301);
      const registry = createPostgresModelRegistryRepository(pool, { now: () => new Date() });
      expect((await registry.servedBy('msg_web'))?.source).toBe('web');
      expect((await registry.servedBy('chatcmpl-1'))?.source).toBe('api');
      // New rows say their source: there is no default to fall back on.
      await expect(
        pool.query(
          `INSERT INTO model_served_responses (response_id, org_id, user_id, alias, version, revision, arm, created_at)
           VALUES ('resp_2', 'org_default', 'u1', 'chat', 1, 1, 'v1', now())`,
        ),
      ).rejects.toThrow(/null value in column "source"/);
    } finally {
      await pool.end();
    }
  });
});
