import { afterAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/postgres';
import { describeShareStoreContract } from '../share-store-contract';
import { migratePostgres } from './migrate';
import { PG_MIGRATIONS } from './migrations';
import { createPgPool } from './pg-pool';
import { createPostgresAccountRepositories } from './postgres-account-store';
import { createPostgresConversationRepository } from './postgres-conversation-store';
import { createPostgresOrgRepositories } from './postgres-org-store';
import { createPostgresShareRepository } from './postgres-share-store';
import { SHARE_MIGRATIONS } from './share-migrations';

const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
});

describeShareStoreContract('postgres', async ({ now }) => {
  const database = await createTestDatabase('axon_shares');
  databases.push(database);
  const pool = createPgPool({ url: database.url, max: 4 });
  // The schema the links point at (deleting an account touches collections too), then the links' own
  // table unless PG_MIGRATIONS holds it by now.
  const others = PG_MIGRATIONS.filter((m) => !SHARE_MIGRATIONS.some((s) => s.version === m.version));
  await migratePostgres(pool, [...others, ...SHARE_MIGRATIONS]);
  const clock = { now };
  const { users } = createPostgresAccountRepositories(pool, clock);
  return {
    store: {
      users,
      organizations: createPostgresOrgRepositories(pool, clock).organizations,
      conversations: createPostgresConversationRepository(pool, clock),
      shares: createPostgresShareRepository(pool, clock),
    },
    close: () => pool.end(),
  };
});
