import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** What the test MCP server offers; `descriptions` can be changed while it runs. */
export interface McpTestTools {
  descriptions: { lookup: string; write_note: string };
  /** Notes written by `write_note`, and the `x-secret` header of each request. */
  notes: string[];
  headers: string[];
}

/** The test server's tools, built with `@modelcontextprotocol/sdk`: a read-only lookup, a note writer, a slow tool. */
export function buildMcpTestServer(state: McpTestTools): McpServer {
  const server = new McpServer({ name: 'axon-test', version: '1.0.0' });
  server.registerTool(
    'lookup',
    { description: state.descriptions.lookup, inputSchema: { q: z.string() }, annotations: { readOnlyHint: true } },
    async ({ q }) => ({ content: [{ type: 'text', text: `found: ${q}` }] }),
  );
  server.registerTool('write_note', { description: state.descriptions.write_note, inputSchema: { text: z.string() } }, async ({ text }) => {
    state.notes.push(text);
    return { content: [{ type: 'text', text: 'saved' }] };
  });
  server.registerTool(
    'slow',
    { description: 'Takes a minute.', inputSchema: {}, annotations: { readOnlyHint: true } },
    async (_args, extra) => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 60_000);
        extra.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      return { content: [{ type: 'text', text: 'late' }] };
    },
  );
  return server;
}

/** The test server over streamable HTTP on loopback, stateless: each request sees the current descriptions. */
export async function startMcpHttpServer(): Promise<{ url: string; state: McpTestTools; close(): Promise<void> }> {
  const state: McpTestTools = { descriptions: { lookup: 'Looks a word up.', write_note: 'Writes a note.' }, notes: [], headers: [] };
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
  };
  const http: Server = createServer(async (req, res) => {
    state.headers.push(String(req.headers['x-secret'] ?? ''));
    if (req.method !== 'POST') return res.writeHead(405).end();
    const server = buildMcpTestServer(state);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, await readBody(req));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
