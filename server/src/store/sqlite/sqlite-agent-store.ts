import { randomUUID } from 'node:crypto';
import { type Agent, type AgentConfig, AgentConfigSchema, type AgentVersion } from '@axon/contracts';
import type Database from 'better-sqlite3';
import { AppError } from '../../errors';
import type {
  AgentRepository,
  DatasetRecord,
  DatasetRepository,
  McpServerRecord,
  McpServerRepository,
  McpToolRecord,
  ToolApprovalRecord,
  ToolApprovalRepository,
} from '../agent-store';

type Row = Record<string, unknown>;

/** A stored configuration read with today's defaults, so that older versions gain new fields. */
const parseConfig = (json: string): AgentConfig => AgentConfigSchema.parse(JSON.parse(json));

const toAgent = (row: Row): Agent => ({
  id: row.id as string,
  slug: row.slug as string,
  modelId: `agent/${row.slug as string}`,
  name: row.name as string,
  description: row.description as string,
  activeVersion: row.active_version as number,
  latestVersion: row.latest_version as number,
  config: parseConfig(row.config as string),
  createdAt: row.created_at as string,
  updatedAt: row.updated_at as string,
});

const toVersion = (row: Row): AgentVersion => ({
  version: row.version as number,
  config: parseConfig(row.config as string),
  note: row.note as string,
  createdBy: (row.created_by as string | null) ?? null,
  createdAt: row.created_at as string,
});

