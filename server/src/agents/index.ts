import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store';
import type { CallerModels } from '../chat/chat-pipeline';
import type { Config } from '../config';
import type { InvalidationBus } from '../invalidation/invalidation-bus';
import type { PromptStore } from '../prompts/prompt-store';
import type { ModelCatalog } from '../providers';
import type { Embedder } from '../rag/embed/embedder';
import type { Store } from '../store';
import { AGENT_PREFIX, type AgentService, createAgentService } from './agent-service';
import { type ApprovalSignals, createApprovalSignals } from './approval-gate';
import { createMcpTools, type McpTools } from './mcp/mcp-tools';
import { createDatasetFiles, type DatasetFiles } from './tools/dataset-files';
import type { ResolveHost } from './tools/fetch-url';
import { createQueryRunner } from './tools/query-runner';

export { registerAgentRoutes } from './agent-routes';
export { AGENT_PREFIX, type AgentService } from './agent-service';

/** Agents and what they need, wired once by the composition root. */
export interface Agents {
  service: AgentService;
  /** The hook beside the model catalog: each caller's organisation's agents as models. */
  callerModels: CallerModels;
  mcp: McpTools;
  approvalSignals: ApprovalSignals;
  /** The datasets' SQLite files: built and cached under `<dataDir>/datasets`, shared through `blobs` when given. */
  datasetFiles: DatasetFiles;
  close(): Promise<void>;
}

export function createAgentsFromConfig(
  config: Pick<Config, 'dataDir' | 'rag'>,
  deps: {
    store: Store;
    models: ModelCatalog;
    prompts: PromptStore;
    embedder?: Embedder | undefined;
    logger: Logger;
    resolveHost?: ResolveHost | undefined;
    /** The blob store every replica reads (PostgreSQL); without it dataset files stay in the data directory. */
    blobs?: BlobStore | undefined;
    /** Tells the other replicas of approvals decided, MCP servers changed and dataset files replaced. */
    bus?: InvalidationBus | undefined;
  },
): Agents {
  const datasetFiles = createDatasetFiles({ dir: resolve(config.dataDir, 'datasets'), blobs: deps.blobs, bus: deps.bus });
  const approvalSignals = createApprovalSignals(deps.bus);
  const mcp = createMcpTools({
    bus: deps.bus,
    store: deps.store,
    onToolChanged: (server, tool) => {
      deps.logger.warn(
        { server: server.name, tool: tool.name },
        'an approved MCP tool changed; it is disabled until an admin approves it again',
      );
      void deps.store.audit
        .append({
          action: 'mcp.tool_disabled',
          actorEmail: 'system',
          orgId: server.orgId,
          target: `mcp_server:${server.id}`,
          details: { server: server.name, tool: tool.name, hash: tool.hash },
        })
        .catch(() => undefined);
    },
  });
  const service = createAgentService({
    store: deps.store,
    models: deps.models,
    prompts: deps.prompts,
    mcp,
    queryRunner: createQueryRunner(),
    approvalSignals,
    datasetFiles,
    embedder: deps.embedder,
    contextTokens: config.rag.contextTokens,
    resolveHost: deps.resolveHost,
  });
  return {
    service,
    callerModels: {
      owns: (id) => id.startsWith(AGENT_PREFIX),
      list: (request) => service.listModels(request),
      resolve: (id, request) => service.resolve(id, request),
    },
    mcp,
    approvalSignals,
    datasetFiles,
    close: () => service.close(),
  };
}
