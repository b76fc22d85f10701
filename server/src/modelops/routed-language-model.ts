import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
} from '@ai-sdk/provider';
import { classifyProviderError, type ProviderFailure } from '../errors';
import type { RelayRouting, RelayTarget } from '../gateway/openai-chat-relay';
import { UpstreamEarlyEndError } from '../gateway/upstream-call';
import type { WireTarget } from '../providers/model-connections';
import { createOpenAIChatModel } from '../providers/openai-chat-model';
import { fetchWithTimeouts } from '../providers/upstream-timeouts';

/** Parts that mean the answer has begun: once one arrives, the try has served and is not retried. */
const ANSWER_BEGAN = new Set<LanguageModelV3StreamPart['type']>([
  'text-delta',
  'reasoning-delta',
  'tool-input-start',
  'tool-input-delta',
  'tool-call',
  'finish',
]);

/**
 * A failure of a stream before its answer began: an HTTP status or an abort as it is; a connection
 * that closed or broke is the stream ending early (nothing was passed on, another try may answer).
 */
function beforeTheAnswer(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted || classifyProviderError(error).upstreamStatus !== undefined) return error;
  return new UpstreamEarlyEndError();
}

/** The endpoint and candidate of the last call's serving try, for the outcome. */
export interface RoutedLanguageModel extends LanguageModelV3 {
  readonly lastServed: RelayTarget | undefined;
}

/**
 * A language model that sends each call through an alias version's routing (endpoint pools with
 * breakers and retries, then fallbacks), as the `/v1` relay does, for callers that speak the AI
 * SDK's model spec (the web chat). A stream is held back until its first content part, so a try
 * that fails before it is retried elsewhere with nothing shown; after it, a failure ends the
 * stream as with one upstream, keeping what came.
 */
export function createRoutedLanguageModel(
  routing: RelayRouting,
  shape: { provider: string; modelId: string },
  modelFor: (to: RelayTarget) => LanguageModelV3 | Promise<LanguageModelV3>,
): RoutedLanguageModel {
  let lastServed: RelayTarget | undefined;
  const signalOf = (options: LanguageModelV3CallOptions) => options.abortSignal ?? new AbortController().signal;

  return {
    specificationVersion: 'v3',
    provider: shape.provider,
    modelId: shape.modelId,
    supportedUrls: {},
    get lastServed() {
      return lastServed;
    },
    async doGenerate(options): Promise<LanguageModelV3GenerateResult> {
      let result: LanguageModelV3GenerateResult | undefined;
      await routing.run(async (to) => {
        result = await (await modelFor(to)).doGenerate(options);
        lastServed = to;
        return { ended: Promise.resolve(undefined) };
      }, signalOf(options));
      if (!result) throw new UpstreamEarlyEndError();
      return result;
    },
    async doStream(options): Promise<LanguageModelV3StreamResult> {
      let result: LanguageModelV3StreamResult | undefined;
      await routing.run(async (to) => {
        const started = await (await modelFor(to)).doStream(options);
        const reader = started.stream.getReader();
        const held: LanguageModelV3StreamPart[] = [];
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) throw new UpstreamEarlyEndError();
            if (value.type === 'error') throw beforeTheAnswer(value.error, options.abortSignal);
            held.push(value);
            if (ANSWER_BEGAN.has(value.type)) break;
          }
        } catch (error) {
          reader.cancel(error).catch(() => undefined);
          throw error;
        }
        let settle!: (failure: ProviderFailure | undefined) => void;
        const ended = new Promise<ProviderFailure | undefined>((resolve) => {
          settle = resolve;
        });
        const stream = new ReadableStream<LanguageModelV3StreamPart>({
          start(controller) {
            for (const part of held) controller.enqueue(part);
          },
          async pull(controller) {
            try {
              const { done, value } = await reader.read();
              if (done) {
                settle(undefined);
                controller.close();
                return;
              }
              if (value.type === 'error') settle(classifyProviderError(value.error));
              controller.enqueue(value);
            } catch (error) {
              settle(classifyProviderError(error));
              controller.error(error);
            }
          },
          cancel(reason) {
            settle(undefined);
            return reader.cancel(reason);
          },
        });
        result = { ...started, stream };
        lastServed = to;
        return { ended };
      }, signalOf(options));
      if (!result) throw new UpstreamEarlyEndError();
      return result;
    },
  };
}

/**
 * A language model for one endpoint of a pool, memoised per endpoint and model: the lean client of
 * OpenAI's wire for text, the AI SDK's OpenAI-compatible provider for images or query parameters
 * (Azure's `api-version`).
 */
export function createEndpointModels(): (to: RelayTarget, options?: { full?: boolean }) => Promise<LanguageModelV3> {
  const models = new Map<string, LanguageModelV3>();
  const key = (target: WireTarget, model: string, full: boolean) => `${target.baseURL}\n${model}\n${full ? 'full' : 'lean'}`;
  return async (to, options = {}) => {
    const full = options.full === true || (to.target.query !== undefined && Object.keys(to.target.query).length > 0);
    const k = key(to.target, to.upstreamModel, full);
    let model = models.get(k);
    if (!model) {
      if (full) {
        const { createOpenAICompatible } = await import('@ai-sdk/openai-compatible');
        model = createOpenAICompatible({
          name: to.candidate,
          baseURL: to.target.baseURL,
          headers: to.target.headers,
          ...(to.target.query ? { queryParams: to.target.query } : {}),
          includeUsage: true,
          supportsStructuredOutputs: true,
          fetch: fetchWithTimeouts(to.target.timeouts),
        }).chatModel(to.upstreamModel);
      } else {
        model = createOpenAIChatModel(
          { provider: to.candidate, baseURL: to.target.baseURL, headers: to.target.headers, timeouts: to.target.timeouts },
          to.upstreamModel,
        );
      }
      models.set(k, model);
    }
    return model;
  };
}
