import { expect, it } from 'vitest';
import { createTestDatabase } from '../../testing/postgres';
import { startTestServer } from '../../testing/test-server';

// The PostgreSQL on the test machines has no pgvector (Debian 12 packages none): Axon starts on it,
// says at start that search is by full text only, and serves.
it('starts on a PostgreSQL without pgvector, warning once that documents are searched by full text only', async () => {
  const database = await createTestDatabase('axon_no_vector');
  try {
    const t = await startTestServer({ overrides: { databaseUrl: database.url } });
    try {
      const lines = t.logs.map((line) => JSON.parse(line) as { level: number; msg: string });
      const warnings = lines.filter((l) => l.level === 40 && l.msg.includes('no pgvector extension'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.msg).toContain('searched by full text only');
      expect(lines.find((l) => l.msg === 'database migrated')).toMatchObject({ engine: 'postgres' });
      expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    } finally {
      await t.close();
    }
  } finally {
    await database.drop();
  }
});
