import { createHash } from 'node:crypto';
import type { McpServerRecord } from '../../store';

/** A tool as an MCP server lists it. */
export interface ListedMcpTool {
  name: string;
  description: string;
  inputSchema: unknown;
  /** The server's `readOnlyHint` annotation. */
  readOnly: boolean;
  /** SHA-256 over the name, description and input schema (keys sorted), what an admin approves. */
  hash: string;
}

export interface McpCallResult {
  /** The text parts joined, or the structured content. */
  value: unknown;
  isError: boolean;
}

/** One open connection to an MCP server. */
export interface McpConnection {
  listTools(signal: AbortSignal): Promise<ListedMcpTool[]>;
  callTool(name: string, args: unknown, signal: AbortSignal, timeoutMs: number): Promise<McpCallResult>;
  close(): Promise<void>;
}

/** JSON with object keys sorted, so that the same tool always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value ?? null);
}

export function hashMcpTool(tool: { name: string; description: string; inputSchema: unknown }): string {
  return createHash('sha256')
    .update(canonicalJson({ name: tool.name, description: tool.description, inputSchema: tool.inputSchema ?? {} }))
    .digest('hex');
}

/**
 * Connects to a registered server with `@modelcontextprotocol/sdk`: a child process over stdio
 * (its command, arguments and environment as the admin set them, no shell), or streamable HTTP
 * with the admin's headers.
 */
export async function connectMcpServer(server: McpServerRecord, signal: AbortSignal): Promise<McpConnection> {
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const client = new Client({ name: 'axon', version: '1' });
  let transport: import('@modelcontextprotocol/sdk/shared/transport.js').Transport;
  if (server.transport === 'stdio') {
    const { StdioClientTransport, getDefaultEnvironment } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    if (!server.command) throw new Error('The server has no command.');
    transport = new StdioClientTransport({
      command: server.command,
      args: server.args,
      env: { ...getDefaultEnvironment(), ...server.secrets },
      stderr: 'ignore',
    });
  } else {
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    if (!server.url) throw new Error('The server has no URL.');
    transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: server.secrets } });
  }
  await client.connect(transport, { signal, timeout: 15_000 });
  return {
    async listTools(listSignal) {
      const tools: ListedMcpTool[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 20; page++) {
        const result = await client.listTools(cursor ? { cursor } : undefined, { signal: listSignal, timeout: 15_000 });
        for (const tool of result.tools) {
          const description = tool.description ?? '';
          tools.push({
            name: tool.name,
            description,
            inputSchema: tool.inputSchema,
            readOnly: tool.annotations?.readOnlyHint === true,
            hash: hashMcpTool({ name: tool.name, description, inputSchema: tool.inputSchema }),
          });
        }
        cursor = result.nextCursor;
        if (!cursor) break;
      }
      return tools;
    },
    async callTool(name, args, callSignal, timeoutMs) {
      const result = await client.callTool({ name, arguments: (args ?? {}) as Record<string, unknown> }, undefined, {
        signal: callSignal,
        timeout: timeoutMs,
      });
      const content = Array.isArray(result.content) ? (result.content as Array<{ type: string; text?: string }>) : [];
      const text = content
        .filter((c) => c.type === 'text')
        .map((c) => c.text ?? '')
        .join('\n');
      return { value: result.structuredContent ?? text, isError: result.isError === true };
    },
    close: () => client.close(),
  };
}
