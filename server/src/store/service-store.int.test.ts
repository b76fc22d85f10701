import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/postgres';
import { migratePostgres } from './postgres/migrate';
import { createPgPool } from './postgres/pg-pool';
import { createPostgresServiceRepositories, createPostgresUsageRepository } from './postgres/postgres-service-store';
import { describeServiceStoreContract } from './service-store-contract';
import { openSqliteStore } from './sqlite/sqlite-store';

function sqliteSubject(file: boolean) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-service-store-'));
    let now = new Date();
    const store = openSqliteStore({ path: file ? join(dir, 'axon.db') : ':memory:', now: () => now });
    return {
      prompts: store.prompts,
      usage: store.usage,
      promptLog: store.promptLog,
      setNow: (at: Date) => {
        now = at;
      },
      createOrganization: async (slug: string) =>
        (await store.organizations.create({ slug, name: slug, limits: {}, promptLogMode: null })).id,
      execute: async (sql: string) => {
        store.db.exec(sql);
      },
      async close() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

// A file: the prompt log is written by a thread of its own; in memory, on the serving thread.
describeServiceStoreContract('sqlite file', sqliteSubject(true));
describeServiceStoreContract('sqlite in memory', sqliteSubject(false));

describeServiceStoreContract('postgres', async () => {
  const database = await createTestDatabase();
  const pool = createPgPool({ url: database.url, max: 4 });
  await migratePostgres(pool);
  let now = new Date();
  const repositories = createPostgresServiceRepositories(pool, { now: () => now });
  return {
    ...repositories,
    setNow: (at: Date) => {
      now = at;
    },
    async createOrganization(slug: string) {
      const id = `org_${slug}`;
      await pool.query('INSERT INTO organizations (id, slug, name, created_at) VALUES ($1, $2, $2, now())', [id, slug]);
      return id;
    },
    execute: async (sql: string) => {
      await pool.query(sql);
    },
    async close() {
      await repositories.usage.flush();
      await pool.end();
      await database.drop();
    },
  };
});

const usageRow = (orgId: string, inputTokens = 1) => ({
  at: '2030-01-01T00:00:00.000Z',
  orgId,
  userId: 'u_1',
  userEmail: 'one@example.com',
  apiKeyId: null,
  route: '/v1/chat/completions',
  model: 'sim/sim-1',
  status: 'complete',
  inputTokens,
  outputTokens: 1,
  costUsd: 0.01,
  latencyMs: 10,
  ttftMs: null,
});
const everything = { from: '2000-01-01T00:00:00.000Z', to: '3000-01-01T00:00:00.000Z' };

describe('the SQLite store', () => {
  it('writes queued usage and prompt log rows when it closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-service-store-'));
    try {
      const path = join(dir, 'axon.db');
      const store = openSqliteStore({ path });
      const writer = store.promptLog.openWriter({});
      for (let i = 0; i < 10; i++) store.usage.append(usageRow('org_default', i));
      writer.add({
        id: 'row-1',
        at: '2030-01-01T00:00:00.000Z',
        orgId: 'org_default',
        mode: 'full',
        userId: null,
        apiKeyId: null,
        route: '/v1/chat/completions',
        model: 'sim/sim-1',
        prompt: 'p',
        response: 'r',
        status: 'complete',
        inputTokens: null,
        outputTokens: null,
      });
      await store.close();
      const reopened = openSqliteStore({ path });
      expect(await reopened.usage.events({ ...everything, orgId: null })).toHaveLength(10);
      expect((await reopened.promptLog.list({ orgId: 'org_default', limit: 10 })).map((r) => r.id)).toEqual(['row-1']);
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the PostgreSQL usage and prompt log writers', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    database = await createTestDatabase();
    pool = createPgPool({ url: database.url, max: 4 });
    await migratePostgres(pool);
  });
  afterAll(async () => {
    await pool.end();
    await database.drop();
  });
  /** Rows inserted by one statement (outside a transaction) share the transaction id that wrote them. */
  const transactionsThatWrote = async (table: string, orgId: string) =>
    Number((await pool.query(`SELECT count(DISTINCT xmin::text) AS n FROM ${table} WHERE org_id = $1`, [orgId])).rows[0].n);

  it('writes a flush of usage rows with one INSERT per 500 rows, not one per row', async () => {
    const usage = createPostgresUsageRepository(pool);
    for (let i = 0; i < 300; i++) usage.append(usageRow('org_batch', i));
    await usage.flush();
    expect(await transactionsThatWrote('usage_events', 'org_batch')).toBe(1);
    for (let i = 0; i < 1001; i++) usage.append(usageRow('org_big_batch', i));
    await usage.flush();
    expect(await transactionsThatWrote('usage_events', 'org_big_batch')).toBe(3);
    expect(await usage.events({ ...everything, orgId: 'org_big_batch' })).toHaveLength(1001);
  });

  it('writes the prompt log rows of a flush with a few INSERTs', async () => {
    const { promptLog } = createPostgresServiceRepositories(pool);
    const writer = promptLog.openWriter({});
    for (let i = 0; i < 250; i++)
      writer.add({
        id: `batch-${i}`,
        at: new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString(),
        orgId: 'org_log_batch',
        mode: 'redacted',
        userId: null,
        apiKeyId: null,
        route: '/v1/chat/completions',
        model: 'sim/sim-1',
        prompt: `mail person${i}@example.com`,
        response: 'ok',
        status: 'complete',
        inputTokens: 1,
        outputTokens: 1,
      });
    await writer.close();
    expect(await transactionsThatWrote('prompt_log', 'org_log_batch')).toBe(3);
    const rows = await promptLog.list({ orgId: 'org_log_batch', limit: 300 });
    expect(rows).toHaveLength(250);
    expect(rows.every((r) => r.prompt === 'mail <EMAIL_1>')).toBe(true);
  });

  it('keeps rows queued while the database refuses them, and writes them at the next flush', async () => {
    const errors: unknown[] = [];
    const usage = createPostgresUsageRepository(pool, { onError: (error) => errors.push(error) });
    await pool.query('ALTER TABLE usage_events RENAME TO usage_events_away');
    try {
      usage.append(usageRow('org_retry', 1));
      usage.append(usageRow('org_retry', 2));
      await expect(usage.flush()).rejects.toThrow(/usage_events/);
      usage.append(usageRow('org_retry', 3));
      // The timer's write fails too, and says so.
      await expect.poll(() => errors.length).toBeGreaterThan(0);
    } finally {
      await pool.query('ALTER TABLE usage_events_away RENAME TO usage_events');
    }
    await usage.flush();
    expect((await usage.events({ ...everything, orgId: 'org_retry' })).map((e) => e.inputTokens)).toEqual([1, 2, 3]);
  });

  it('drops the U+0000 that PostgreSQL text cannot hold from prompts and answers', async () => {
    const { promptLog } = createPostgresServiceRepositories(pool);
    const writer = promptLog.openWriter({});
    writer.add({
      id: 'nul-1',
      at: '2030-01-01T00:00:00.000Z',
      orgId: 'org_nul',
      mode: 'full',
      userId: null,
      apiKeyId: null,
      route: '/v1/chat/completions',
      model: 'sim/sim-1',
      prompt: 'a\u0000b',
      response: 'c\u0000d',
      status: 'complete',
      inputTokens: null,
      outputTokens: null,
    });
    await writer.flush();
    expect(await promptLog.list({ orgId: 'org_nul', limit: 1 })).toEqual([expect.objectContaining({ prompt: 'ab', response: 'cd' })]);
  });
});
