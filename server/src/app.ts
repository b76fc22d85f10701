import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyCors from '@fastify/cors';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import { SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController, type RouteOptions } from 'fastify';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { type Agents, registerAgentRoutes } from './agents';
import { registerAccountRoutes } from './auth/account-routes';
import { registerAuthRoutes, SESSION_COOKIE } from './auth/auth-routes';
import type { AuthService } from './auth/auth-service';
import type { Sso } from './auth/oidc-sso';
import { can } from './auth/permissions';
import type { BlobStore } from './blobs/blob-store';
import { type CallerModels, type ChatPipeline, combineCallerModels } from './chat/chat-pipeline';
import { registerChatRoutes } from './chat/chat-routes';
import { registerConversationRoutes } from './chat/conversation-routes';
import { registerConversationSharingRoutes } from './chat/conversation-sharing-routes';
import { registerFeedbackRoutes } from './chat/feedback-routes';
import { registerPreferencesRoutes } from './chat/preferences-routes';
import type { Config } from './config';
import { AppError } from './errors';
import { registerAnthropicMessagesRoutes } from './gateway/anthropic-messages-routes';
import { registerGatewayRoutes } from './gateway/gateway-routes';
import { registerResponsesRoutes } from './gateway/responses-routes';
import type { ActiveStreams } from './http/active-streams';
import type { RateLimits } from './limits/rate-limits';
import { aliasAwareCatalog } from './modelops/alias-models';
import { registerFeedbackV1Routes } from './modelops/feedback-v1-routes';
import type { ModelOps } from './modelops/model-ops';
import { type DescribeDeployment, registerDeploymentRoutes } from './modelops/registry/deployment-routes';
import { registerAuditRoutes } from './observability/audit-routes';
import { createMetrics, type Metrics } from './observability/metrics';
import type { PromptLog } from './observability/prompt-log';
import type { UsageLedger } from './observability/usage-ledger';
import { registerUsageRoutes } from './observability/usage-routes';
import { registerPromptRoutes } from './prompts/prompt-routes';
import type { PromptStore } from './prompts/prompt-store';
import type { Redactor } from './redaction/redact';
import { registerOrgRoutes } from './tenancy/org-routes';
import type { OrgSettings } from './tenancy/org-settings';
import './http/fastify-types';
import { logRequest } from './http/log-request';
import { sendError, toAppErrorOrInternal } from './http/problem';
import type { ModelCatalog } from './providers';
import { registerCollectionRoutes } from './rag/collection-routes';
import type { Embedder } from './rag/embed/embedder';
import type { IngestionService } from './rag/ingest/ingestion-service';
import type { Reranker } from './rag/search/rerank';
import { registerSearchRoutes } from './rag/search-routes';
import { HOME_ORG_ID, type Store } from './store';
import type { StreamLog } from './streams';

