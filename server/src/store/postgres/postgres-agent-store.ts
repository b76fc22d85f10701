import { randomUUID } from 'node:crypto';
import { type Agent, type AgentConfig, AgentConfigSchema, type AgentVersion } from '@axon/contracts';
import type pg from 'pg';
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
import { inTransaction } from './pg-pool';
import { isoOf, isUniqueViolation, type Sql, storableText } from './pg-values';

type Row = Record<string, unknown>;

/** A stored configuration read with today's defaults, so that older versions gain new fields. */
const parseConfig = (json: unknown): AgentConfig => AgentConfigSchema.parse(json);

const toAgent = (row: Row): Agent => ({
  id: row.id as string,
  slug: row.slug as string,
  modelId: `agent/${row.slug as string}`,
  name: row.name as string,
  description: row.description as string,
  activeVersion: row.active_version as number,
  latestVersion: row.latest_version as number,
  config: parseConfig(row.config),
  createdAt: isoOf(row.created_at),
  updatedAt: isoOf(row.updated_at),
});

const toVersion = (row: Row): AgentVersion => ({
  version: row.version as number,
  config: parseConfig(row.config),
  note: row.note as string,
  createdBy: (row.created_by as string | null) ?? null,
  createdAt: isoOf(row.created_at),
});

/** Agents of each organisation with their immutable versions, in PostgreSQL. */
function createPostgresAgentRepository(pool: pg.Pool, now: () => Date): AgentRepository {
  const columns = `a.*, v.config, (SELECT max(version) FROM agent_versions x WHERE x.agent_id = a.id) AS latest_version`;
  const get = async (db: Sql, orgId: string, idOrSlug: string) => {
    const { rows } = await db.query(
      `SELECT ${columns} FROM agents a JOIN agent_versions v ON v.agent_id = a.id AND v.version = a.active_version
       WHERE a.org_id = $1 AND (a.id = $2 OR a.slug = $2)`,
      [orgId, idOrSlug],
    );
    return rows[0] ? toAgent(rows[0]) : undefined;
  };
  const insertVersion = (
    db: Sql,
    agentId: string,
    version: number,
    input: { config: AgentConfig; note: string; createdBy: string | null },
    at: string,
  ) =>
    db.query('INSERT INTO agent_versions (agent_id, version, config, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      agentId,
      version,
      JSON.stringify(input.config),
      storableText(input.note),
      input.createdBy,
      at,
    ]);
  return {
    async create(input) {
      const id = randomUUID();
      const at = now().toISOString();
      try {
        await inTransaction(pool, async (client) => {
          await client.query(
            'INSERT INTO agents (id, org_id, slug, name, description, active_version, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7)',
            [id, input.orgId, input.slug, storableText(input.name), storableText(input.description), input.createdBy, at],
          );
          await insertVersion(client, id, 1, input, at);
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError('conflict', { detail: `An agent with the slug "${input.slug}" exists already.` });
        throw error;
      }
      return (await get(pool, input.orgId, id)) as Agent;
    },
    async get(orgId, idOrSlug) {
      return get(pool, orgId, idOrSlug);
    },
    async list(orgId) {
      const { rows } = await pool.query(
        `SELECT ${columns} FROM agents a JOIN agent_versions v ON v.agent_id = a.id AND v.version = a.active_version
         WHERE a.org_id = $1 ORDER BY a.name COLLATE "C", a.slug COLLATE "C"`,
        [orgId],
      );
      return rows.map(toAgent);
    },
    async update(orgId, id, patch) {
      const agent = await get(pool, orgId, id);
      if (!agent) return undefined;
      await pool.query('UPDATE agents SET name = $1, description = $2, updated_at = $3 WHERE id = $4', [
        storableText(patch.name ?? agent.name),
        storableText(patch.description ?? agent.description),
        now().toISOString(),
        agent.id,
      ]);
      return get(pool, orgId, agent.id);
    },
    async addVersion(orgId, id, input) {
      const agent = await get(pool, orgId, id);
      if (!agent) return undefined;
      const at = now().toISOString();
      await inTransaction(pool, async (client) => {
        // The agent's row is locked so that two new versions at once get different numbers.
        await client.query('SELECT 1 FROM agents WHERE id = $1 FOR UPDATE', [agent.id]);
        const { rows } = await client.query('SELECT max(version) AS v FROM agent_versions WHERE agent_id = $1', [agent.id]);
        const next = (rows[0]?.v as number) + 1;
        await insertVersion(client, agent.id, next, input, at);
        if (input.activate)
          await client.query('UPDATE agents SET updated_at = $1, active_version = $2 WHERE id = $3', [at, next, agent.id]);
        else await client.query('UPDATE agents SET updated_at = $1 WHERE id = $2', [at, agent.id]);
      });
      return get(pool, orgId, agent.id);
    },
    async versions(orgId, id) {
      const agent = await get(pool, orgId, id);
      if (!agent) return [];
      const { rows } = await pool.query('SELECT * FROM agent_versions WHERE agent_id = $1 ORDER BY version DESC', [agent.id]);
      return rows.map(toVersion);
    },
    async activate(orgId, id, version) {
      const agent = await get(pool, orgId, id);
      if (!agent) return undefined;
      const { rowCount } = await pool.query('SELECT 1 FROM agent_versions WHERE agent_id = $1 AND version = $2', [agent.id, version]);
      if (!rowCount) throw new AppError('not_found', { detail: `The agent has no version ${version}.` });
      await pool.query('UPDATE agents SET active_version = $1, updated_at = $2 WHERE id = $3', [version, now().toISOString(), agent.id]);
      return get(pool, orgId, agent.id);
    },
    async delete(orgId, id) {
      const { rowCount } = await pool.query('DELETE FROM agents WHERE org_id = $1 AND (id = $2 OR slug = $2)', [orgId, id]);
      return (rowCount ?? 0) > 0;
    },
  };
}

const toServer = (row: Row): McpServerRecord => ({
  id: row.id as string,
  orgId: row.org_id as string,
  name: row.name as string,
  transport: row.transport as McpServerRecord['transport'],
  command: (row.command as string | null) ?? null,
  args: row.args as string[],
  url: (row.url as string | null) ?? null,
  secrets: row.secrets as Record<string, string>,
  lastError: (row.last_error as string | null) ?? null,
  createdAt: isoOf(row.created_at),
});

const toTool = (row: Row): McpToolRecord => ({
  name: row.name as string,
  description: row.description as string,
  inputSchema: row.input_schema as unknown,
  hash: row.hash as string,
  approvedHash: (row.approved_hash as string | null) ?? null,
  readOnly: row.read_only === true,
  approval: row.approval as McpToolRecord['approval'],
});

/** MCP servers an admin registered, with the tools they list and which of those were approved. */
function createPostgresMcpServerRepository(pool: pg.Pool, now: () => Date): McpServerRepository {
  const get = async (orgId: string, idOrName: string) => {
    const { rows } = await pool.query('SELECT * FROM mcp_servers WHERE org_id = $1 AND (id = $2 OR name = $2)', [orgId, idOrName]);
    return rows[0] ? toServer(rows[0]) : undefined;
  };
  return {
    async create(input) {
      const id = randomUUID();
      try {
        await pool.query(
          'INSERT INTO mcp_servers (id, org_id, name, transport, command, args, url, secrets, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
          [
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
          ],
        );
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError('conflict', { detail: `An MCP server named "${input.name}" exists already.` });
        throw error;
      }
      return (await get(input.orgId, id)) as McpServerRecord;
    },
    get,
    async list(orgId) {
      const { rows } = await pool.query('SELECT * FROM mcp_servers WHERE org_id = $1 ORDER BY name COLLATE "C"', [orgId]);
      return rows.map(toServer);
    },
    async delete(orgId, id) {
      const { rowCount } = await pool.query('DELETE FROM mcp_servers WHERE org_id = $1 AND id = $2', [orgId, id]);
      return (rowCount ?? 0) > 0;
    },
    async setError(id, error) {
      await pool.query('UPDATE mcp_servers SET last_error = $1 WHERE id = $2', [error === null ? null : storableText(error), id]);
    },
    async tools(serverId) {
      const { rows } = await pool.query('SELECT * FROM mcp_tools WHERE server_id = $1 ORDER BY name COLLATE "C"', [serverId]);
      return rows.map(toTool);
    },
    async syncTools(serverId, tools) {
      const at = now().toISOString();
      await inTransaction(pool, async (client) => {
        for (const tool of tools) {
          await client.query(
            `INSERT INTO mcp_tools (server_id, name, description, input_schema, hash, read_only, listed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (server_id, name) DO UPDATE SET description = excluded.description, input_schema = excluded.input_schema,
               hash = excluded.hash, read_only = excluded.read_only, listed_at = excluded.listed_at`,
            [serverId, tool.name, storableText(tool.description), JSON.stringify(tool.inputSchema ?? {}), tool.hash, tool.readOnly, at],
          );
        }
        await client.query('DELETE FROM mcp_tools WHERE server_id = $1 AND NOT (name = ANY($2::text[]))', [
          serverId,
          tools.map((t) => t.name),
        ]);
      });
    },
    async approveTool(serverId, name, hash, approval, by) {
      const { rowCount } = await pool.query(
        'UPDATE mcp_tools SET approved_hash = hash, approval = $1, approved_by = $2, approved_at = $3 WHERE server_id = $4 AND name = $5 AND hash = $6',
        [approval, by, now().toISOString(), serverId, name, hash],
      );
      return (rowCount ?? 0) > 0;
    },
  };
}

const toApproval = (row: Row): ToolApprovalRecord => ({
  id: row.id as string,
  orgId: row.org_id as string,
  userId: row.user_id as string,
  agentId: row.agent_id as string,
  tool: row.tool as string,
  input: row.input as unknown,
  status: row.status as ToolApprovalRecord['status'],
  createdAt: isoOf(row.created_at),
  expiresAt: isoOf(row.expires_at),
});

/** Tool calls waiting for their user's decision; of decisions from several replicas, the first wins. */
function createPostgresToolApprovalRepository(pool: pg.Pool, now: () => Date): ToolApprovalRepository {
  const byId = async (id: string, userId?: string) => {
    const { rows } =
      userId === undefined
        ? await pool.query('SELECT * FROM tool_approvals WHERE id = $1', [id])
        : await pool.query('SELECT * FROM tool_approvals WHERE id = $1 AND user_id = $2', [id, userId]);
    return rows[0] ? toApproval(rows[0]) : undefined;
  };
  return {
    async create(input) {
      await pool.query(
        "INSERT INTO tool_approvals (id, org_id, user_id, agent_id, tool, input, status, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8)",
        [
          input.id,
          input.orgId,
          input.userId,
          input.agentId,
          input.tool,
          JSON.stringify(input.input ?? null),
          now().toISOString(),
          input.expiresAt,
        ],
      );
      return (await byId(input.id)) as ToolApprovalRecord;
    },
    async get(id, userId) {
      return byId(id, userId);
    },
    async decide(id, userId, decision, at) {
      // One UPDATE guarded by the state: of two decisions at once, only one finds it pending. One past
      // its expiry turns it expired instead.
      await pool.query(
        `UPDATE tool_approvals SET
           status = CASE WHEN expires_at > $1 THEN $2 ELSE 'expired' END,
           decided_at = CASE WHEN expires_at > $1 THEN $1 ELSE decided_at END
         WHERE id = $3 AND user_id = $4 AND status = 'pending'`,
        [at.toISOString(), decision, id, userId],
      );
      return byId(id, userId);
    },
    async expire(id) {
      await pool.query("UPDATE tool_approvals SET status = 'expired', decided_at = $1 WHERE id = $2 AND status = 'pending'", [
        now().toISOString(),
        id,
      ]);
      return byId(id);
    },
  };
}

const toDataset = (row: Row): DatasetRecord => ({
  orgId: row.org_id as string,
  name: row.name as string,
  description: row.description as string,
  file: row.file as string,
  tables: row.tables as DatasetRecord['tables'],
  createdAt: isoOf(row.created_at),
});

/** Datasets registered per organisation, and the hosts `fetch_url` may reach. */
function createPostgresDatasetRepository(pool: pg.Pool, now: () => Date): DatasetRepository {
  return {
    async put(record) {
      const { rows } = await pool.query(
        `INSERT INTO agent_datasets (org_id, name, description, file, tables, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (org_id, name) DO UPDATE SET description = excluded.description, file = excluded.file, tables = excluded.tables
         RETURNING *`,
        [record.orgId, record.name, storableText(record.description), record.file, JSON.stringify(record.tables), now().toISOString()],
      );
      return toDataset(rows[0] as Row);
    },
    async get(orgId, name) {
      const { rows } = await pool.query('SELECT * FROM agent_datasets WHERE org_id = $1 AND name = $2', [orgId, name]);
      return rows[0] ? toDataset(rows[0]) : undefined;
    },
    async list(orgId) {
      const { rows } = await pool.query('SELECT * FROM agent_datasets WHERE org_id = $1 ORDER BY name COLLATE "C"', [orgId]);
      return rows.map(toDataset);
    },
    async fetchHosts(orgId) {
      const { rows } = await pool.query('SELECT host FROM fetch_allow_hosts WHERE org_id = $1 ORDER BY host COLLATE "C"', [orgId]);
      return rows.map((r) => r.host as string);
    },
    async setFetchHosts(orgId, hosts) {
      await inTransaction(pool, async (client) => {
        await client.query('DELETE FROM fetch_allow_hosts WHERE org_id = $1', [orgId]);
        if (hosts.length > 0)
          await client.query('INSERT INTO fetch_allow_hosts (org_id, host) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING', [
            orgId,
            hosts,
          ]);
      });
    },
  };
}

/** Agents, MCP servers, tool approvals and datasets in PostgreSQL, with the behaviour of the SQLite store. */
export function createPostgresAgentRepositories(pool: pg.Pool, options: { now?: (() => Date) | undefined } = {}) {
  const now = options.now ?? (() => new Date());
  return {
    agents: createPostgresAgentRepository(pool, now),
    mcpServers: createPostgresMcpServerRepository(pool, now),
    toolApprovals: createPostgresToolApprovalRepository(pool, now),
    datasets: createPostgresDatasetRepository(pool, now),
  };
}
