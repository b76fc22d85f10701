import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { TEST_POSTGRES_URL } from '../../testing/postgres';
import { openEvaluationStore } from './evaluation-store';

const databases = async () => {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return (await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'axon_eval_%'")).rows.map(
      (r) => r.datname,
    );
  } finally {
    await client.end();
  }
};

describe('the evaluation store', () => {
  it('indexes into a temporary PostgreSQL database, dropped afterwards', async () => {
    const before = await databases();
    const evaluation = await openEvaluationStore('postgres', { databaseUrl: TEST_POSTGRES_URL });
    expect(evaluation.description).toMatch(/^postgres \d+/);
    const made = (await databases()).filter((d) => !before.includes(d));
    expect(made).toHaveLength(1);
    const owner = await evaluation.store.users.create({ email: 'eval@localhost', passwordHash: null, role: 'admin', orgId: 'org_default' });
    expect((await evaluation.store.collections.create({ ownerId: owner.id, name: 'eval' })).ownerId).toBe(owner.id);
    await evaluation.close();
    expect(await databases()).not.toContain(made[0]);
  });

  it('says what to pass when PostgreSQL is asked for without a server', async () => {
    await expect(openEvaluationStore('postgres', {})).rejects.toThrow(/--database-url/);
  });

  it('opens SQLite with the in-memory indexes or with FTS5', async () => {
    for (const [engine, description] of [
      ['sqlite', 'sqlite (in-memory indexes)'],
      ['sqlite-fts', 'sqlite (FTS5 and sqlite-vec)'],
    ] as const) {
      const evaluation = await openEvaluationStore(engine);
      expect(evaluation.description).toBe(description);
      await evaluation.close();
    }
  });
});
