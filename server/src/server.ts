import { join, resolve } from 'node:path';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import { createAgentsFromConfig } from './agents';
import type { ResolveHost } from './agents/tools/fetch-url';
import { buildApp } from './app';
import { createAuthService } from './auth/auth-service';
import { createJwtVerifier } from './auth/jwt-verifier';
import { createSso } from './auth/oidc-sso';
import { createDataDirBlobStore } from './blobs/data-dir-blob-store';
import { sharedBlobStore } from './blobs/open-blob-store';
import { combineCallerModels, createChatPipeline } from './chat/chat-pipeline';
import { type Config, ConfigError } from './config';
import { AppError } from './errors';
import { createActiveStreams } from './http/active-streams';
import { createMemoryInvalidationBus, createRedisInvalidationBus } from './invalidation/invalidation-bus';
import type { JobQueue } from './jobs/job-queue';
import type { IngestJobData } from './jobs/table-job-queue';
import { createRateLimits } from './limits/rate-limits';
import { aliasAwareCatalog } from './modelops/alias-models';
import { createModelOps, type ModelOps } from './modelops/model-ops';
import { syncConfiguredAliases } from './modelops/registry/sync-config';
import { createLogger } from './observability/logger';
import { createMetrics } from './observability/metrics';
import { createPromptLog, type PromptLog } from './observability/prompt-log';
import { createTracing } from './observability/tracing';
import { createUsageLedger } from './observability/usage-ledger';
import { createPromptStore } from './prompts/prompt-store';
import { createModelCatalog, createModelConnections } from './providers';
import { createEmbedderFromConfig } from './rag/embed/create-embedder';
import { createIngestionService, type IngestionLimits, type IngestionService } from './rag/ingest/ingestion-service';
import { PARSE_CONCURRENCY } from './rag/ingest/parse-in-worker';
import { createRerankerFromConfig } from './rag/search/rerank';
import { createRedactor } from './redaction/redact';
import { openStore, type Store } from './store';
import { createMemoryStreamLog, createRedisStreamLog, createStaleAnswerSweeper, type StaleAnswerSweeper, type StreamLog } from './streams';
import { createOrgSettings } from './tenancy/org-settings';

export interface AxonServer {
  app: FastifyInstance;
  store: Store;
  ingestion: IngestionService;
  logger: Logger;
  promptLog: PromptLog;
  /** Answers' events as they stream (in Redis with `REDIS_URL`). */
  streamLog: StreamLog;
  /** Looks for answers whose server died while writing them. */
  sweeper: StaleAnswerSweeper;
  /** Model aliases, their experiments' figures and the rollout controller. */
  modelOps: ModelOps;
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
    ocr: config.rag.ocr,
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
  const store = await openStore(config, {
    postgres: { onError: (error) => logger.error({ err: error }, 'writing usage or the prompt log to the database failed') },
  });
  logger.info({ engine: store.engine, ...store.migration }, 'database migrated');
  if (!store.vectors)
    logger.warn(
      'PostgreSQL has no pgvector extension: documents are searched by full text only (install pgvector and restart to search by meaning)',
    );
  let ready = false;
  // A store that one process owns: every answer it left streaming was interrupted by its last stop.
  // Replicas that share a store leave the answers others are writing alone (see the sweeper below).
  const sharedStore = Boolean(config.databaseUrl || config.redisUrl);
  if (!sharedStore) {
    const interrupted = await store.messages.markInterrupted();
    if (interrupted > 0) logger.warn({ count: interrupted }, 'answers interrupted by the last stop were marked as failed');
  }
  await store.sessions.deleteExpired(new Date());
  // The file's model aliases: new versions added, changed policies put. A version edited in the file
  // instead of appended refuses the start, before anything else is running.
  const aliasSync = await syncConfiguredAliases(store, config.aliases, store.audit).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  const syncedAliases = [...new Set([...aliasSync.created, ...aliasSync.versionsAdded.map((v) => v.alias), ...aliasSync.policiesPut])];
  if (syncedAliases.length > 0) logger.info(aliasSync, 'model aliases synced from the configuration');