export interface AppDeps {
  config: Config;
  store: Store;
  auth: AuthService;
  models: ModelCatalog;
  /** Has every replica list the connections' models again. */
  refreshModels?: (() => void) | undefined;
  pipeline: ChatPipeline;
  streams: ActiveStreams;
  /** Answers' events as they stream (memory, or Redis shared by replicas): resuming and Stop. */
  streamLog: StreamLog;
  logger: Logger;
  ingestion: IngestionService;
  /** The configured embedder, if any (vector search and `/v1/embeddings`). */
  embedder?: Embedder | undefined;
  /** The configured rerank model, if any (for collections with reranking on). */
  reranker?: Reranker | undefined;
  /** Requests, tokens and streams per user and API key. */
  limits: RateLimits;
  /** Personal data and secrets out of logs, the prompt log and (with the guardrail) prompts. */
  redactor: Redactor;
  promptLog: PromptLog;
  prompts: PromptStore;
  /**
   * Model aliases' admin API (`/api/deployments`): how a version's model is checked (the catalog's
   * `resolve` when not given), the live figures of a deployment, and who is told of a changed alias.
   */
  deployments?:
    | {
        checkModel?: ((modelId: string) => Promise<void>) | undefined;
        describe?: DescribeDeployment | undefined;
        onChange?: ((alias: string) => void) | undefined;
      }
    | undefined;
  /** Model aliases served as models, with their experiments' figures and feedback (absent: none). */
  modelOps?: ModelOps | undefined;
  /** Agents, their tools and MCP servers (absent: no agent routes, no `agent/…` models). */
  agents?: Agents | undefined;
  /** Identity providers for single sign-on (none configured: an empty list). */
  sso: Sso;
  /** Organisations' limits and settings, cached. */
  orgs: OrgSettings;
  usage: UsageLedger;
  /** OpenTelemetry: a no-op tracer unless an OTLP endpoint is configured. */
  tracer?: Tracer;
  /** Prometheus metrics; made here when not given. */
  metrics?: Metrics;
  /** Where uploaded originals are kept (the data directory, or PostgreSQL shared by the replicas). */
  blobs: BlobStore;
  /** False until start-up work (migrations, first admin) is done; `/readyz` reports it. */
  isReady?: () => boolean;
  /** Called with every route as it is registered (the security tests enumerate routes with it). */
  onRoute?: (route: RouteOptions) => void;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const safeEqual = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Builds the whole HTTP app from its dependencies. No I/O happens here; tests build it too. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, store, auth, logger } = deps;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Fastify's own per-request lines are off: `logRequest` writes one line per request instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    requestIdHeader: false,
    genReqId: () => crypto.randomUUID(),
    routerOptions: { maxParamLength: 500 },
    // A path Fastify refuses before routing (bad percent-encoding, a parameter over the length
    // limit) is answered like every other error: problem+json, or OpenAI's shape under /v1.
    frameworkErrors: (error, request, reply) => {
      sendError(request, reply, toAppErrorOrInternal(error).appError);
    },
  });
  const { onRoute } = deps;
  if (onRoute) app.addHook('onRoute', (route) => onRoute(route));

  await app.register(fastifyCookie);
  // Browser clients of `/v1` on the configured origins; preflights are answered here, before the
  // guard, so they need no key. The web app's own `/api` is same-origin only.
  const corsOrigins = config.corsOrigins;
  // Two fixed answers, made once: `/v1` from an allowed origin (reflected), and everything else.
  const corsCommon = {
    methods: ['GET', 'POST', 'DELETE'],
    exposedHeaders: ['retry-after', 'x-request-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy'],
    maxAge: 600,
    strictPreflight: false,
  };
  const corsAllowed = { ...corsCommon, origin: true };
  const corsDenied = { ...corsCommon, origin: false };
  await app.register(fastifyCors, {
    hook: 'onRequest',
    delegator: (request, callback) => {
      const v1 = request.url === '/v1' || request.url.startsWith('/v1/');
      const origin = request.headers.origin;
      const allowed = v1 && origin !== undefined && (corsOrigins.includes('*') || corsOrigins.includes(origin));
      callback(null, allowed ? corsAllowed : corsDenied);
    },
  });
  // Helmet's headers on every response, its middleware made once (the Fastify plugin builds it again
  // for each request, parsing the policy every time).
  const secureHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    crossOriginEmbedderPolicy: false,
  });
  app.addHook('onRequest', (request, reply, done) =>
    secureHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined)),
  );

  // A file over the size limit is reported by the upload route (file by file), not thrown.
  await app.register(fastifyMultipart, {
    throwFileSizeLimit: false,
    limits: { fileSize: config.rag.maxUploadMb * 1_048_576, files: config.rag.maxFilesPerUpload },
  });

  const metrics = deps.metrics ?? createMetrics({ activeStreams: () => deps.streams.size });
  app.decorate('metrics', metrics);
  app.decorate('usage', deps.usage);
  const tracer = deps.tracer ?? trace.getTracer('axon-off');
  app.decorate('tracer', tracer);
  app.decorateRequest('span', undefined);
  app.decorateRequest('principal', undefined);
  app.decorateRequest('startedAt', 0);
  app.decorateRequest('accessLogged', false);

  // The one guard: who is calling, may they call this route, and did a cookie write carry its CSRF token.
  app.addHook('onRequest', async (request, reply) => {
    request.startedAt = performance.now();
    const url = request.routeOptions.url;
    if (!url || !(url.startsWith('/api/') || url.startsWith('/v1/'))) return;
    // Every API answer names its request, as its log line and trace do.
    reply.header('x-request-id', request.id);
    request.span = tracer.startSpan(`${request.method} ${url}`, {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': request.method, 'http.route': url },
    });
    if (!request.routeOptions.config?.multipart && request.headers['content-type']?.toLowerCase().startsWith('multipart/')) {
      throw new AppError('unsupported_media_type', { detail: 'This endpoint takes JSON.' });
    }
    const access = request.routeOptions.config?.access ?? 'chat';
    const header = request.headers.authorization;
    let bearer: string | undefined;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match) throw new AppError('unauthenticated', { detail: 'Send the API key as "Authorization: Bearer axn_..."' });
      bearer = match[1];
    } else if (request.url.startsWith('/v1/messages') && typeof request.headers['x-api-key'] === 'string') {
      // Anthropic's SDKs send the key as `x-api-key`.
      bearer = request.headers['x-api-key'].trim() || undefined;
    }
    request.principal = await auth.authenticate({ bearer, sessionToken: request.cookies[SESSION_COOKIE] });
    if (access === 'public') return;
    if (!request.principal) throw new AppError('unauthenticated');
    if (access !== 'signed-in' && !can(request.principal.user, access))
      throw new AppError('forbidden', {
        detail: `This needs the ${access} permission, which the ${request.principal.user.role} role does not have.`,
      });
    const key = request.principal.apiKey;
    if (key) {
      const scopes = request.routeOptions.config?.scopes ?? [access === 'chat' ? 'chat' : 'admin'];
      if (!scopes.some((scope) => key.scopes.includes(scope)))
        throw new AppError('forbidden', {
          detail: `This API key lacks the ${scopes.join(' or ')} scope; it has ${key.scopes.join(', ')}.`,
        });
    }
    if (!SAFE_METHODS.has(request.method) && !auth.checkCsrf(request.principal, request.headers['x-csrf-token'] as string | undefined)) {
      throw new AppError('csrf_failed', { detail: 'Send the x-csrf-token header from GET /api/auth/session with every write.' });
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (!route || route === '/healthz') return;
    metrics.observeRequest(route, request.method, reply.statusCode, (performance.now() - request.startedAt) / 1000);
    if (request.span) {
      request.span.setAttributes({
        'http.response.status_code': reply.statusCode,
        ...(request.principal ? { 'enduser.id': request.principal.user.id } : {}),
      });
      if (reply.statusCode >= 500) request.span.setStatus({ code: SpanStatusCode.ERROR });
      request.span.end();
    }
    // A streamed route writes its own line, with the model call's figures, when its stream ends.
    if (!request.accessLogged) logRequest(request, reply.statusCode);
  });

  // Prometheus: the installation's figures (every organisation's), so `AXON_METRICS_TOKEN` as bearer
  // token, or an admin of the first organisation (session, or key with the admin scope). Other
  // organisations' admins read their own figures on the usage page.
  app.get('/metrics', { config: { access: 'public' } }, async (request, reply) => {
    const header = request.headers.authorization;
    const token = config.metricsToken;
    const byToken = token !== undefined && header !== undefined && safeEqual(header, `Bearer ${token}`);
    if (!byToken) {
      const bearer = /^Bearer\s+(axn_\S+)\s*$/i.exec(header ?? '')?.[1];
      const principal = await auth.authenticate({ bearer, sessionToken: request.cookies[SESSION_COOKIE] });
      if (!principal) throw new AppError('unauthenticated', { detail: 'Send an admin API key, or AXON_METRICS_TOKEN, as bearer token.' });
      if (
        !can(principal.user, 'metrics:read') ||
        principal.user.orgId !== HOME_ORG_ID ||
        (principal.apiKey && !principal.apiKey.scopes.includes('admin'))
      )
        throw new AppError('forbidden', {
          detail:
            'Metrics cover the whole installation: they need AXON_METRICS_TOKEN or an admin of the first organisation (and a key with the admin scope).',
        });
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.setErrorHandler(async (error, request, reply) => {
    const { appError, unexpected } = toAppErrorOrInternal(error);
    if (unexpected) request.log.error({ err: error }, 'unhandled error');
    if (appError.code === 'rate_limited') metrics.rateLimited(String(appError.extensions?.limit ?? 'sign-in attempts'));
    if (reply.sent || reply.raw.headersSent) return;
    return sendError(request, reply, appError);
  });

  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { access: 'public' } }, async (_request, reply) => {
    const ready = deps.isReady?.() ?? true;
    try {
      await store.ping();
    } catch (error) {
      throw new AppError('unavailable', { detail: `The store does not answer: ${(error as Error).message}`, cause: error });
    }
    if (!ready) throw new AppError('unavailable', { detail: 'Start-up is not finished.' });
    return reply.send({ status: 'ready', store: 'ok', activeStreams: deps.streams.size, modelProblems: deps.models.problems() });
  });

  registerAuthRoutes(app, {
    auth,
    store,
    sessionTtlMs: config.sessionTtlHours * 3_600_000,
    secureCookies: config.secureCookies,
    localAccounts: config.localAccounts,
    sso: deps.sso,
    publicUrl: config.publicUrl,
    templateExists: async (orgId, name) => (await deps.prompts.get(orgId, name)) !== undefined,
    resolveModel: (id, request) => deps.pipeline.resolveModel(id, request),
  });
  registerOrgRoutes(app, { store, auth, orgs: deps.orgs, config });
  registerAccountRoutes(app, {
    auth,
    store,
    ingestion: deps.ingestion,
    publicUrl: config.publicUrl,
    localAccounts: config.localAccounts,
  });
  registerConversationSharingRoutes(app, { store });
  const callerModels = [deps.agents?.callerModels, deps.modelOps?.aliases].filter((c): c is CallerModels => c !== undefined);
  registerConversationRoutes(app, {
    store,
    models: deps.models,
    prompts: deps.prompts,
    callerModels: callerModels.length > 0 ? combineCallerModels(...callerModels) : undefined,
    refreshModels: deps.refreshModels,
  });
  if (deps.agents)
    registerAgentRoutes(app, {
      store,
      // An agent may plan with a model alias, pinned (`summarizer@2`) or not.
      models: deps.modelOps ? aliasAwareCatalog(deps.models, deps.modelOps.aliases) : deps.models,
      prompts: deps.prompts,
      mcp: deps.agents.mcp,
      approvalSignals: deps.agents.approvalSignals,
      datasetFiles: deps.agents.datasetFiles,
    });
  registerAuditRoutes(app, { store, promptLog: deps.promptLog, orgs: deps.orgs });
  registerPromptRoutes(app, { prompts: deps.prompts, store });
  registerDeploymentRoutes(app, {
    store,
    checkModel:
      deps.deployments?.checkModel ??
      (async (modelId) => {
        await deps.models.resolve(modelId);
      }),
    resolvePrompt: (orgId, ref) => deps.prompts.resolve(orgId, ref),
    describe: deps.deployments?.describe,
    onChange: deps.deployments?.onChange,
  });
  registerUsageRoutes(app, { usage: deps.usage, store });
  registerFeedbackRoutes(app, { store, modelOps: deps.modelOps });
  if (deps.modelOps) registerFeedbackV1Routes(app, { modelOps: deps.modelOps });
  registerPreferencesRoutes(app, { store });
  registerChatRoutes(app, {
    store,
    pipeline: deps.pipeline,
    streams: deps.streams,
    blobs: deps.blobs,
    contextTokens: config.rag.contextTokens,
    embedder: deps.embedder,
    reranker: deps.reranker,
    limits: deps.limits,
    prompts: deps.prompts,
    titles: config.conversationTitles,
    streamLog: deps.streamLog,
    flushIntervalMs: config.streams.heartbeatMs,
    resumeGraceMs: config.streams.resumeGraceMs,
    modelOps: deps.modelOps,
  });
  registerSearchRoutes(app, { store, embedder: deps.embedder, reranker: deps.reranker });
  registerCollectionRoutes(app, {
    store,
    ingestion: deps.ingestion,
    blobs: deps.blobs,
    maxFilesPerUpload: config.rag.maxFilesPerUpload,
    maxFileBytes: config.rag.maxUploadMb * 1_048_576,
    onDocumentChanged: deps.modelOps
      ? (collectionId) => void deps.modelOps?.cache.bumpCollection(collectionId).catch(() => undefined)
      : undefined,
  });
  registerGatewayRoutes(app, {
    pipeline: deps.pipeline,
    models: deps.models,
    streams: deps.streams,
    store,
    contextTokens: config.rag.contextTokens,
    embedder: deps.embedder,
    reranker: deps.reranker,
    limits: deps.limits,
    promptLog: deps.promptLog,
    prompts: deps.prompts,
    orgs: deps.orgs,
    guardrail: config.redaction.guardrail ? deps.redactor : undefined,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    modelOps: deps.modelOps,
  });
  registerAnthropicMessagesRoutes(app, {
    ...deps,
    guardrail: config.redaction.guardrail ? deps.redactor : undefined,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
  });
  registerResponsesRoutes(app, {
    ...deps,
    contextTokens: config.rag.contextTokens,
    guardrail: config.redaction.guardrail ? deps.redactor : undefined,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
  });

  const webDir = config.webDir ? resolve(config.webDir) : undefined;
  const indexHtml = webDir && existsSync(join(webDir, 'index.html'));
  if (webDir && indexHtml) {
    await app.register(fastifyStatic, { root: webDir, wildcard: false, index: false, maxAge: '1h', immutable: false });
  }

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    if (request.method === 'GET' && indexHtml && !path.startsWith('/api/') && !path.startsWith('/v1/')) {
      // The SPA's own routes (/c/123, /settings) load the app, which routes on the client.
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    return sendError(request, reply, new AppError('not_found', { detail: `Nothing at ${request.method} ${path}` }));
  });

  return app;
}
