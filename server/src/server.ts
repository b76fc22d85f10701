import { join, resolve } from 'node:path';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import { createAgentsFromConfig } from './agents';
import type { ResolveHost } from './agents/tools/fetch-url';
import { buildApp } from './app';
import { createAuthService } from './auth/auth-service';
import { createJwtVerifier } from './auth/jwt-verifier';
import { createSso } from './auth/oidc-sso';
import { createChatPipeline } from './chat/chat-pipeline';
import { type Config, ConfigError } from './config';
import { AppError } from './errors';
import { createActiveStreams } from './http/active-streams';
import { createRateLimits } from './limits/rate-limits';
import { createLogger } from './observability/logger';
import { createPromptLog, type PromptLog } from './observability/prompt-log';
import { createTracing } from './observability/tracing';
import { createUsageLedger } from './observability/usage-ledger';
import { createPromptStore } from './prompts/prompt-store';
import { createModelCatalog, createModelConnections } from './providers';
import { createEmbedderFromConfig } from './rag/embed/create-embedder';
import { createIngestionService, type IngestionLimits, type IngestionService } from './rag/ingest/ingestion-service';
import { createRerankerFromConfig } from './rag/search/rerank';
import { createRedactor } from './redaction/redact';
import { openSqliteStore, type Store } from './store';
import { createOrgSettings } from './tenancy/org-settings';

export interface AxonServer {
  app: FastifyInstance;
  store: Store;
  ingestion: IngestionService;
  logger: Logger;
  promptLog: PromptLog;
  /** Listens on the configured host and port; resolves with the address. */
  listen(): Promise<string>;
  /** Stops accepting, lets streams finish up to the grace period, then stops and saves them. */
  shutdown(): Promise<void>;
}

export interface CreateServerOptions {
  logger?: Logger;
  fetch?: typeof fetch;
  /** Told of every route as the app registers it. */
  onRoute?: (route: RouteOptions) => void;
  /** How `fetch_url` resolves host names (the system resolver when absent). */
  resolveHost?: ResolveHost;
}

/** The ingestion limits from the configuration, in bytes where the configuration says MB. */
export function ingestionLimits(config: Config): IngestionLimits {
  return {
    maxFileBytes: config.rag.maxUploadMb * 1_048_576,
    maxPages: config.rag.maxPages,
    maxDecompressedBytes: config.rag.maxDecompressedMb * 1_048_576,
    maxChars: config.rag.maxChars,
    maxCsvRows: config.rag.maxCsvRows,
    parseTimeoutMs: config.rag.parseTimeoutMs,
    parseMemoryMb: config.rag.parseMemoryMb,
  };
}

