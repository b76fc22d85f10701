import {
  type AgentConfig,
  ApproveMcpToolSchema,
  BUILTIN_TOOLS,
  CreateAgentSchema,
  CreateMcpServerSchema,
  FetchAllowListSchema,
  NewAgentVersionSchema,
  ToolApprovalDecisionSchema,
  UpdateAgentSchema,
} from '@axon/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors';
import { parseInput } from '../http/parse-input';
import { recordAudit } from '../http/record-audit';
import { requirePrincipal } from '../http/require-principal';
import type { PromptStore } from '../prompts/prompt-store';
import type { ModelCatalog } from '../providers';
import type { Store } from '../store';
import { AGENT_PREFIX } from './agent-service';
import type { ApprovalSignals } from './approval-gate';
import { type McpTools, mcpGrantName } from './mcp/mcp-tools';
import type { DatasetFiles } from './tools/dataset-files';
import { loadCsvDataset } from './tools/datasets';

const IdParams = z.strictObject({ id: z.string().min(1).max(100) });
const VersionBody = z.strictObject({ version: z.number().int().min(1) });
const ApproveBody = ApproveMcpToolSchema.extend({ tool: z.string().min(1).max(200) });
const DatasetBody = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _'),
  description: z.string().max(500).default(''),
  csv: z.string().min(1).max(20_000_000),
});

const BUILTIN_DESCRIPTIONS: Record<(typeof BUILTIN_TOOLS)[number], string> = {
  search_documents: "Searches the agent's collections (only those the caller may read) and cites passages.",
  calculator: 'Evaluates math expressions exactly (mathjs).',
  query_data: "One read-only SELECT over the agent's datasets, with row and time caps.",
  fetch_url: 'Fetches a public web page as text; internal addresses are refused.',
};

export interface AgentRoutesDeps {
  store: Store;
  models: ModelCatalog;
  prompts: PromptStore;
  mcp: McpTools;
  approvalSignals: ApprovalSignals;
  datasetFiles: DatasetFiles;
}

/**
 * Agents (`agents:manage` creates and versions them, everyone who chats lists and uses them),
 * the approvals of their tool calls (by the user whose run asks), and the tools admins manage
 * (`tools:manage`): MCP servers and the approval of their tools, datasets, the URL allow-list.
 */
