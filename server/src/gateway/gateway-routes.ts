import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import type { Citation, ModelInfo } from '@axon/contracts';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ChatPipeline } from '../chat/chat-pipeline';
import { AppError, classifyProviderError, toAppError } from '../errors';
import type { ActiveStreams } from '../http/active-streams';
import { observeModelCall } from '../http/log-request';
import { parseInput } from '../http/parse-input';
import { requirePrincipal } from '../http/require-principal';
import { estimatePromptTokens, estimateTextTokens } from '../limits/estimate-tokens';
import type { RateLimits } from '../limits/rate-limits';
import { applyVersionParams } from '../modelops/alias-models';
import { chunksToCompletion, chunksToSse, completionToChunks } from '../modelops/cache/completion-to-chunks';
import { type CacheRequest, permissionKeyOf } from '../modelops/cache/response-cache';
import { modelForKey } from '../modelops/key-pinned-model';
import type { ModelOps } from '../modelops/model-ops';
import type { PromptLog } from '../observability/prompt-log';
import { inSpan } from '../observability/tracing';
import type { PromptStore } from '../prompts/prompt-store';
import { renderTemplate } from '../prompts/render-template';
import type { ModelCatalog } from '../providers';
import type { Embedder } from '../rag/embed/embedder';
import { groundedSystemPrompt, retrievePassages } from '../rag/retrieve-passages';
import type { Reranker } from '../rag/search/rerank';
import type { Redactor } from '../redaction/redact';
import type { Store } from '../store';
import type { OrgSettings } from '../tenancy/org-settings';
import { type ChatCompletionRequest, ChatCompletionRequestSchema } from './chat-completions-schema';
import { requestTemplate, runGatewayCall, templateMetadata } from './gateway-call';
import { type RelayOutcome, relayOpenAIChat } from './openai-chat-relay';
import { contentText, runTranslatedChat, toCallOptions, toLanguageModelPrompt } from './openai-chat-translation';
import { callUpstream, readBody } from './upstream-call';

export interface GatewayRoutesDeps {
  pipeline: ChatPipeline;
  models: ModelCatalog;
  streams: ActiveStreams;
  store: Store;
  /** Tokens of retrieved passages a prompt may hold. */
  contextTokens: number;
  embedder?: Embedder | undefined;
  /** The rerank model, for collections with reranking on. */
  reranker?: Reranker | undefined;
  limits: RateLimits;
  promptLog: PromptLog;
  prompts: PromptStore;
  /** Organisations' prompt-log modes. */
  orgs: OrgSettings;
  /** When set, prompts are redacted before they leave for the model. */
  guardrail?: Redactor | undefined;
  /** Upper bound of one translated model call, in ms. */
  upstreamTimeoutMs: number;
  now?: () => number;
  /** Model aliases' outcomes and feedback. */
  modelOps?: ModelOps | undefined;
}

type Json = Record<string, unknown>;

/** Whether any message carries an image (OpenAI's `image_url` parts, or the Responses-style `input_image`). */
const hasImages = (messages: ChatCompletionRequest['messages']) =>
  messages.some((m) => Array.isArray(m.content) && m.content.some((p) => p.type === 'image_url' || p.type === 'input_image'));

/** Refuses what the model cannot serve with a 400 naming the capability, instead of dropping it silently. */
function checkCapabilities(body: ChatCompletionRequest, info: ModelInfo, translated: boolean): void {
  const refuse = (param: string, what: string) => {
    throw new AppError('validation_failed', {
      detail: `The model ${info.id} cannot ${what} (${param}); GET /v1/models says what each model can do.`,
      errors: [{ path: `body.${param}`, message: `not available for ${info.id}` }],
    });
  };
  if (body.tools && body.tools.length > 0 && !info.capabilities.tools) refuse('tools', 'call tools');
  if (hasImages(body.messages) && !info.capabilities.vision) refuse('messages', 'read images');
  const format = body.response_format?.type;
  if ((format === 'json_object' || format === 'json_schema') && !info.capabilities.structuredOutputs)
    refuse('response_format', 'produce structured outputs');
  if (translated) {
    if ((body.n ?? 1) > 1) refuse('n', 'give several choices');
    if (body.logprobs) refuse('logprobs', 'report log probabilities');
  }
}

/** Applies `edit` to the text of a message's content (a string, or each text part). */
function editContent(content: unknown, edit: (text: string) => string): unknown {
  if (typeof content === 'string') return edit(content);
  if (!Array.isArray(content)) return content;
  return content.map((part) =>
    part && typeof part === 'object' && (part as Json).type === 'text' ? { ...part, text: edit(String((part as Json).text ?? '')) } : part,
  );
}

