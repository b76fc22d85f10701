import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3Prompt, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import type { ModelInfo, Timing, Usage } from '@axon/contracts';
import type { FastifyRequest } from 'fastify';
import { type AppError, classifyProviderError, type ProviderFailure, toAppError } from '../errors';
import type { ModelCatalog } from '../providers';
import type { ResolvedModel } from '../providers/model-catalog';

export type FinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other';

/** Generation settings a caller may set; everything else stays with the provider's defaults. */
export interface GenerationSettings {
  maxOutputTokens?: number | undefined;
  temperature?: number | undefined;
  topP?: number | undefined;
  stopSequences?: string[] | undefined;
  seed?: number | undefined;
  presencePenalty?: number | undefined;
  frequencyPenalty?: number | undefined;
}

export interface ChatTurnResult {
  /** Everything the model produced, also when it stopped or failed part way. */
  text: string;
  /** `complete` when the model finished, `stopped` when the caller aborted, `error` when the provider failed. */
  status: 'complete' | 'stopped' | 'error';
  finishReason: FinishReason | null;
  usage: Usage;
  timing: Timing;
  /** Set when `status` is `error`. */
  error?: AppError | undefined;
  failure?: ProviderFailure | undefined;
}

export interface ChatTurnInput {
  model: LanguageModelV3;
  prompt: LanguageModelV3Prompt;
  settings?: GenerationSettings | undefined;
  /** Aborting it (Stop, client gone, shutdown) stops the upstream request; the result is `stopped`. */
  signal: AbortSignal;
  /** Upper bound for the whole call; exceeding it ends in `error` (`upstream_timeout`). */
  timeoutMs?: number | undefined;
  /** Called with each piece of text as it arrives. */
  onTextDelta?: ((delta: string) => void) | undefined;
  /** `generate` asks for the whole answer at once (no streaming); `stream` is the default. */
  mode?: 'stream' | 'generate' | undefined;
  /** Passed to the model as is (`axon.streamSteps` asks an agent for its steps as stream parts). */
  providerOptions?: LanguageModelV3CallOptions['providerOptions'];
  /** Told of the stream parts other than text: tool calls and results an agent ran, approvals it asks for, the finish. */
  onPart?: ((part: LanguageModelV3StreamPart) => void) | undefined;
  now?: () => number;
}

function callOptions(input: ChatTurnInput, signal: AbortSignal): LanguageModelV3CallOptions {
  const s = input.settings ?? {};
  const options: LanguageModelV3CallOptions = { prompt: input.prompt, abortSignal: signal, includeRawChunks: false };
  if (input.providerOptions) options.providerOptions = input.providerOptions;
  if (s.maxOutputTokens !== undefined) options.maxOutputTokens = s.maxOutputTokens;
  if (s.temperature !== undefined) options.temperature = s.temperature;
  if (s.topP !== undefined) options.topP = s.topP;
  if (s.stopSequences !== undefined) options.stopSequences = s.stopSequences;
  if (s.seed !== undefined) options.seed = s.seed;
  if (s.presencePenalty !== undefined) options.presencePenalty = s.presencePenalty;
  if (s.frequencyPenalty !== undefined) options.frequencyPenalty = s.frequencyPenalty;
  return options;
}

/**
 * Runs one model call through the language-model seam and streams its text. It never throws for
 * a provider failure or an abort: the result says how the turn ended and keeps what was produced.
 */
