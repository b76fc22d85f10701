import pg from 'pg';
import { expect, it } from 'vitest';
import { createTestDatabase, TEST_POSTGRES_URL } from '../../testing/postgres';
import { startTestServer } from '../../testing/test-server';

// Axon starts on a PostgreSQL with or without pgvector (Debian 12, on the test machines, packages
// none): without it, it says once at start that documents are searched by full text only, and serves.
it('starts on the test PostgreSQL, warning once at start when it has no pgvector that documents are searched by full text only', async () => {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  const hasVector = (await client.query("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).rowCount === 1;
  await client.end();
  const database = await createTestDatabase('axon_no_vector');
  try {
    const t = await startTestServer({ overrides: { databaseUrl: database.url } });
    try {
      const lines = t.logs.map((line) => JSON.parse(line) as { level: number; msg: string });
      const warnings = lines.filter((l) => l.level === 40 && l.msg.includes('no pgvector extension'));
      expect(warnings).toHaveLength(hasVector ? 0 : 1);
      if (!hasVector) expect(warnings[0]?.msg).toContain('searched by full text only');
      expect(lines.find((l) => l.msg === 'database migrated')).toMatchObject({ engine: 'postgres' });
      expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    } finally {
      await t.close();
    }
  } finally {
    await database.drop();
  }
});