/** The composition root: picks implementations from the configuration and wires them together. */
export async function createServer(config: Config, options: CreateServerOptions = {}): Promise<AxonServer> {
  // A redactor for log lines and one for the guardrail, each with its configured types; the prompt
  // log's thread makes its own.
  const logRedaction = { types: config.redaction.logTypes, phoneRegions: config.redaction.phoneRegions, custom: config.redaction.patterns };
  const logRedactor = createRedactor(logRedaction);
  const guardrailRedactor = createRedactor({
    types: config.redaction.guardrailTypes,
    phoneRegions: config.redaction.phoneRegions,
    custom: config.redaction.patterns,
  });
  const logger = options.logger ?? createLogger({ level: config.logLevel, redactor: logRedactor });
  const store = openSqliteStore({ path: resolve(config.dataDir, 'axon.db') });
  let ready = false;
  const interrupted = await store.messages.markInterrupted();
  if (interrupted > 0) logger.warn({ count: interrupted }, 'answers interrupted by the last stop were marked as failed');
  await store.sessions.deleteExpired(new Date());

  const auth = createAuthService({
    store,
    sessionTtlMs: config.sessionTtlHours * 3_600_000,
    jwt: config.jwt ? createJwtVerifier(config.jwt, { cooldownMs: config.jwt.jwksCooldownSeconds * 1000 }) : undefined,
    jwtOrganization: config.jwt?.organization,
  });
  const orgs = createOrgSettings(store);
  if (config.admin && (await store.users.count()) === 0) {
    await auth.setup(config.admin);
    logger.info({ email: config.admin.email }, 'admin account created from AXON_ADMIN_EMAIL');
  }
  const connections = await createModelConnections(config, options.fetch);
  // A default model on a connection that does not exist can never work: refused at start. One that
  // its connection does not list is a warning (in the log and /readyz), since listings change.
  const [defaultConnection, ...defaultModelId] = config.defaultModel?.split('/') ?? [];
  if (config.defaultModel && (!connections.some((c) => c.name === defaultConnection) || defaultModelId.join('/') === '')) {
    await store.close();
    throw new ConfigError([
      `AXON_DEFAULT_MODEL (defaultModel): '${config.defaultModel}' names no connection; use connection/model with one of: ${connections.map((c) => c.name).join(', ') || '(no connections are configured)'}`,
    ]);
  }
  const models = createModelCatalog({
    connections,
    ttlMs: config.modelsCacheTtlMs,
    defaultModel: config.defaultModel,
    onListError: (connection, error) => logger.warn({ connection, err: error }, 'listing models failed'),
  });
  // Listed once at start, so that a server that cannot be reached or lists nothing is a warning
  // in the log and in /readyz from the first minute, not at the first request.
  void models
    .list()
    .then(() => models.checkDefaultModel())
    .then((problem) => problem && logger.warn({ defaultModel: config.defaultModel }, problem));
  const streams = createActiveStreams();
  const filesDir = resolve(config.dataDir, 'files');
  const embedder = createEmbedderFromConfig(config);
  const reranker = createRerankerFromConfig(config);
  const prompts = createPromptStore(store.db);
  const agents = createAgentsFromConfig(config, { store, models, prompts, embedder, logger, resolveHost: options.resolveHost });
  const pipeline = createChatPipeline({ models, upstreamTimeoutMs: config.upstreamTimeoutMs, callerModels: agents.callerModels });
  const ingestion = createIngestionService({
    embedder,
    store,
    filesDir,
    limits: ingestionLimits(config),
    chunking: { maxTokens: config.rag.chunkTokens, overlapTokens: config.rag.chunkOverlapTokens },
    logger,
    pollMs: 2000,
  });
  await ingestion.start();
  // Build the in-memory search indexes now rather than on the first question.
  await store.searchIndex.warm();
  const promptLog = createPromptLog(store.db, {
    mode: config.promptLog.mode,
    retentionDays: config.promptLog.retentionDays,
    redactor: logRedactor,
    dbPath: resolve(config.dataDir, 'axon.db'),
    patterns: config.redaction.patterns,
    redaction: { types: config.redaction.promptLogTypes, phoneRegions: config.redaction.phoneRegions },
  });
  // ioredis is loaded only when limits are shared through Redis.
  const redis = config.redisUrl
    ? new (await import('ioredis')).Redis(config.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true })
    : undefined;
  const usage = createUsageLedger(store.db, config.prices);
  const limits = createRateLimits(config.limits, {
    ...(redis ? { redis } : {}),
    spent: (subject, since) => usage.spentSince(subject, since),
    orgLimits: async (orgId) => (await orgs.get(orgId))?.limits ?? {},
  });
  const tracing = createTracing({ endpoint: config.tracing.endpoint, exportDelayMs: config.tracing.exportDelayMs });
  const webDir = config.webDir ?? join(import.meta.dirname, '../../web/dist');
  const app = await buildApp({
    config: { ...config, webDir },
    store,
    auth,
    models,
    pipeline,
    streams,
    logger,
    ingestion,
    filesDir,
    embedder,
    reranker,
    limits,
    redactor: guardrailRedactor,
    promptLog,
    prompts,
    agents,
    sso: createSso(config.sso),
    orgs,
    usage,
    tracer: tracing.tracer,
    isReady: () => ready,
    ...(options.onRoute ? { onRoute: options.onRoute } : {}),
  });
  ready = true;

  let closing: Promise<void> | undefined;
  return {
    app,
    store,
    ingestion,
    logger,
    promptLog,
    async listen() {
      const address = await app.listen({ port: config.port, host: config.host });
      void models.list();
      return address;
    },
    shutdown() {
      closing ??= (async () => {
        ready = false;
        const closed = app.close();
        if (streams.size > 0) {
          logger.info({ streams: streams.size, graceMs: config.shutdownGraceMs }, 'waiting for streams to finish');
          await streams.drain(config.shutdownGraceMs);
          streams.abortAll(new AppError('unavailable', { detail: 'The server is shutting down' }));
          await streams.drain(2000);
        }
        // Connections that served a stream are idle now; close them instead of waiting for their keep-alive to lapse.
        app.server.closeIdleConnections();
        const force = setTimeout(() => app.server.closeAllConnections(), 2000).unref();
        await closed;
        clearTimeout(force);
        await ingestion.stop();
        await agents.close();
        await limits.close();
        await promptLog.close();
        usage.flush();
        await tracing.shutdown();
        await store.close();
        logger.info('stopped');
      })();
      return closing;
    },
  };
}
