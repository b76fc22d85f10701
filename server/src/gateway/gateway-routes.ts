import { randomUUID } from 'node:crypto';
import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import type { Citation } from '@axon/contracts';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ChatPipeline, ChatTurnResult, FinishReason } from '../chat/chat-pipeline';
import { AppError, classifyProviderError, toAppError } from '../errors';
import type { ActiveStreams } from '../http/active-streams';
import { logRequest, observeModelCall } from '../http/log-request';
import { parseInput } from '../http/parse-input';
import { openAIErrorBody } from '../http/problem';
import { requirePrincipal } from '../http/require-principal';
import { openSse } from '../http/sse';
import { countTextTokens, estimatePromptTokens } from '../limits/estimate-tokens';
import { type RateLimits, settleLater } from '../limits/rate-limits';
import type { PromptLog } from '../observability/prompt-log';
import { inSpan, traceModelCall } from '../observability/tracing';
import type { PromptStore } from '../prompts/prompt-store';
import { renderTemplate } from '../prompts/render-template';
import type { ModelCatalog } from '../providers';
import type { Embedder } from '../rag/embed/embedder';
import { groundedSystemPrompt, retrievePassages } from '../rag/retrieve-passages';
import type { Redactor } from '../redaction/redact';
import type { Store } from '../store';
import type { OrgSettings } from '../tenancy/org-settings';
import { type ChatCompletionRequest, ChatCompletionRequestSchema } from './chat-completions-schema';

export interface GatewayRoutesDeps {
  pipeline: ChatPipeline;
  models: ModelCatalog;
  streams: ActiveStreams;
  store: Store;
  /** Tokens of retrieved passages a prompt may hold. */
  contextTokens: number;
  embedder?: Embedder | undefined;
  limits: RateLimits;
  promptLog: PromptLog;
  prompts: PromptStore;
  /** Organisations' prompt-log modes. */
  orgs: OrgSettings;
  /** When set, prompts are redacted before they leave for the model. */
  guardrail?: Redactor | undefined;
  now?: () => number;
}

const totalTokens = (usage: { inputTokens: number | null; outputTokens: number | null }) =>
  (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);

type ContentInput = ChatCompletionRequest['messages'][number]['content'];

function contentText(content: ContentInput): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

/** OpenAI messages as a language-model prompt; system and developer messages both become system. */
export function toPrompt(messages: ChatCompletionRequest['messages'], clean: (text: string) => string = (t) => t): LanguageModelV3Prompt {
  return messages.map((message) => {
    const text = clean(contentText(message.content));
    switch (message.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: text };
      case 'assistant':
        return { role: 'assistant', content: [{ type: 'text', text }] };
      case 'tool':
        return { role: 'user', content: [{ type: 'text', text }] };
      default:
        return { role: 'user', content: [{ type: 'text', text }] };
    }
  });
}

const FINISH_REASON: Record<FinishReason, string> = {
  stop: 'stop',
  length: 'length',
  'content-filter': 'content_filter',
  'tool-calls': 'tool_calls',
  error: 'stop',
  other: 'stop',
};

