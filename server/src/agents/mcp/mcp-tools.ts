import type { JSONSchema7 } from '@ai-sdk/provider';
import type { McpServer, McpTool, ToolGrant } from '@axon/contracts';
import type { InvalidationBus } from '../../invalidation/invalidation-bus';
import type { McpServerRecord, McpToolRecord, Store } from '../../store';
import { type AgentTool, ToolRefusal } from '../tool';
import { connectMcpServer, type ListedMcpTool, type McpConnection } from './mcp-client';

/** `mcp.<server>.<tool>`: how grants name a server's tool. */
export const mcpGrantName = (server: string, tool: string) => `mcp.${server}.${tool}`;

/** The name the model calls it by: providers accept letters, digits, `_` and `-` only. */
const modelName = (server: string, tool: string) =>
  `mcp__${server.replace(/-/g, '_')}__${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);

const statusOf = (tool: McpToolRecord): McpTool['status'] =>
  tool.approvedHash === null ? 'pending' : tool.approvedHash === tool.hash ? 'approved' : 'changed';

export interface McpToolsDeps {
  store: Pick<Store, 'mcpServers'>;
  /** Tells the other replicas to close their connection to a server that was changed or deleted. */
  bus?: InvalidationBus | undefined;
  connect?: (server: McpServerRecord, signal: AbortSignal) => Promise<McpConnection>;
  /** Told when a tool approved earlier is listed differently now (and so is disabled). */
  onToolChanged?: (server: McpServerRecord, tool: ListedMcpTool) => void;
  /** Milliseconds one tool call may take. */
  callTimeoutMs?: number;
}

/**
 * The organisations' MCP servers as tools: a connection per server (opened on first use, opened
 * again after a failure), the listing synced to the store on every refresh, and only tools whose
 * listed hash equals the approved one offered to agents.
 */
export function createMcpTools(deps: McpToolsDeps) {
  const connect = deps.connect ?? connectMcpServer;
  const connections = new Map<string, Promise<McpConnection>>();
  const callTimeoutMs = deps.callTimeoutMs ?? 60_000;

  const connectionOf = (server: McpServerRecord, signal: AbortSignal) => {
    let pending = connections.get(server.id);
    if (!pending) {
      pending = connect(server, signal);
      connections.set(server.id, pending);
      pending.catch(() => connections.delete(server.id));
    }
    return pending;
  };
  const drop = async (serverId: string) => {
    const pending = connections.get(serverId);
    connections.delete(serverId);
    await pending?.then((c) => c.close()).catch(() => undefined);
  };
  deps.bus?.subscribe('mcp-servers', (serverId) => {
    for (const id of serverId === undefined ? [...connections.keys()] : [serverId]) void drop(id);
  });

  /** Lists the server's tools now and records them; a failure is recorded on the server and rethrown. */
  async function refresh(server: McpServerRecord, signal: AbortSignal): Promise<McpToolRecord[]> {
    let listed: ListedMcpTool[];
    try {
      listed = await (await connectionOf(server, signal)).listTools(signal);
    } catch (error) {
      await drop(server.id);
      await deps.store.mcpServers.setError(server.id, (error as Error).message.slice(0, 500));
      throw error;
    }
    const before = new Map((await deps.store.mcpServers.tools(server.id)).map((t) => [t.name, t]));
    await deps.store.mcpServers.syncTools(server.id, listed);
    await deps.store.mcpServers.setError(server.id, null);
    for (const tool of listed) {
      const old = before.get(tool.name);
      if (old?.approvedHash && old.hash === old.approvedHash && tool.hash !== old.approvedHash) deps.onToolChanged?.(server, tool);
    }
    return deps.store.mcpServers.tools(server.id);
  }

  async function describe(server: McpServerRecord): Promise<McpServer> {
    const tools = await deps.store.mcpServers.tools(server.id);
    return {
      id: server.id,
      name: server.name,
      transport: server.transport,
      command: server.command,
      args: server.args,
      url: server.url,
      secretNames: Object.keys(server.secrets),
      lastError: server.lastError,
      createdAt: server.createdAt,
      tools: tools.map((t) => ({
        name: t.name,
        grantName: mcpGrantName(server.name, t.name),
        description: t.description,
        inputSchema: t.inputSchema,
        hash: t.hash,
        status: statusOf(t),
        readOnly: t.readOnly,
        approval: t.approval,
      })),
    };
  }

  function toAgentTool(server: McpServerRecord, tool: McpToolRecord): AgentTool {
    return {
      name: modelName(server.name, tool.name),
      displayName: mcpGrantName(server.name, tool.name),
      description: tool.description,
      inputSchema: (tool.inputSchema ?? { type: 'object' }) as JSONSchema7,
      parse: (input) => {
        if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input)))
          throw new ToolRefusal('The input must be a JSON object.');
        return input ?? {};
      },
      needsApproval: tool.approval === 'always' || (tool.approval === 'auto' && !tool.readOnly),
      async execute(input, context) {
        const connection = await connectionOf(server, context.signal);
        let result: Awaited<ReturnType<McpConnection['callTool']>>;
        try {
          result = await connection.callTool(tool.name, input, context.signal, callTimeoutMs);
        } catch (error) {
          if (context.signal.aborted) throw new ToolRefusal('The call was stopped.');
          throw error;
        }
        if (result.isError)
          throw new ToolRefusal(
            `The tool reported an error: ${String(typeof result.value === 'string' ? result.value : JSON.stringify(result.value)).slice(0, 2000)}`,
          );
        return { value: result.value };
      },
    };
  }

  /**
   * The granted tools of an organisation's servers that may run now: each server named by a grant
   * is listed again first, so a tool whose name, description or schema changed since its approval
   * is left out (and reported) until an admin approves it again. A server that cannot be reached
   * contributes nothing.
   */
  async function grantedTools(
    orgId: string,
    grants: ToolGrant[],
    signal: AbortSignal,
  ): Promise<{ tools: AgentTool[]; problems: string[] }> {
    const wanted = new Map<string, Set<string>>();
    for (const grant of grants) {
      const match = /^mcp\.([a-z0-9][a-z0-9-]*)\.(.+)$/.exec(grant.name);
      if (!match) continue;
      const [, server = '', tool = ''] = match;
      wanted.set(server, (wanted.get(server) ?? new Set()).add(tool));
    }
    const tools: AgentTool[] = [];
    const problems: string[] = [];
    for (const [name, names] of wanted) {
      const server = await deps.store.mcpServers.get(orgId, name);
      if (!server) {
        problems.push(`MCP server ${name} is not registered`);
        continue;
      }
      let listed: McpToolRecord[];
      try {
        listed = await refresh(server, signal);
      } catch (error) {
        problems.push(`MCP server ${name} cannot be reached: ${(error as Error).message}`);
        continue;
      }
      for (const tool of listed) {
        if (!names.has(tool.name)) continue;
        if (statusOf(tool) !== 'approved') {
          problems.push(
            `${mcpGrantName(name, tool.name)} is ${statusOf(tool) === 'changed' ? 'changed since its approval' : 'not approved'}`,
          );
          continue;
        }
        tools.push(toAgentTool(server, tool));
      }
    }
    return { tools, problems };
  }

  return {
    refresh,
    describe,
    grantedTools,
    /** Closes the server's connection (after it is deleted or changed), here and on every replica. */
    async forget(serverId: string) {
      await drop(serverId);
      deps.bus?.publish('mcp-servers', serverId);
    },
    async close() {
      await Promise.all([...connections.keys()].map(drop));
    },
  };
}

export type McpTools = ReturnType<typeof createMcpTools>;