/** The OpenAI-compatible API: a relay to upstreams that speak it, a translation for the others. */
export function registerGatewayRoutes(app: FastifyInstance, deps: GatewayRoutesDeps): void {
  const { pipeline, models } = deps;
  const nowSeconds = () => Math.floor((deps.now?.() ?? Date.now()) / 1000);
  const modelObject = (m: ModelInfo, created: number) => ({
    id: m.id,
    object: 'model',
    created,
    owned_by: m.connection,
    name: m.name,
    ...(m.description ? { description: m.description } : {}),
    capabilities: m.capabilities,
  });

  app.get('/v1/models', { config: { scopes: ['chat', 'embeddings'] } }, async (request) => {
    const list = await pipeline.listModels(request);
    const created = nowSeconds();
    const embedding = [
      ...models.embeddingModels().map((m) => ({ id: m.id, connection: m.connection.name })),
      ...(deps.embedder && !models.embeddingModels().some((m) => m.id === deps.embedder?.model)
        ? [{ id: deps.embedder.model, connection: deps.embedder.model.split('/')[0] ?? '' }]
        : []),
    ];
    return {
      object: 'list',
      data: [
        ...list.map((m) => modelObject(m, created)),
        ...embedding.map((m) => ({ id: m.id, object: 'model', created, owned_by: m.connection, type: 'embedding' })),
      ],
    };
  });

  app.get('/v1/models/*', { config: { scopes: ['chat', 'embeddings'] } }, async (request) => {
    const id = (request.params as { '*': string })['*'];
    const { info } = await pipeline.resolveModel(id, request);
    return modelObject(info, nowSeconds());
  });

  app.post('/v1/chat/completions', async (request, reply) => {
    const body = parseInput(ChatCompletionRequestSchema, request.body, 'body');
    // The API key's pinned model, where the request names none or names the pinned alias without a version.
    const { info, connection, upstreamId, served } = await pipeline.resolveModel(
      modelForKey(body.model, request.principal?.apiKey?.model),
      request,
    );
    const relay = connection.wire?.wire === 'openai' ? connection.wire : undefined;
    checkCapabilities(body, info, !relay);
    const principal = requirePrincipal(request);
    const stream = body.stream === true;

    // What goes upstream: the caller's body as sent, less Axon's own fields, with Axon's edits.
    const { collections: _collections, filters: _filters, ...forwarded } = body as ChatCompletionRequest & Json;
    // An alias version's generation parameters, where the caller set none of their own.
    if (served) applyVersionParams(forwarded, served.version.params, 'chat');
    let messages: Json[] = body.messages.map((m) => ({ ...m }));
    const system: string[] = [];

    // A prompt template (the caller's, else the alias version's): its system prompt goes first, its
    // message template wraps the last user message, and the other metadata entries are its
    // variables (consumed here).
    const template = await requestTemplate(request, deps.prompts, body.metadata?.prompt, served);
    /** The template version applied (`name@version`), and the collections read, for the response cache's key. */
    const templateRef = template?.ref;
    if (template) {
      const { variables, rest } = templateMetadata(template.version, body.metadata);
      const lastUser = messages.map((m) => m.role).lastIndexOf('user');
      const rendered = await renderTemplate(template.version, variables, lastUser >= 0 ? contentText(messages[lastUser]?.content) : '');
      messages = messages.map((m, i) => (i === lastUser ? { ...m, content: rendered.message } : m));
      if (rendered.system.trim()) system.push(rendered.system);
      if (rest) forwarded.metadata = rest;
      else delete forwarded.metadata;
    }

    const header = request.headers['x-axon-collections'];
    const requested =
      body.collections ??
      (typeof header === 'string'
        ? header
            .split(',')
            .map((c) => c.trim())
            .filter(Boolean)
        : []);
    let citations: Citation[] = [];
    let collectionIds: string[] = [];
    let readableIds: string[] = [];
    if (requested.length > 0) {
      const userId = principal.user.id;
      const readable = await deps.store.collections.listForUser(userId);
      readableIds = readable.map((c) => c.id);
      const ids = requested.map((ref) => {
        const found =
          readable.find((c) => c.id === ref) ??
          readable.find((c) => c.name === ref && c.ownerId === userId) ??
          readable.find((c) => c.name === ref);
        if (!found) throw new AppError('not_found', { detail: `No such collection: ${ref}` });
        return found.id;
      });
      collectionIds = ids;
      const question = [...body.messages].reverse().find((m) => m.role === 'user');
      citations = await inSpan(request.server.tracer, 'retrieve', { 'axon.collections': ids.length }, request.span, async (span) => {
        const found = await retrievePassages(deps.store, {
          embedder: deps.embedder,
          reranker: deps.reranker,
          filters: body.filters,
          userId,
          collectionIds: ids,
          query: question ? contentText(question.content) : '',
          contextTokens: deps.contextTokens,
        });
        span.setAttribute('axon.passages', found.length);
        return found;
      });
      if (citations.length > 0) system.unshift(groundedSystemPrompt(citations));
    }
    const guardrail = deps.guardrail;
    if (guardrail) messages = messages.map((m) => ({ ...m, content: editContent(m.content, (t) => guardrail.redact(t).text) }));
    if (system.length > 0) messages = [...system.map((content) => ({ role: 'system', content })), ...messages];
    (forwarded as Json).messages = messages;

    // The response cache, for aliases that turn it on: a hit is answered without a model call.
    const cache = served?.cache && deps.modelOps?.cache ? { store: deps.modelOps.cache, policy: served.cache } : undefined;
    let cacheRequest: CacheRequest | undefined;
    if (cache && served) {
      const cacheControl = String(request.headers['cache-control'] ?? '').toLowerCase();
      const users = body.messages.filter((m) => m.role === 'user');
      const singleTurn =
        users.length === 1 && body.messages.every((m) => m.role === 'user' || m.role === 'system' || m.role === 'developer');
      cacheRequest = {
        body: forwarded,
        modelVersion: `${served.assignment.alias}@${served.assignment.version}`,
        templateRef,
        collectionIds,
        orgId: principal.user.orgId,
        permissionKey: permissionKeyOf(readableIds, principal.user.role),
        policy: cache.policy,
        semanticText: singleTurn && collectionIds.length === 0 ? contentText(users[0]?.content) : undefined,
        noStore: /\bno-store\b/.test(cacheControl),
        noCache: /\bno-cache\b/.test(cacheControl),
      };
      const hit = await cache.store.lookup(cacheRequest).catch((error: unknown) => {
        request.log.warn({ err: error }, 'the response cache could not be read; answering without it');
        return undefined;
      });
      if (hit) {
        reply.header('x-axon-cache', 'hit').header('x-axon-cache-match', hit.match);
        reply.header('age', String(Math.max(0, Math.floor((Date.now() - hit.createdAt) / 1000))));
        if (!stream) return reply.type('application/json').send(hit.completion);
        reply.hijack();
        reply.raw.writeHead(200, {
          ...(reply.getHeaders() as Record<string, string>),
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
        });
        reply.raw.end(chunksToSse(completionToChunks(hit.completion, { includeUsage: body.stream_options?.include_usage === true })));
        return reply;
      }
      reply.header('x-axon-cache', 'miss');
    }

    const promptTextOf = () => body.messages.map((m) => `${m.role}: ${contentText(m.content)}`).join('\n');
    await runGatewayCall(
      request,
      reply,
      deps,
      {
        info,
        route: '/v1/chat/completions',
        stream,
        estimateInputTokens: () =>
          estimatePromptTokens(
            messages.map((m) => ({ role: 'user', content: [{ type: 'text', text: contentText(m.content) }] })) as LanguageModelV3Prompt,
          ),
        maxOutputTokens: Number(forwarded.max_completion_tokens ?? forwarded.max_tokens ?? 0) || 0,
        temperature: typeof forwarded.temperature === 'number' ? forwarded.temperature : undefined,
        promptText: promptTextOf,
        served,
        // A share of an alias's requests is mirrored to its shadow version once the answer is complete.
        shadow: () => ({ body: forwarded }),
      },
      async (call) => {
        const withCitations = requested.length > 0 ? citations : undefined;
        const keep = cacheRequest && cache && !cacheRequest.noStore ? { request: cacheRequest, store: cache.store } : undefined;
        const onDone = keep
          ? (outcome: RelayOutcome) => {
              call.done(outcome);
              if (outcome.status !== 'complete') return;
              const completion = outcome.completion ?? (outcome.chunks ? chunksToCompletion(outcome.chunks) : undefined);
              if (completion)
                void keep.store
                  .store(keep.request, { completion, createdAt: Date.now() })
                  .catch((error: unknown) => request.log.warn({ err: error }, 'keeping an answer in the response cache failed'));
            }
          : call.done;
        const captureChars = call.keepsText ? undefined : 0;
        if (relay) {
          const common = {
            body: forwarded,
            stream,
            signal: call.signal,
            citations: withCitations,
            captureChars,
            collect: keep !== undefined,
          };
          // An alias's version goes through its endpoints' breakers and retries, then its fallbacks.
          const routing = served && deps.modelOps ? await deps.modelOps.routing.routingFor(served.version, promptTextOf) : undefined;
          await relayOpenAIChat(reply, routing ? { ...common, routing } : { ...common, target: relay, upstreamModel: upstreamId }, onDone);
          return;
        }
        await runTranslatedChat(
          reply,
          {
            model: connection.fullLanguageModel(upstreamId),
            modelId: info.id,
            callOptions: toCallOptions(forwarded, toLanguageModelPrompt(messages)),
            stream,
            includeUsage: body.stream_options?.include_usage === true,
            signal: call.signal,
            timeoutMs: deps.upstreamTimeoutMs,
            citations: withCitations,
          },
          onDone,
        );
      },
    );
    return reply;
  });

  // What Axon reads of an embeddings request; every other field goes to the upstream as sent.
  const EmbeddingsRequest = z.looseObject({
    model: z.string().min(1).max(200),
    input: z.union([
      z.string(),
      z.array(z.string()).min(1).max(2048),
      z.array(z.number().int().min(0)).min(1),
      z
        .array(z.array(z.number().int().min(0)).min(1))
        .min(1)
        .max(2048),
    ]),
    encoding_format: z.enum(['float', 'base64']).optional(),
    dimensions: z.number().int().min(1).optional(),
  });

  /** The embedding models offered: every connection's, and the one retrieval uses (`AXON_EMBEDDING_MODEL`). */
  const embeddingTarget = (id: string) => {
    const offered = models.embeddingModels().find((m) => m.id === id);
    if (offered) return offered;
    if (deps.embedder?.model === id) {
      const slash = id.indexOf('/');
      const connection = models.connectionNamed(id.slice(0, slash));
      if (connection) return { id, connection, upstreamId: id.slice(slash + 1) };
    }
    return undefined;
  };

  app.post('/v1/embeddings', { config: { scopes: ['embeddings'] } }, async (request, reply) => {
    const body = parseInput(EmbeddingsRequest, request.body, 'body');
    const target = embeddingTarget(body.model);
    const wire = target?.connection.wire;
    if (!target || wire?.wire !== 'openai') {
      const offered = [...models.embeddingModels().map((m) => m.id), ...(deps.embedder ? [deps.embedder.model] : [])];
      throw new AppError('model_not_found', {
        detail: offered.length
          ? `The embedding model '${body.model}' is not offered here; these are: ${[...new Set(offered)].join(', ')}.`
          : 'No embedding model is configured (set AXON_EMBEDDING_MODEL, or embeddingModels on a connection).',
      });
    }
    const input = body.input;
    const texts = typeof input === 'string' ? [input] : input.every((v) => typeof v === 'string') ? (input as string[]) : [];
    // Token arrays count as they are; text is estimated.
    let estimated: number | undefined;
    const estimateTokens = () =>
      (estimated ??=
        texts.length > 0
          ? texts.reduce((n, text) => n + estimateTextTokens(text), 0)
          : (input as Array<number | number[]>).reduce<number>((n, v) => n + (Array.isArray(v) ? v.length : 1), 0));
    const admission = await deps.limits.admit(requirePrincipal(request), { estimateTokens, stream: false });
    reply.headers(admission.headers);
    const started = performance.now();
    let raw: Buffer;
    try {
      const call = await callUpstream(wire, 'embeddings', JSON.stringify({ ...body, model: target.upstreamId }), {
        signal: AbortSignal.timeout(wire.timeouts.firstByteMs),
      });
      raw = await readBody(call);
    } catch (error) {
      await admission.settle(0);
      throw toAppError(classifyProviderError(error), error);
    }
    let reported: number | undefined;
    try {
      reported = (JSON.parse(raw.toString('utf8')) as { usage?: { prompt_tokens?: number } }).usage?.prompt_tokens;
    } catch {
      // The upstream's bytes go back as sent; usage falls back to the estimate.
    }
    const used = reported ?? estimateTokens();
    await admission.settle(used);
    observeModelCall(request, {
      model: target.id,
      outcome: 'complete',
      usage: { inputTokens: used, outputTokens: 0 },
      timing: { ttftMs: null, totalMs: Math.round(performance.now() - started) },
    });
    return reply.type('application/json').send(raw);
  });

  app.route({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/v1/*',
    handler: async (request) => {
      throw new AppError('not_found', { detail: `Unknown endpoint ${request.method} ${request.url.split('?')[0]}` });
    },
  });
}