const isUnique = (error: unknown) =>
  (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' || (error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY';

export function createSqliteAgentRepository(db: Database.Database, now: () => Date): AgentRepository {
  const columns = `a.*, v.config,
    (SELECT max(version) FROM agent_versions x WHERE x.agent_id = a.id) AS latest_version`;
  const byIdOrSlug = db.prepare(
    `SELECT ${columns} FROM agents a JOIN agent_versions v ON v.agent_id = a.id AND v.version = a.active_version
     WHERE a.org_id = ? AND (a.id = ? OR a.slug = ?)`,
  );
  const list = db.prepare(
    `SELECT ${columns} FROM agents a JOIN agent_versions v ON v.agent_id = a.id AND v.version = a.active_version
     WHERE a.org_id = ? ORDER BY a.name, a.slug`,
  );
  const insertVersion = db.prepare(
    'INSERT INTO agent_versions (agent_id, version, config, note, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const get = (orgId: string, idOrSlug: string) => {
    const row = byIdOrSlug.get(orgId, idOrSlug, idOrSlug) as Row | undefined;
    return row ? toAgent(row) : undefined;
  };
  return {
    async create(input) {
      const id = randomUUID();
      const at = now().toISOString();
      try {
        db.transaction(() => {
          db.prepare(
            'INSERT INTO agents (id, org_id, slug, name, description, active_version, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)',
          ).run(id, input.orgId, input.slug, input.name, input.description, input.createdBy, at, at);
          insertVersion.run(id, 1, JSON.stringify(input.config), input.note, input.createdBy, at);
        })();
      } catch (error) {
        if (isUnique(error)) throw new AppError('conflict', { detail: `An agent with the slug "${input.slug}" exists already.` });
        throw error;
      }
      return get(input.orgId, id) as Agent;
    },
    async get(orgId, idOrSlug) {
      return get(orgId, idOrSlug);
    },
    async list(orgId) {
      return (list.all(orgId) as Row[]).map(toAgent);
    },
    async update(orgId, id, patch) {
      const agent = get(orgId, id);
      if (!agent) return undefined;
      db.prepare('UPDATE agents SET name = ?, description = ?, updated_at = ? WHERE id = ?').run(
        patch.name ?? agent.name,
        patch.description ?? agent.description,
        now().toISOString(),
        agent.id,
      );
      return get(orgId, agent.id);
    },
    async addVersion(orgId, id, input) {
      const agent = get(orgId, id);
      if (!agent) return undefined;
      const at = now().toISOString();
      db.transaction(() => {
        const next = ((db.prepare('SELECT max(version) AS v FROM agent_versions WHERE agent_id = ?').get(agent.id) as Row).v as number) + 1;
        insertVersion.run(agent.id, next, JSON.stringify(input.config), input.note, input.createdBy, at);
        db.prepare(`UPDATE agents SET updated_at = ?${input.activate ? ', active_version = ?' : ''} WHERE id = ?`).run(
          ...(input.activate ? [at, next, agent.id] : [at, agent.id]),
        );
      })();
      return get(orgId, agent.id);
    },
    async versions(orgId, id) {
      const agent = get(orgId, id);
      if (!agent) return [];
      return (db.prepare('SELECT * FROM agent_versions WHERE agent_id = ? ORDER BY version DESC').all(agent.id) as Row[]).map(toVersion);
    },
    async activate(orgId, id, version) {
      const agent = get(orgId, id);
      if (!agent) return undefined;
      const exists = db.prepare('SELECT 1 FROM agent_versions WHERE agent_id = ? AND version = ?').get(agent.id, version);
      if (!exists) throw new AppError('not_found', { detail: `The agent has no version ${version}.` });
      db.prepare('UPDATE agents SET active_version = ?, updated_at = ? WHERE id = ?').run(version, now().toISOString(), agent.id);
      return get(orgId, agent.id);
    },
    async delete(orgId, id) {
      return db.prepare('DELETE FROM agents WHERE org_id = ? AND (id = ? OR slug = ?)').run(orgId, id, id).changes > 0;
    },
  };
}

const toServer = (row: Row): McpServerRecord => ({
  id: row.id as string,
  orgId: row.org_id as string,
  name: row.name as string,
  transport: row.transport as McpServerRecord['transport'],
  command: (row.command as string | null) ?? null,
  args: JSON.parse(row.args as string) as string[],
  url: (row.url as string | null) ?? null,
  secrets: JSON.parse(row.secrets as string) as Record<string, string>,
  lastError: (row.last_error as string | null) ?? null,
  createdAt: row.created_at as string,
});

const toTool = (row: Row): McpToolRecord => ({
  name: row.name as string,
  description: row.description as string,
  inputSchema: JSON.parse(row.input_schema as string) as unknown,
  hash: row.hash as string,
  approvedHash: (row.approved_hash as string | null) ?? null,
  readOnly: row.read_only === 1,
  approval: row.approval as McpToolRecord['approval'],
});

export function createSqliteMcpServerRepository(db: Database.Database, now: () => Date): McpServerRepository {
  const byIdOrName = db.prepare('SELECT * FROM mcp_servers WHERE org_id = ? AND (id = ? OR name = ?)');
  return {
    async create(input) {
      const id = randomUUID();
      try {
        db.prepare(
          'INSERT INTO mcp_servers (id, org_id, name, transport, command, args, url, secrets, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        ).run(
          id,
          input.orgId,
          input.name,
          input.transport,
          input.command,
          JSON.stringify(input.args),
          input.url,
          JSON.stringify(input.secrets),
          input.createdBy,
          now().toISOString(),
        );
      } catch (error) {
        if (isUnique(error)) throw new AppError('conflict', { detail: `An MCP server named "${input.name}" exists already.` });
        throw error;
      }
      return toServer(byIdOrName.get(input.orgId, id, id) as Row);
    },
    async get(orgId, idOrName) {
      const row = byIdOrName.get(orgId, idOrName, idOrName) as Row | undefined;
      return row ? toServer(row) : undefined;
    },
    async list(orgId) {
      return (db.prepare('SELECT * FROM mcp_servers WHERE org_id = ? ORDER BY name').all(orgId) as Row[]).map(toServer);
    },
    async delete(orgId, id) {
      return db.prepare('DELETE FROM mcp_servers WHERE org_id = ? AND id = ?').run(orgId, id).changes > 0;
    },
    async setError(id, error) {
      db.prepare('UPDATE mcp_servers SET last_error = ? WHERE id = ?').run(error, id);
    },
    async tools(serverId) {
      return (db.prepare('SELECT * FROM mcp_tools WHERE server_id = ? ORDER BY name').all(serverId) as Row[]).map(toTool);
    },
    async syncTools(serverId, tools) {
      const at = now().toISOString();
      const upsert = db.prepare(
        `INSERT INTO mcp_tools (server_id, name, description, input_schema, hash, read_only, listed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (server_id, name) DO UPDATE SET description = excluded.description, input_schema = excluded.input_schema,
           hash = excluded.hash, read_only = excluded.read_only, listed_at = excluded.listed_at`,
      );
      db.transaction(() => {
        for (const tool of tools)
          upsert.run(serverId, tool.name, tool.description, JSON.stringify(tool.inputSchema ?? {}), tool.hash, tool.readOnly ? 1 : 0, at);
        const names = tools.map((t) => t.name);
        db.prepare(`DELETE FROM mcp_tools WHERE server_id = ? AND name NOT IN (SELECT value FROM json_each(?))`).run(
          serverId,
          JSON.stringify(names),
        );
      })();
    },
    async approveTool(serverId, name, hash, approval, by) {
      return (
        db
          .prepare(
            'UPDATE mcp_tools SET approved_hash = hash, approval = ?, approved_by = ?, approved_at = ? WHERE server_id = ? AND name = ? AND hash = ?',
          )
          .run(approval, by, now().toISOString(), serverId, name, hash).changes > 0
      );
    },
  };
}

const toApproval = (row: Row): ToolApprovalRecord => ({
  id: row.id as string,
  orgId: row.org_id as string,
  userId: row.user_id as string,
  agentId: row.agent_id as string,
  tool: row.tool as string,
  input: JSON.parse(row.input as string) as unknown,
  status: row.status as ToolApprovalRecord['status'],
  createdAt: row.created_at as string,
  expiresAt: row.expires_at as string,
});

export function createSqliteToolApprovalRepository(db: Database.Database, now: () => Date): ToolApprovalRepository {
  const byId = db.prepare('SELECT * FROM tool_approvals WHERE id = ? AND user_id = ?');
  const byIdOnly = db.prepare('SELECT * FROM tool_approvals WHERE id = ?');
  return {
    async create(input) {
      db.prepare(
        "INSERT INTO tool_approvals (id, org_id, user_id, agent_id, tool, input, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
      ).run(
        input.id,
        input.orgId,
        input.userId,
        input.agentId,
        input.tool,
        JSON.stringify(input.input ?? null),
        now().toISOString(),
        input.expiresAt,
      );
      return toApproval(byIdOnly.get(input.id) as Row);
    },
    async get(id, userId) {
      const row = byId.get(id, userId) as Row | undefined;
      return row ? toApproval(row) : undefined;
    },
    async decide(id, userId, decision, at) {
      // One UPDATE guarded by the state: of two decisions at once, only one finds it pending.
      db.prepare(
        "UPDATE tool_approvals SET status = ?, decided_at = ? WHERE id = ? AND user_id = ? AND status = 'pending' AND expires_at > ?",
      ).run(decision, at.toISOString(), id, userId, at.toISOString());
      db.prepare("UPDATE tool_approvals SET status = 'expired' WHERE id = ? AND status = 'pending' AND expires_at <= ?").run(
        id,
        at.toISOString(),
      );
      const row = byId.get(id, userId) as Row | undefined;
      return row ? toApproval(row) : undefined;
    },
    async expire(id) {
      db.prepare("UPDATE tool_approvals SET status = 'expired', decided_at = ? WHERE id = ? AND status = 'pending'").run(
        now().toISOString(),
        id,
      );
      const row = byIdOnly.get(id) as Row | undefined;
      return row ? toApproval(row) : undefined;
    },
  };
}

const toDataset = (row: Row): DatasetRecord => ({
  orgId: row.org_id as string,
  name: row.name as string,
  description: row.description as string,
  file: row.file as string,
  tables: JSON.parse(row.tables as string) as DatasetRecord['tables'],
  createdAt: row.created_at as string,
});

export function createSqliteDatasetRepository(db: Database.Database, now: () => Date): DatasetRepository {
  return {
    async put(record) {
      db.prepare(
        `INSERT INTO agent_datasets (org_id, name, description, file, tables, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (org_id, name) DO UPDATE SET description = excluded.description, file = excluded.file, tables = excluded.tables`,
      ).run(record.orgId, record.name, record.description, record.file, JSON.stringify(record.tables), now().toISOString());
      return toDataset(db.prepare('SELECT * FROM agent_datasets WHERE org_id = ? AND name = ?').get(record.orgId, record.name) as Row);
    },
    async get(orgId, name) {
      const row = db.prepare('SELECT * FROM agent_datasets WHERE org_id = ? AND name = ?').get(orgId, name) as Row | undefined;
      return row ? toDataset(row) : undefined;
    },
    async list(orgId) {
      return (db.prepare('SELECT * FROM agent_datasets WHERE org_id = ? ORDER BY name').all(orgId) as Row[]).map(toDataset);
    },
    async fetchHosts(orgId) {
      return (db.prepare('SELECT host FROM fetch_allow_hosts WHERE org_id = ? ORDER BY host').all(orgId) as Row[]).map(
        (r) => r.host as string,
      );
    },
    async setFetchHosts(orgId, hosts) {
      db.transaction(() => {
        db.prepare('DELETE FROM fetch_allow_hosts WHERE org_id = ?').run(orgId);
        const insert = db.prepare('INSERT OR IGNORE INTO fetch_allow_hosts (org_id, host) VALUES (?, ?)');
        for (const host of hosts) insert.run(orgId, host);
      })();
    },
  };
}
