import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConfigSchema } from '@axon/contracts';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/postgres';
import type { AgentRepository, DatasetRepository, McpServerRepository, ToolApprovalRepository } from '../agent-store';
import { openSqliteStore } from '../sqlite/sqlite-store';
import { HOME_ORG_ID } from '../store';
import { migratePostgres } from './migrate';
import { createPgPool } from './pg-pool';
import { createPostgresAgentRepositories } from './postgres-agent-store';

interface AgentStoreUnderTest {
  agents: AgentRepository;
  mcpServers: McpServerRepository;
  toolApprovals: ToolApprovalRepository;
  datasets: DatasetRepository;
  /** A member of the first organisation; its id. */
  addUser(): Promise<string>;
  close(): Promise<void>;
}

const config = (instructions: string) => AgentConfigSchema.parse({ instructions, tools: [] });
const at = Date.parse('2030-01-01T00:00:00.000Z');
const now = () => new Date(at);

/** The same assertions for the SQLite and the PostgreSQL repositories of agents, MCP servers, approvals and datasets. */
function describeAgentStore(engine: string, open: () => Promise<AgentStoreUnderTest>) {
  describe(`agent store: ${engine}`, () => {
    let s: AgentStoreUnderTest;
    beforeAll(async () => {
      s = await open();
    }, 60_000);
    afterAll(async () => s?.close());

    it('keeps agents with immutable, numbered versions and an active one', async () => {
      const user = await s.addUser();
      const slug = `a-${randomUUID().slice(0, 8)}`;
      const agent = await s.agents.create({
        orgId: HOME_ORG_ID,
        slug,
        name: 'Helper',
        description: 'helps',
        config: config('v1'),
        note: 'first',
        createdBy: user,
      });
      expect(agent).toMatchObject({
        slug,
        modelId: `agent/${slug}`,
        name: 'Helper',
        activeVersion: 1,
        latestVersion: 1,
        config: { instructions: 'v1' },
      });
      await expect(
        s.agents.create({ orgId: HOME_ORG_ID, slug, name: 'x', description: '', config: config('x'), note: '', createdBy: null }),
      ).rejects.toMatchObject({
        code: 'conflict',
      });
      const drafted = await s.agents.addVersion(HOME_ORG_ID, slug, {
        config: config('v2'),
        note: 'draft',
        createdBy: user,
        activate: false,
      });
      expect(drafted).toMatchObject({ activeVersion: 1, latestVersion: 2, config: { instructions: 'v1' } });
      const live = await s.agents.addVersion(HOME_ORG_ID, agent.id, {
        config: config('v3'),
        note: 'live',
        createdBy: null,
        activate: true,
      });
      expect(live).toMatchObject({ activeVersion: 3, latestVersion: 3, config: { instructions: 'v3' } });
      expect((await s.agents.versions(HOME_ORG_ID, slug)).map((v) => [v.version, v.note, v.config.instructions, v.createdBy])).toEqual([
        [3, 'live', 'v3', null],
        [2, 'draft', 'v2', user],
        [1, 'first', 'v1', user],
      ]);
      expect(await s.agents.activate(HOME_ORG_ID, slug, 2)).toMatchObject({ activeVersion: 2, config: { instructions: 'v2' } });
      await expect(s.agents.activate(HOME_ORG_ID, slug, 9)).rejects.toMatchObject({ code: 'not_found' });
      expect(await s.agents.update(HOME_ORG_ID, slug, { name: 'Renamed' })).toMatchObject({ name: 'Renamed', description: 'helps' });
      expect(await s.agents.get('org_other', slug)).toBeUndefined();
      expect((await s.agents.list(HOME_ORG_ID)).map((a) => a.slug)).toContain(slug);
      expect(await s.agents.delete('org_other', slug)).toBe(false);
      expect(await s.agents.delete(HOME_ORG_ID, slug)).toBe(true);
      expect(await s.agents.get(HOME_ORG_ID, slug)).toBeUndefined();
      expect(await s.agents.versions(HOME_ORG_ID, slug)).toEqual([]);
    });

    it('records MCP servers with their secrets and the tools they list, approved by hash', async () => {
      const user = await s.addUser();
      const name = `srv-${randomUUID().slice(0, 8)}`;
      const server = await s.mcpServers.create({
        orgId: HOME_ORG_ID,
        name,
        transport: 'http',
        command: null,
        args: ['--b', '--a'],
        url: 'http://127.0.0.1:9/mcp',
        secrets: { Authorization: 'Bearer x' },
        createdBy: user,
      });
      expect(server).toMatchObject({ name, args: ['--b', '--a'], secrets: { Authorization: 'Bearer x' }, lastError: null });
      await expect(
        s.mcpServers.create({
          orgId: HOME_ORG_ID,
          name,
          transport: 'stdio',
          command: 'x',
          args: [],
          url: null,
          secrets: {},
          createdBy: null,
        }),
      ).rejects.toMatchObject({ code: 'conflict' });
      expect(await s.mcpServers.get(HOME_ORG_ID, name)).toMatchObject({ id: server.id });
      await s.mcpServers.setError(server.id, 'unreachable');
      expect((await s.mcpServers.get(HOME_ORG_ID, server.id))?.lastError).toBe('unreachable');

      const schema = { type: 'object', properties: { zeta: { type: 'string' }, alpha: { type: 'number' } } };
      await s.mcpServers.syncTools(server.id, [
        { name: 'search', description: 'finds', inputSchema: schema, hash: 'h1', readOnly: true },
        { name: 'write', description: 'writes', inputSchema: {}, hash: 'w1', readOnly: false },
      ]);
      expect(await s.mcpServers.approveTool(server.id, 'search', 'stale', 'auto', user)).toBe(false);
      expect(await s.mcpServers.approveTool(server.id, 'search', 'h1', 'always', user)).toBe(true);
      await s.mcpServers.syncTools(server.id, [
        { name: 'search', description: 'finds more', inputSchema: schema, hash: 'h2', readOnly: true },
      ]);
      const tools = await s.mcpServers.tools(server.id);
      expect(tools).toEqual([
        {
          name: 'search',
          description: 'finds more',
          inputSchema: schema,
          hash: 'h2',
          approvedHash: 'h1',
          readOnly: true,
          approval: 'always',
        },
      ]);
      // The schema comes back as listed, its keys in their order.
      expect(Object.keys((tools[0]?.inputSchema as { properties: object } | undefined)?.properties ?? {})).toEqual(['zeta', 'alpha']);
      expect(await s.mcpServers.delete(HOME_ORG_ID, server.id)).toBe(true);
      expect(await s.mcpServers.tools(server.id)).toEqual([]);
    });

    it('takes the first decision on a tool call, before it expires only', async () => {
      const user = await s.addUser();
      const other = await s.addUser();
      const expiresAt = new Date(at + 60_000).toISOString();
      const base = { orgId: HOME_ORG_ID, userId: user, agentId: 'agent-1', tool: 'write', input: { path: 'a', body: 'b' }, expiresAt };
      const first = await s.toolApprovals.create({ ...base, id: randomUUID() });
      expect(first).toMatchObject({ status: 'pending', input: { path: 'a', body: 'b' }, expiresAt });
      expect(await s.toolApprovals.get(first.id, other)).toBeUndefined();
      expect(await s.toolApprovals.decide(first.id, other, 'approved', new Date(at))).toBeUndefined();
      const decisions = await Promise.all([
        s.toolApprovals.decide(first.id, user, 'denied', new Date(at + 1000)),
        s.toolApprovals.decide(first.id, user, 'approved', new Date(at + 1000)),
      ]);
      const final = await s.toolApprovals.get(first.id, user);
      expect(['denied', 'approved']).toContain(final?.status);
      expect(decisions.map((d) => d?.status)).toEqual([final?.status, final?.status]);

      const late = await s.toolApprovals.create({ ...base, id: randomUUID() });
      expect(await s.toolApprovals.decide(late.id, user, 'approved', new Date(at + 120_000))).toMatchObject({ status: 'expired' });
      const waited = await s.toolApprovals.create({ ...base, id: randomUUID() });
      expect(await s.toolApprovals.expire(waited.id)).toMatchObject({ status: 'expired' });
      expect(await s.toolApprovals.decide(waited.id, user, 'approved', new Date(at))).toMatchObject({ status: 'expired' });
    });

    it('registers datasets and the hosts fetch_url may reach, per organisation', async () => {
      const name = `ds_${randomUUID().slice(0, 8)}`;
      const tables = [{ name: 'yields', columns: [{ name: 'date', type: 'TEXT' }], rows: 10 }];
      expect(await s.datasets.put({ orgId: HOME_ORG_ID, name, description: 'rates', file: `${name}.db`, tables })).toMatchObject({
        name,
        tables,
      });
      expect(await s.datasets.put({ orgId: HOME_ORG_ID, name, description: 'changed', file: `${name}-2.db`, tables: [] })).toMatchObject({
        description: 'changed',
        file: `${name}-2.db`,
        tables: [],
      });
      expect((await s.datasets.list(HOME_ORG_ID)).map((d) => d.name)).toContain(name);
      expect(await s.datasets.get('org_other', name)).toBeUndefined();
      await s.datasets.setFetchHosts(HOME_ORG_ID, ['b.example', 'a.example:8080', 'b.example']);
      expect(await s.datasets.fetchHosts(HOME_ORG_ID)).toEqual(['a.example:8080', 'b.example']);
      await s.datasets.setFetchHosts(HOME_ORG_ID, []);
      expect(await s.datasets.fetchHosts(HOME_ORG_ID)).toEqual([]);
    });
  });
}

describeAgentStore('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'axon-agents-'));
  const store = openSqliteStore({ path: join(dir, 'axon.db'), now });
  return {
    agents: store.agents,
    mcpServers: store.mcpServers,
    toolApprovals: store.toolApprovals,
    datasets: store.datasets,
    addUser: async () =>
      (await store.users.create({ email: `${randomUUID()}@example.com`, passwordHash: null, role: 'member', orgId: HOME_ORG_ID })).id,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

let db: TestDatabase;
let pool: pg.Pool;
describeAgentStore('postgres', async () => {
  db = await createTestDatabase();
  pool = createPgPool({ url: db.url, max: 4 });
  await migratePostgres(pool);
  return {
    ...createPostgresAgentRepositories(pool, { now }),
    async addUser() {
      const id = randomUUID();
      await pool.query("INSERT INTO users (id, email, role, org_id, created_at) VALUES ($1, $2, 'member', $3, now())", [
        id,
        `${id}@example.com`,
        HOME_ORG_ID,
      ]);
      return id;
    },
    async close() {
      await pool.end();
      await db.drop();
    },
  };
});
