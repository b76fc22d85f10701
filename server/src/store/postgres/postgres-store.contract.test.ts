import { afterAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../observability/audit-chain';
import { createTestDatabase, type TestDatabase } from '../../testing/postgres';
import { describeStoreContract } from '../store-contract';
import { PG_MIGRATIONS } from './migrations';
import { openPostgresStore } from './postgres-store';

const databases: TestDatabase[] = [];
const newDatabase = async () => {
  const database = await createTestDatabase('axon_store');
  databases.push(database);
  return database;
};
afterAll(async () => {
  for (const database of databases) await database.drop();
});

describeStoreContract('postgres', async ({ now }) => openPostgresStore({ url: (await newDatabase()).url, poolSize: 4, now }));

describe('the postgres store on a database that several replicas share', () => {
  it('is migrated once when two replicas open it at the same time, and both work', async () => {
    const { url } = await newDatabase();
    const [a, b] = await Promise.all([openPostgresStore({ url, poolSize: 2 }), openPostgresStore({ url, poolSize: 2 })]);
    try {
      // Optional migrations (pgvector) that this server cannot apply are skipped by each, and recorded by neither.
      const skipped = new Set(a.migrated.skipped.map((m) => m.version));
      expect(b.migrated.skipped.map((m) => m.version)).toEqual([...skipped]);
      expect(PG_MIGRATIONS.filter((m) => skipped.has(m.version)).every((m) => m.optional)).toBe(true);
      const versions = PG_MIGRATIONS.map((m) => m.version)
        .filter((v) => !skipped.has(v))
        .sort((x, y) => x - y);
      expect(versions.filter((v) => v < 100).length).toBeGreaterThanOrEqual(5);
      expect([...a.migrated.applied, ...b.migrated.applied].sort((x, y) => x - y)).toEqual(versions);
      expect([a.migrated.applied.length, b.migrated.applied.length].sort((x, y) => x - y)).toEqual([0, versions.length]);
      const { rows } = await a.pool.query<{ version: number; times: number }>(
        'SELECT version, count(*) AS times FROM schema_migrations GROUP BY version ORDER BY version',
      );
      expect(rows).toEqual(versions.map((version) => ({ version, times: 1 })));

      const user = await a.users.create({ email: 'shared@example.com', passwordHash: null, role: 'member', orgId: 'org_default' });
      expect((await b.users.findByEmail('shared@example.com'))?.id).toBe(user.id);
      await expect(
        b.users.create({ email: 'shared@example.com', passwordHash: null, role: 'member', orgId: 'org_default' }),
      ).rejects.toMatchObject({
        code: 'conflict',
      });
      await Promise.all([a.ping(), b.ping()]);

      // A replica started later finds nothing left to do.
      const later = await openPostgresStore({ url, poolSize: 2 });
      expect(later.migrated.applied).toEqual([]);
      await later.close();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps answering its prepared reads after a newer replica migrates columns into their tables', async () => {
    const { url } = await newDatabase();
    // One connection: the statements it prepared are the ones asked again after the change.
    const store = await openPostgresStore({ url, poolSize: 1 });
    try {
      const user = await store.users.create({ email: 'rolling@example.com', passwordHash: null, role: 'member', orgId: 'org_default' });
      const expiresAt = new Date(Date.now() + 86_400_000);
      await store.sessions.create({ tokenHash: 'rolling-session', userId: user.id, csrfToken: 'csrf', expiresAt });
      const conversation = await store.conversations.create({ userId: user.id, title: 'Rolling', model: 'sim/sim-1' });
      await store.messages.append({ conversationId: conversation.id, role: 'user', content: 'hello', status: 'complete', model: null });
      const reads = async () => ({
        session: (await store.sessions.find('rolling-session', new Date()))?.user.id,
        thread: (await store.conversations.getWithMessages(conversation.id, user.id))?.messages.map((m) => m.content),
        messages: (await store.messages.listByConversation(conversation.id)).map((m) => m.content),
        preferences: await store.preferences.get(user.id),
        conversation: (await store.conversations.get(conversation.id, user.id))?.title,
      });
      let turns = 0;
      const turn = async () => {
        const id = `rolling-${++turns}`;
        const written = await store.messages.appendTurn({
          conversationId: conversation.id,
          messages: [{ id, role: 'user', content: `turn ${turns}`, status: 'complete', model: null, parentId: null }],
        });
        return written.map((m) => [m.id, m.content]);
      };
      expect(await turn()).toEqual([['rolling-1', 'turn 1']]);
      const before = await reads();
      expect(before).toEqual({
        session: user.id,
        thread: ['hello', 'turn 1'],
        messages: ['hello', 'turn 1'],
        preferences: { instructions: '' },
        conversation: 'Rolling',
      });
      for (const table of ['users', 'sessions', 'conversations', 'messages', 'user_preferences'])
        await store.pool.query(`ALTER TABLE ${table} ADD COLUMN added_later text`);
      expect(await reads()).toEqual(before);
      expect(await turn()).toEqual([['rolling-2', 'turn 2']]);
    } finally {
      await store.close();
    }
  });

  it('keeps one audit chain when replicas append at the same time', async () => {
    const { url } = await newDatabase();
    const replicas = await Promise.all([openPostgresStore({ url, poolSize: 4 }), openPostgresStore({ url, poolSize: 4 })]);
    try {
      await Promise.all(
        replicas.flatMap((replica, r) =>
          Array.from({ length: 40 }, (_, i) => replica.audit.append({ action: 'auth.login', actorEmail: `r${r}-${i}@example.com` })),
        ),
      );
      const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
      expect(await a.audit.lastIssued()).toBe(80);
      expect(await verifyAuditChain(b.audit.all(), await b.audit.lastIssued())).toEqual({ ok: true, events: 80 });
      const emails = new Set<string | null>();
      for await (const event of a.audit.all()) emails.add(event.actorEmail);
      expect(emails.size).toBe(80);

      // An event deleted from the end, or edited, is found.
      await a.pool.query('DELETE FROM audit_events WHERE seq = 80');
      expect(await verifyAuditChain(a.audit.all(), await a.audit.lastIssued())).toMatchObject({ ok: false, seq: 80 });
      await a.pool.query("UPDATE audit_events SET actor_email = 'someone@example.com' WHERE seq = 40");
      expect(await verifyAuditChain(a.audit.all(), await a.audit.lastIssued())).toMatchObject({
        ok: false,
        seq: 40,
        reason: expect.stringMatching(/edited/),
      });
    } finally {
      await Promise.all(replicas.map((replica) => replica.close()));
    }
  });
});