export function registerAgentRoutes(app: FastifyInstance, deps: AgentRoutesDeps): void {
  const { store, mcp } = deps;
  const userOf = (request: FastifyRequest) => requirePrincipal(request).user;

  /** Refuses a configuration that names what the builder cannot grant. */
  async function checkConfig(request: FastifyRequest, config: AgentConfig): Promise<void> {
    const user = userOf(request);
    const invalid = (path: string, message: string) =>
      new AppError('validation_failed', { detail: `${path}: ${message}`, errors: [{ path: `body.${path}`, message }] });
    if (config.model) {
      if (config.model.startsWith(AGENT_PREFIX)) throw invalid('config.model', 'an agent cannot plan with another agent');
      await deps.models.resolve(config.model);
    }
    if (config.prompt) await deps.prompts.resolve(user.orgId, config.prompt);
    for (const [i, grant] of config.tools.entries()) {
      const match = /^mcp\.([a-z0-9][a-z0-9-]*)\.(.+)$/.exec(grant.name);
      if (match && !(await store.mcpServers.get(user.orgId, match[1] as string)))
        throw invalid(`config.tools.${i}.name`, `no MCP server named ${match[1]} is registered`);
    }
    const readable = await store.collections.readableIds(user.id, config.collections);
    const missing = config.collections.find((id) => !readable.includes(id));
    if (missing) throw invalid('config.collections', `${missing} is not a collection you can read`);
    for (const name of config.datasets)
      if (!(await store.datasets.get(user.orgId, name))) throw invalid('config.datasets', `no dataset named ${name}`);
    if (config.datasets.length > 0 && !config.tools.some((t) => t.name === 'query_data'))
      throw invalid('config.tools', 'datasets are read with query_data; grant it too');
  }

  const agentOf = async (request: FastifyRequest) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const agent = await store.agents.get(userOf(request).orgId, id);
    if (!agent) throw new AppError('not_found', { detail: 'No such agent' });
    return agent;
  };

  app.get('/api/agents', async (request) => ({ items: await store.agents.list(userOf(request).orgId) }));

  app.post('/api/agents', { config: { access: 'agents:manage' } }, async (request, reply) => {
    const body = parseInput(CreateAgentSchema, request.body, 'body');
    await checkConfig(request, body.config);
    const user = userOf(request);
    const agent = await store.agents.create({ ...body, orgId: user.orgId, createdBy: user.id });
    await recordAudit(store, request, { action: 'agent.created', target: `agent:${agent.id}`, details: { slug: agent.slug } });
    return reply.status(201).send(agent);
  });

  app.get('/api/agents/:id', async (request) => {
    const agent = await agentOf(request);
    return { ...agent, versions: await store.agents.versions(userOf(request).orgId, agent.id) };
  });

  app.patch('/api/agents/:id', { config: { access: 'agents:manage' } }, async (request) => {
    const agent = await agentOf(request);
    const patch = parseInput(UpdateAgentSchema, request.body, 'body');
    const updated = await store.agents.update(userOf(request).orgId, agent.id, patch);
    await recordAudit(store, request, { action: 'agent.updated', target: `agent:${agent.id}`, details: { slug: agent.slug, ...patch } });
    return updated;
  });

  app.post('/api/agents/:id/versions', { config: { access: 'agents:manage' } }, async (request, reply) => {
    const agent = await agentOf(request);
    const body = parseInput(NewAgentVersionSchema, request.body, 'body');
    await checkConfig(request, body.config);
    const user = userOf(request);
    const updated = await store.agents.addVersion(user.orgId, agent.id, { ...body, createdBy: user.id });
    await recordAudit(store, request, {
      action: 'agent.version_created',
      target: `agent:${agent.id}`,
      details: { slug: agent.slug, version: updated?.latestVersion, activated: body.activate },
    });
    return reply.status(201).send(updated);
  });

  app.post('/api/agents/:id/activate', { config: { access: 'agents:manage' } }, async (request) => {
    const agent = await agentOf(request);
    const { version } = parseInput(VersionBody, request.body, 'body');
    const updated = await store.agents.activate(userOf(request).orgId, agent.id, version);
    await recordAudit(store, request, {
      action: 'agent.activated',
      target: `agent:${agent.id}`,
      details: { slug: agent.slug, from: agent.activeVersion, to: version },
    });
    return updated;
  });

  app.delete('/api/agents/:id', { config: { access: 'agents:manage' } }, async (request, reply) => {
    const agent = await agentOf(request);
    await store.agents.delete(userOf(request).orgId, agent.id);
    await recordAudit(store, request, { action: 'agent.deleted', target: `agent:${agent.id}`, details: { slug: agent.slug } });
    return reply.status(204).send();
  });

  /** What a builder may grant: the built-in tools, the organisation's approved MCP tools, its datasets. */
  app.get('/api/agent-tools', { config: { access: 'agents:manage' } }, async (request) => {
    const orgId = userOf(request).orgId;
    const servers = await store.mcpServers.list(orgId);
    const mcpTools = [];
    for (const server of servers) {
      const described = await mcp.describe(server);
      for (const tool of described.tools)
        mcpTools.push({
          name: tool.grantName,
          description: tool.description,
          source: `mcp:${server.name}`,
          status: tool.status,
          changesThings: tool.approval === 'always' || (tool.approval === 'auto' && !tool.readOnly),
        });
    }
    return {
      tools: [
        ...BUILTIN_TOOLS.map((name) => ({
          name,
          description: BUILTIN_DESCRIPTIONS[name],
          source: 'built-in',
          status: 'approved',
          changesThings: false,
        })),
        ...mcpTools,
      ],
      datasets: (await store.datasets.list(orgId)).map(({ orgId: _org, file: _file, ...d }) => d),
    };
  });

  /** The user decides a tool call their run is waiting on; the first decision wins, a late one is a conflict. */
  app.post('/api/tool-approvals/:id', async (request) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const { decision } = parseInput(ToolApprovalDecisionSchema, request.body, 'body');
    const user = userOf(request);
    const wanted = decision === 'approve' ? 'approved' : 'denied';
    const record = await store.toolApprovals.decide(id, user.id, wanted, new Date());
    if (!record) throw new AppError('not_found', { detail: 'No such approval request' });
    if (record.status !== wanted)
      throw new AppError('conflict', { detail: `This request is ${record.status} already; only the first decision counts.` });
    deps.approvalSignals.notify(id);
    await recordAudit(store, request, {
      action: 'tool.approval_decided',
      target: `agent:${record.agentId}`,
      details: { approval: id, tool: record.tool, decision: record.status },
    });
    return { id, status: record.status };
  });

  // ---- MCP servers, datasets and the allow-list: admins only ----------------------------------

  const serverOf = async (request: FastifyRequest) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const server = await store.mcpServers.get(userOf(request).orgId, id);
    if (!server) throw new AppError('not_found', { detail: 'No such MCP server' });
    return server;
  };

  app.get('/api/admin/mcp-servers', { config: { access: 'tools:manage' } }, async (request) => {
    const servers = await store.mcpServers.list(userOf(request).orgId);
    return { items: await Promise.all(servers.map((s) => mcp.describe(s))) };
  });

  app.post('/api/admin/mcp-servers', { config: { access: 'tools:manage' } }, async (request, reply) => {
    const body = parseInput(CreateMcpServerSchema, request.body, 'body');
    const user = userOf(request);
    const server = await store.mcpServers.create({
      orgId: user.orgId,
      name: body.name,
      transport: body.transport,
      command: body.transport === 'stdio' ? body.command : null,
      args: body.transport === 'stdio' ? body.args : [],
      url: body.transport === 'http' ? body.url : null,
      secrets: body.transport === 'stdio' ? body.env : body.headers,
      createdBy: user.id,
    });
    await recordAudit(store, request, {
      action: 'mcp.server_registered',
      target: `mcp_server:${server.id}`,
      details: { name: server.name, transport: server.transport, ...(server.command ? { command: server.command } : { url: server.url }) },
    });
    // Listed at once, so the admin sees its tools to approve; a server that cannot be reached yet is kept with the reason.
    await mcp.refresh(server, AbortSignal.timeout(20_000)).catch(() => undefined);
    return reply.status(201).send(await mcp.describe((await store.mcpServers.get(user.orgId, server.id)) ?? server));
  });

  app.post('/api/admin/mcp-servers/:id/refresh', { config: { access: 'tools:manage' } }, async (request) => {
    const server = await serverOf(request);
    try {
      await mcp.refresh(server, AbortSignal.timeout(20_000));
    } catch (error) {
      throw new AppError('upstream_error', { detail: `The MCP server ${server.name} cannot be reached: ${(error as Error).message}` });
    }
    return mcp.describe((await store.mcpServers.get(server.orgId, server.id)) ?? server);
  });

  app.post('/api/admin/mcp-servers/:id/approve', { config: { access: 'tools:manage' } }, async (request) => {
    const server = await serverOf(request);
    const body = parseInput(ApproveBody, request.body, 'body');
    const approved = await store.mcpServers.approveTool(server.id, body.tool, body.hash, body.approval, userOf(request).id);
    if (!approved) throw new AppError('conflict', { detail: `${body.tool} is not listed with that hash; refresh and review it again.` });
    await recordAudit(store, request, {
      action: 'mcp.tool_approved',
      target: `mcp_server:${server.id}`,
      details: { tool: mcpGrantName(server.name, body.tool), hash: body.hash, approval: body.approval },
    });
    return mcp.describe(server);
  });

  app.delete('/api/admin/mcp-servers/:id', { config: { access: 'tools:manage' } }, async (request, reply) => {
    const server = await serverOf(request);
    await mcp.forget(server.id);
    await store.mcpServers.delete(server.orgId, server.id);
    await recordAudit(store, request, { action: 'mcp.server_deleted', target: `mcp_server:${server.id}`, details: { name: server.name } });
    return reply.status(204).send();
  });

  app.get('/api/admin/datasets', { config: { access: 'tools:manage' } }, async (request) => ({
    items: (await store.datasets.list(userOf(request).orgId)).map(({ orgId: _org, file: _file, ...d }) => d),
  }));

  app.post('/api/admin/datasets', { config: { access: 'tools:manage' } }, async (request, reply) => {
    const body = parseInput(DatasetBody, request.body, 'body');
    const record = await loadCsvDataset(store.datasets, deps.datasetFiles, { orgId: userOf(request).orgId, ...body });
    await recordAudit(store, request, {
      action: 'dataset.loaded',
      target: `dataset:${record.name}`,
      details: { rows: record.tables[0]?.rows },
    });
    const { orgId: _org, file: _file, ...dataset } = record;
    return reply.status(201).send(dataset);
  });

  app.get('/api/admin/fetch-allow-list', { config: { access: 'tools:manage' } }, async (request) => ({
    hosts: await store.datasets.fetchHosts(userOf(request).orgId),
  }));

  app.put('/api/admin/fetch-allow-list', { config: { access: 'tools:manage' } }, async (request) => {
    const { hosts } = parseInput(FetchAllowListSchema, request.body, 'body');
    const orgId = userOf(request).orgId;
    await store.datasets.setFetchHosts(orgId, hosts);
    await recordAudit(store, request, { action: 'tools.fetch_allow_list_changed', target: `org:${orgId}`, details: { hosts } });
    return { hosts: await store.datasets.fetchHosts(orgId) };
  });
}