export async function runChatTurn(input: ChatTurnInput): Promise<ChatTurnResult> {
  const now = input.now ?? performance.now.bind(performance);
  const started = now();
  // One controller for the upstream call, aborted by the caller's signal or the time limit.
  // (Cheaper per request than AbortSignal.any + AbortSignal.timeout on Node 20.)
  const upstream = new AbortController();
  let timedOut = false;
  const forwardAbort = () => upstream.abort(input.signal.reason);
  if (input.signal.aborted) forwardAbort();
  else input.signal.addEventListener('abort', forwardAbort, { once: true });
  const timer = input.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        upstream.abort(new DOMException('The model provider did not finish in time', 'TimeoutError'));
      }, input.timeoutMs)
    : undefined;
  const signal = upstream.signal;
  try {
    let text = '';
    let ttftMs: number | null = null;
    let finishReason: FinishReason | null = null;
    const usage: Usage = { inputTokens: null, outputTokens: null };

    const end = (status: ChatTurnResult['status'], failure?: ProviderFailure, cause?: unknown): ChatTurnResult => ({
      text,
      status,
      finishReason: status === 'complete' ? finishReason : status === 'error' ? 'error' : finishReason,
      usage,
      timing: { ttftMs, totalMs: ttftMs === null ? null : Math.round((now() - started) * 100) / 100 },
      ...(failure ? { failure, error: toAppError(failure, cause) } : {}),
    });

    const fail = (error: unknown): ChatTurnResult => {
      if (input.signal.aborted) return end('stopped');
      const failure = timedOut
        ? { kind: 'timeout' as const, retryable: true, upstreamStatus: undefined, message: 'The model provider did not finish in time' }
        : classifyProviderError(error);
      return end('error', failure, error);
    };

    if (input.mode === 'generate') {
      try {
        const result = await input.model.doGenerate(callOptions(input, signal));
        for (const part of result.content) if (part.type === 'text') text += part.text;
        ttftMs = Math.round((now() - started) * 100) / 100;
        finishReason = result.finishReason.unified;
        usage.inputTokens = result.usage.inputTokens.total ?? null;
        usage.outputTokens = result.usage.outputTokens.total ?? null;
      } catch (error) {
        return fail(error);
      }
      return end('complete');
    }

    let reader: ReadableStreamDefaultReader<LanguageModelV3StreamPart>;
    try {
      reader = (await input.model.doStream(callOptions(input, signal))).stream.getReader();
    } catch (error) {
      return fail(error);
    }
    const onAbort = () => {
      reader.cancel().catch(() => {});
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const { done, value: part } = await reader.read();
        if (done) break;
        switch (part.type) {
          case 'text-delta':
            if (part.delta.length === 0) break;
            if (ttftMs === null) ttftMs = Math.round((now() - started) * 100) / 100;
            text += part.delta;
            input.onTextDelta?.(part.delta);
            break;
          case 'finish':
            input.onPart?.(part);
            finishReason = part.finishReason.unified;
            usage.inputTokens = part.usage.inputTokens.total ?? null;
            usage.outputTokens = part.usage.outputTokens.total ?? null;
            break;
          case 'error':
            return fail(part.error);
          case 'tool-call':
          case 'tool-result':
          case 'tool-approval-request':
            input.onPart?.(part);
            break;
          default:
            break;
        }
      }
    } catch (error) {
      return fail(error);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (input.signal.aborted) return end('stopped');
    if (finishReason === null) return fail(new Error('The model stream ended without finishing'));
    return end('complete');
  } finally {
    clearTimeout(timer);
    input.signal.removeEventListener('abort', forwardAbort);
  }
}

export interface ChatPipelineDeps {
  models: ModelCatalog;
  upstreamTimeoutMs: number;
  /** Models that depend on the caller (agents of their organisation, `agent/<slug>`). */
  callerModels?: CallerModels | undefined;
}

/** Models offered per caller, beside the catalog's: agents, listed and resolved for one request's principal. */
export interface CallerModels {
  /** Whether the id is one of its kind (`agent/…`). */
  owns(modelId: string): boolean;
  list(request: FastifyRequest | undefined): Promise<ModelInfo[]>;
  resolve(modelId: string, request: FastifyRequest | undefined): Promise<ResolvedModel>;
}

/** Several kinds of caller models (agents, model aliases) as one: the first that owns an id resolves it. */
export function combineCallerModels(...sources: CallerModels[]): CallerModels {
  return {
    owns: (id) => sources.some((s) => s.owns(id)),
    list: async (request) => (await Promise.all(sources.map((s) => s.list(request)))).flat(),
    resolve: (id, request) => {
      const source = sources.find((s) => s.owns(id));
      if (!source) throw new Error(`no caller models own ${id}`);
      return source.resolve(id, request);
    },
  };
}

export interface ChatPipelineRequest {
  /** Namespaced model id; the default model when absent. */
  modelId?: string | undefined;
  prompt: LanguageModelV3Prompt;
  settings?: GenerationSettings | undefined;
  signal: AbortSignal;
  onTextDelta?: ((delta: string) => void) | undefined;
  mode?: 'stream' | 'generate' | undefined;
  providerOptions?: LanguageModelV3CallOptions['providerOptions'];
  onPart?: ((part: LanguageModelV3StreamPart) => void) | undefined;
}

export interface ChatPipeline {
  /**
   * Resolves the model (throwing `model_not_found` before anything is sent), then runs the turn.
   * The one path for the web chat and for `/v1/chat/completions`.
   */
  resolveModel(modelId: string | undefined, request?: FastifyRequest): Promise<ResolvedModel>;
  /** The catalog's models and the caller's own (their organisation's agents). */
  listModels(request: FastifyRequest | undefined): Promise<ModelInfo[]>;
  run(request: ChatPipelineRequest & { model: LanguageModelV3 }): Promise<ChatTurnResult>;
}

export function createChatPipeline(deps: ChatPipelineDeps): ChatPipeline {
  return {
    async resolveModel(modelId, request) {
      const id = modelId ?? (await deps.models.defaultModelId());
      if (deps.callerModels?.owns(id)) return deps.callerModels.resolve(id, request);
      return deps.models.resolve(id);
    },
    async listModels(request) {
      const [catalog, own] = await Promise.all([deps.models.list(), deps.callerModels?.list(request) ?? []]);
      return [...catalog, ...own];
    },
    run(request) {
      return runChatTurn({
        model: request.model,
        prompt: request.prompt,
        settings: request.settings,
        signal: request.signal,
        // An agent keeps its own time budget (tools and approvals included), not one model call's.
        timeoutMs: request.model.provider === 'axon.agent' ? undefined : deps.upstreamTimeoutMs,
        onTextDelta: request.onTextDelta,
        mode: request.mode,
        providerOptions: request.providerOptions,
        onPart: request.onPart,
      });
    },
  };
}