function usageBody(result: ChatTurnResult) {
  const prompt = result.usage.inputTokens ?? 0;
  const completion = result.usage.outputTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** The OpenAI-compatible API, mapped onto the same chat pipeline as the web app. */
export function registerGatewayRoutes(app: FastifyInstance, deps: GatewayRoutesDeps): void {
  const { pipeline, models, streams } = deps;
  const nowSeconds = () => Math.floor((deps.now?.() ?? Date.now()) / 1000);

  app.get('/v1/models', { config: { scopes: ['chat', 'embeddings'] } }, async () => {
    const list = await models.list();
    const created = nowSeconds();
    return { object: 'list', data: list.map((m) => ({ id: m.id, object: 'model', created, owned_by: m.connection })) };
  });

  app.get('/v1/models/*', { config: { scopes: ['chat', 'embeddings'] } }, async (request) => {
    const id = (request.params as { '*': string })['*'];
    const { info } = await models.resolve(id);
    return { id: info.id, object: 'model', created: nowSeconds(), owned_by: info.connection };
  });

  app.post('/v1/chat/completions', async (request, reply) => {
    const body = parseInput(ChatCompletionRequestSchema, request.body, 'body');
    const { info, model } = await pipeline.resolveModel(body.model);
    const id = `chatcmpl-${randomUUID().replaceAll('-', '')}`;
    const created = nowSeconds();
    const stop = body.stop === null || body.stop === undefined ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop];
    const settings = {
      maxOutputTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
      temperature: body.temperature ?? undefined,
      topP: body.top_p ?? undefined,
      stopSequences: stop,
      seed: body.seed ?? undefined,
      presencePenalty: body.presence_penalty ?? undefined,
      frequencyPenalty: body.frequency_penalty ?? undefined,
    };
    // A prompt template, named in `metadata.prompt` or `X-Axon-Prompt` ("name" or "name@version"),
    // else the one the API key is bound to: its system prompt goes first, its message template wraps
    // the last user message, and the other metadata entries are its variables.
    let messages = body.messages;
    let templateSystem: string | undefined;
    const principal = requirePrincipal(request);
    const promptHeader = request.headers['x-axon-prompt'];
    const promptRef = body.metadata?.prompt ?? (typeof promptHeader === 'string' ? promptHeader : undefined) ?? principal.apiKey?.prompt;
    if (promptRef) {
      const { version } = deps.prompts.resolve(principal.user.orgId, promptRef);
      const { prompt: _ref, ...variables } = body.metadata ?? {};
      const lastUser = messages.map((m) => m.role).lastIndexOf('user');
      const rendered = await renderTemplate(version, variables, lastUser >= 0 ? contentText(messages[lastUser]?.content) : '');
      messages = messages.map((m, i) => (i === lastUser ? { ...m, content: rendered.message } : m));
      templateSystem = rendered.system;
    }
    const guardrail = deps.guardrail;
    const prompt = toPrompt(messages, guardrail ? (text) => guardrail.redact(text).text : undefined);
    if (templateSystem?.trim()) prompt.unshift({ role: 'system', content: templateSystem });
    // The prompt log keeps what the caller sent (redacted there unless the mode is `full`).
    const logMode = (await deps.orgs.get(principal.user.orgId))?.promptLogMode ?? deps.promptLog.mode;
    const logPrompt = (result: { text: string; status: string; usage: { inputTokens: number | null; outputTokens: number | null } }) => {
      if (logMode === 'off') return;
      deps.promptLog.record(
        {
          orgId: principal.user.orgId,
          userId: principal.user.id,
          apiKeyId: principal.apiKeyId ?? null,
          route: '/v1/chat/completions',
          model: info.id,
          prompt: body.messages.map((m) => `${m.role}: ${contentText(m.content)}`).join('\n'),
          response: result.text,
          status: result.status,
          inputTokens: result.usage.inputTokens,
          outputTokens: result.usage.outputTokens,
        },
        logMode,
      );
    };
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
    if (requested.length > 0) {
      const userId = requirePrincipal(request).user.id;
      const readable = await deps.store.collections.listForUser(userId);
      const ids = requested.map((ref) => {
        const found =
          readable.find((c) => c.id === ref) ??
          readable.find((c) => c.name === ref && c.ownerId === userId) ??
          readable.find((c) => c.name === ref);
        if (!found) throw new AppError('not_found', { detail: `No such collection: ${ref}` });
        return found.id;
      });
      const question = [...body.messages].reverse().find((m) => m.role === 'user');
      citations = await inSpan(request.server.tracer, 'retrieve', { 'axon.collections': ids.length }, request.span, async (span) => {
        const found = await retrievePassages(deps.store, {
          embedder: deps.embedder,
          userId,
          collectionIds: ids,
          query: question ? contentText(question.content) : '',
          contextTokens: deps.contextTokens,
        });
        span.setAttribute('axon.passages', found.length);
        return found;
      });
      if (citations.length > 0) prompt.unshift({ role: 'system', content: groundedSystemPrompt(citations) });
    }
    const admission = await deps.limits.admit(requirePrincipal(request), {
      estimateTokens: async () => (await estimatePromptTokens(prompt)) + (settings.maxOutputTokens ?? 0),
      stream: body.stream === true,
    });
    reply.headers(admission.headers);
    reply.raw.once(
      'close',
      () => void admission.release().catch((error) => request.log.error({ err: error }, 'releasing a stream slot failed')),
    );
    const modelCall = { model: info.id, provider: info.connection, maxTokens: settings.maxOutputTokens, temperature: settings.temperature };
    const controller = new AbortController();
    const untrack = streams.track(controller);
    const onClose = () => {
      if (!reply.raw.writableFinished) controller.abort(new DOMException('The client closed the connection', 'AbortError'));
    };
    reply.raw.on('close', onClose);

    try {
      if (!body.stream) {
        const result = await traceModelCall(request.server.tracer, request.span, modelCall, () =>
          pipeline.run({ model, prompt, settings, signal: controller.signal, mode: 'generate' }),
        );
        settleLater(request, admission, totalTokens(result.usage));
        logPrompt(result);
        observeModelCall(request, {
          model: info.id,
          outcome: result.status,
          usage: result.usage,
          timing: result.timing,
          failure: result.failure?.kind,
        });
        if (result.status === 'error' && result.error) throw result.error;
        if (result.status === 'stopped') return reply.status(499).send(); // the client is gone
        return {
          id,
          object: 'chat.completion',
          created,
          model: info.id,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: result.text, refusal: null, ...(requested.length > 0 ? { citations } : {}) },
              logprobs: null,
              finish_reason: FINISH_REASON[result.finishReason ?? 'stop'],
            },
          ],
          usage: usageBody(result),
        };
      }

      // Chunks share everything but their delta; build the frame once and splice the text in.
      const head = `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(info.id)},"system_fingerprint":null,"choices":[{"index":0,"delta":`;
      const tail = ',"logprobs":null,"finish_reason":null}]}';
      let sse: ReturnType<typeof openSse> | undefined;
      const open = () => {
        sse = openSse(reply, { keepAliveMs: 15_000 });
        sse.sendLine(`${head}{"role":"assistant","content":""}${tail}`);
        return sse;
      };
      const result = await traceModelCall(request.server.tracer, request.span, modelCall, () =>
        pipeline.run({
          model,
          prompt,
          settings,
          signal: controller.signal,
          onTextDelta: (delta) => (sse ?? open()).sendLine(`${head}{"content":${JSON.stringify(delta)}}${tail}`),
        }),
      );
      settleLater(request, admission, totalTokens(result.usage));
      logPrompt(result);
      if (!sse) {
        // Nothing was streamed yet: a failure can still be an ordinary HTTP error.
        if (result.status === 'error' && result.error) throw result.error;
        if (result.status === 'stopped') return reply.status(499).send(); // the client is gone
        open();
      }
      const stream = sse as ReturnType<typeof openSse>;
      logRequest(request, 200, {
        model: info.id,
        outcome: result.status,
        usage: result.usage,
        timing: result.timing,
        failure: result.failure?.kind,
      });
      if (result.status === 'error' && result.error) {
        stream.send(JSON.stringify(openAIErrorBody(result.error)));
      } else if (result.status === 'complete') {
        const finish = `${head}{}${tail.replace('"finish_reason":null', `"finish_reason":"${FINISH_REASON[result.finishReason ?? 'stop']}"`)}`;
        // The final chunk carries the citations (an Axon extension field) when collections were searched.
        stream.sendLine(requested.length > 0 ? `${finish.slice(0, -1)},"citations":${JSON.stringify(citations)}}` : finish);
        if (body.stream_options?.include_usage) {
          stream.send(
            JSON.stringify({
              id,
              object: 'chat.completion.chunk',
              created,
              model: info.id,
              system_fingerprint: null,
              choices: [],
              usage: usageBody(result),
            }),
          );
        }
        stream.send('[DONE]');
      }
      stream.close();
      return reply;
    } finally {
      reply.raw.off('close', onClose);
      untrack();
    }
  });

  const EmbeddingsRequest = z.strictObject({
    model: z.string().min(1).max(200),
    input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
    encoding_format: z.enum(['float', 'base64']).optional(),
    dimensions: z.number().int().min(1).optional(),
    user: z.string().max(256).optional(),
  });

  app.post('/v1/embeddings', { config: { scopes: ['embeddings'] } }, async (request, reply) => {
    const body = parseInput(EmbeddingsRequest, request.body, 'body');
    const embedder = deps.embedder;
    if (!embedder || body.model !== embedder.model) {
      throw new AppError('model_not_found', {
        detail: embedder
          ? `The embedding model here is '${embedder.model}'.`
          : 'No embedding model is configured (set AXON_EMBEDDING_MODEL).',
      });
    }
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const tokens = await countTextTokens(inputs);
    const admission = await deps.limits.admit(requirePrincipal(request), { estimateTokens: () => tokens, stream: false });
    reply.headers(admission.headers);
    let vectors: number[][];
    try {
      vectors = await embedder.embed(inputs);
    } catch (error) {
      await admission.settle(0);
      throw toAppError(classifyProviderError(error), error);
    }
    return {
      object: 'list',
      model: embedder.model,
      data: vectors.map((embedding, index) => ({
        object: 'embedding',
        index,
        embedding: body.encoding_format === 'base64' ? Buffer.from(new Float32Array(embedding).buffer).toString('base64') : embedding,
      })),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  });

  app.all('/v1/*', async (request) => {
    throw new AppError('not_found', { detail: `Unknown endpoint ${request.method} ${request.url.split('?')[0]}` });
  });
}