  // What replicas share besides the database. ioredis and BullMQ are loaded only with REDIS_URL: one
  // connection for limits, stream logs and announcing changes, the bus's subscriber, and the job
  // queue's (BullMQ's blocking commands must wait out a reconnect, hence no retry limit).
  const ioredis = config.redisUrl ? await import('ioredis') : undefined;
  const redis =
    config.redisUrl && ioredis ? new ioredis.Redis(config.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true }) : undefined;
  const onBusError = (error: unknown) => logger.warn({ err: error }, 'announcing a change to the other replicas failed');
  const bus = redis
    ? await createRedisInvalidationBus({
        publisher: redis,
        subscriber: redis.duplicate(),
        channel: `${config.redisPrefix}:invalidate`,
        onError: onBusError,
      })
    : createMemoryInvalidationBus({ onError: onBusError });
  // Replicas still running the previous configuration drop what they cached of the aliases it changed.
  for (const alias of syncedAliases) bus.publish('model-aliases', alias);
  const queueRedis = config.redisUrl && ioredis ? new ioredis.Redis(config.redisUrl, { maxRetriesPerRequest: null }) : undefined;
  let ingestQueue: JobQueue<IngestJobData> | undefined;
  if (queueRedis) {
    const { createBullmqJobQueue } = await import('./jobs/bullmq-job-queue');
    ingestQueue = createBullmqJobQueue<IngestJobData>({
      connection: queueRedis,
      name: 'ingest',
      prefix: config.redisPrefix,
      concurrency: config.ingestQueue.concurrency ?? PARSE_CONCURRENCY,
      retry: { attempts: config.ingestQueue.attempts, backoffMs: config.ingestQueue.backoffMs },
      lockMs: config.ingestQueue.lockMs,
      stallCheckMs: config.ingestQueue.stallCheckMs,
      dedupeKey: (job) => job.documentId,
      onError: (error) => logger.error({ err: error }, 'ingest queue failed'),
    });
  }
  // Originals in PostgreSQL when the store is (every replica reads them), else in the data directory.
  const sharedBlobs = sharedBlobStore(store);
  const blobs = sharedBlobs ?? createDataDirBlobStore(resolve(config.dataDir));

  const auth = createAuthService({
    bus,
    store,
    sessionTtlMs: config.sessionTtlHours * 3_600_000,
    jwt: config.jwt ? createJwtVerifier(config.jwt, { cooldownMs: config.jwt.jwksCooldownSeconds * 1000 }) : undefined,
    jwtOrganization: config.jwt?.organization,
  });
  const orgs = createOrgSettings(store, { bus });
  if (config.admin && (await store.users.count()) === 0) {
    // Replicas starting at once on an empty database all get here: one creates the admin, the
    // others find it made (createFirstAdmin is atomic) and go on.
    const created = await auth.setup(config.admin).then(
      () => true,
      (error: unknown) => {
        if (error instanceof AppError && error.code === 'setup_complete') return false;
        throw error;
      },
    );
    if (created) logger.info({ email: config.admin.email }, 'admin account created from AXON_ADMIN_EMAIL');
  }
  const connections = await createModelConnections(config, options.fetch);
  // A default model on a connection that does not exist can never work: refused at start. One that
  // its connection does not list is a warning (in the log and /readyz), since listings change.
  const [defaultConnection, ...defaultModelId] = config.defaultModel?.split('/') ?? [];
  if (config.defaultModel && (!connections.some((c) => c.name === defaultConnection) || defaultModelId.join('/') === '')) {
    await bus.close();
    await Promise.all([redis?.quit(), queueRedis?.quit()].map((closing) => closing?.catch(() => undefined)));
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
  // A replica that changes what the connections offer announces it; every replica lists again.
  bus.subscribe('models', () => models.forget());
  // Listed once at start, so that a server that cannot be reached or lists nothing is a warning
  // in the log and in /readyz from the first minute, not at the first request.
  void models
    .list()
    .then(() => models.checkDefaultModel())
    .then((problem) => problem && logger.warn({ defaultModel: config.defaultModel }, problem));
  const streams = createActiveStreams();
  const embedder = createEmbedderFromConfig(config);
  const reranker = createRerankerFromConfig(config);
  const prompts = createPromptStore(store.prompts);
  // Model aliases are served beside the catalog's models; their figures are shared through Redis.
  const priceOf = (model: string, input: number, output: number) => {
    const price = config.prices[model];
    return price ? (input * price.input + output * price.output) / 1_000_000 : 0;
  };
  const metrics = createMetrics({ activeStreams: () => streams.size });
  const modelOps = createModelOps({
    registry: store.modelRegistry,
    metricsRegistry: metrics.registry,
    embed: embedder ? (texts) => embedder.embed(texts) : undefined,
    catalog: models,
    bus,
    redis: redis ? { connection: redis, prefix: config.redisPrefix } : undefined,
    controlIntervalMs: config.modelOps.controlIntervalMs,
    cost: priceOf,
    onError: (error, what) => logger.warn({ err: error }, `model operations: ${what} failed`),
    onControl: (change) => {
      logger.info({ alias: change.alias, action: change.action, reason: change.reason }, 'a rollout changed');
      void store.audit
        .append({
          actorId: null,
          action: `deployment.${change.action}`,
          target: `alias:${change.alias}`,
          details: { reason: change.reason, state: change.state },
        })
        .catch((error: unknown) => logger.error({ err: error }, 'auditing a rollout change failed'));
    },
  });
  const agents = createAgentsFromConfig(config, {
    store,
    models: aliasAwareCatalog(models, modelOps.aliases),
    prompts,
    embedder,
    logger,
    resolveHost: options.resolveHost,
    blobs: sharedBlobs,
    bus,
  });
  const pipeline = createChatPipeline({
    models,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    callerModels: combineCallerModels(agents.callerModels, modelOps.aliases),
  });
  // A collection's documents changed: answers cached from it are not served again.
  const collectionChanged = (collectionId: string) =>
    void modelOps.cache
      .bumpCollection(collectionId)
      .catch((error: unknown) => logger.warn({ err: error }, 'invalidating cached answers failed'));
  const indexing = createIngestionService({
    onIndexed: collectionChanged,
    embedder,
    store,
    blobs,
    queue: ingestQueue,
    retry: { attempts: config.ingestQueue.attempts, backoffMs: config.ingestQueue.backoffMs },
    concurrency: config.ingestQueue.concurrency,
    limits: ingestionLimits(config),
    chunking: { maxTokens: config.rag.chunkTokens, overlapTokens: config.rag.chunkOverlapTokens },
    logger,
    pollMs: 2000,
  });
  const ingestion: typeof indexing = {
    ...indexing,
    async deleteDocument(document) {
      await indexing.deleteDocument(document);
      collectionChanged(document.collectionId);
    },
  };
  await ingestion.start();
  // Build the in-memory search indexes now rather than on the first question.
  await store.searchIndex.warm();
  const promptLog = createPromptLog(store.promptLog, {
    mode: config.promptLog.mode,
    retentionDays: config.promptLog.retentionDays,
    redaction: { types: config.redaction.promptLogTypes, phoneRegions: config.redaction.phoneRegions, custom: config.redaction.patterns },
    onError: (error) => logger.error({ err: error }, 'pruning the prompt log failed'),
  });
  // Answers' events for resuming and Stop: in Redis when replicas share it, else in this process.
  const streamLimits = { maxEvents: config.streams.maxEvents, keepSeconds: config.streams.keepSeconds };
  const streamLog = redis
    ? createRedisStreamLog({
        redis,
        prefix: `${config.redisPrefix}:`,
        ...streamLimits,
        onError: (error) => logger.warn({ err: error }, 'the stream log lost its Redis connection'),
      })
    : createMemoryStreamLog(streamLimits);
  // Every replica looks for answers whose writer stopped giving heartbeats (it died) and marks them interrupted.
  const sweeper = createStaleAnswerSweeper({
    messages: store.messages,
    log: streamLog,
    staleAfterMs: config.streams.staleAfterMs,
    intervalMs: Math.max(500, Math.round(config.streams.staleAfterMs / 3)),
    onError: (error) => logger.error({ err: error }, 'marking interrupted answers failed'),
    onMarked: (answers) =>
      logger.warn({ count: answers.length, messageIds: answers.map((a) => a.id) }, 'answers whose server stopped were marked as failed'),
  });
  if (sharedStore) await sweeper.sweep();
  sweeper.start();
  const usage = createUsageLedger(store.usage, config.prices);
  // The limits have a connection of their own that pipelines the commands issued in the same tick:
  // a request counts against several limits at once (user and key, requests, tokens and streams).
  const limitsRedis = redis?.duplicate({ enableAutoPipelining: true });
  const limits = createRateLimits(config.limits, {
    ...(limitsRedis ? { redis: limitsRedis } : {}),
    prefix: config.redisPrefix,
    spent: (subject, since) => usage.spentSince(subject, since),
    orgLimits: async (orgId) => (await orgs.get(orgId))?.limits ?? {},
  });
  const tracing = await createTracing({ endpoint: config.tracing.endpoint, exportDelayMs: config.tracing.exportDelayMs });
  const webDir = config.webDir ?? join(import.meta.dirname, '../../web/dist');
  const app = await buildApp({
    config: { ...config, webDir },
    store,
    auth,
    models,
    refreshModels: () => bus.publish('models'),
    pipeline,
    streams,
    streamLog,
    logger,
    ingestion,
    blobs,
    embedder,
    reranker,
    limits,
    redactor: guardrailRedactor,
    promptLog,
    prompts,
    deployments: {
      checkModel: async (modelId) => {
        await models.resolve(modelId);
      },
      onChange: (alias) => bus.publish('model-aliases', alias),
      describe: (alias) => modelOps.describe(alias),
    },
    modelOps,
    agents,
    sso: createSso(config.sso),
    orgs,
    usage,
    tracer: tracing.tracer,
    metrics,
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
    streamLog,
    sweeper,
    modelOps,
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
        await queueRedis?.quit().catch(() => undefined);
        await agents.close();
        await modelOps.close();
        await bus.close();
        await sweeper.stop();
        await streamLog.close();
        // The limits close their own connection; the shared one goes after everything that uses it.
        await limits.close();
        await redis?.quit().catch(() => undefined);
        await promptLog.close();
        await usage.flush().catch((error) => logger.error({ err: error }, 'writing the last usage rows failed'));
        await tracing.shutdown();
        await store.close();
        logger.info('stopped');
      })();
      return closing;
    },
  };
}
