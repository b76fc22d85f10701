import { afterAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/postgres';
import { describeModelRegistryContract } from '../model-registry-contract';
import { migratePostgres } from './migrate';
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
