// The test MCP server over stdio (run with `node`): the same tools as mcp-test-server.ts, built with
// @modelcontextprotocol/sdk. `MCP_LOOKUP_DESCRIPTION` sets the lookup tool's description.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'axon-test-stdio', version: '1.0.0' });
server.registerTool(
  'lookup',
  {
    description: process.env.MCP_LOOKUP_DESCRIPTION ?? 'Looks a word up.',
    inputSchema: { q: z.string() },
    annotations: { readOnlyHint: true },
  },
  async ({ q }) => ({ content: [{ type: 'text', text: `found: ${q} (secret ${process.env.MCP_SECRET ? 'set' : 'missing'})` }] }),
);
server.registerTool('write_note', { description: 'Writes a note.', inputSchema: { text: z.string() } }, async () => ({
  content: [{ type: 'text', text: 'saved' }],
}));
server.registerTool(
  'slow',
  { description: 'Takes a minute.', inputSchema: {}, annotations: { readOnlyHint: true } },
  async (_args, extra) => {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 60_000);
      extra.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return { content: [{ type: 'text', text: 'late' }] };
  },
);
await server.connect(new StdioServerTransport());
