import type { LanguageModelV3 } from '@ai-sdk/provider';
import { type Config, isOpenAIBaseURL, type ModelEntry } from '../config';
import { createLocalExtractiveModel, LOCAL_EXTRACTIVE_ID } from './local-extractive-model';
import { createOpenAIChatModel } from './openai-chat-model';
import { fetchWithTimeouts } from './upstream-timeouts';

/** Time limits of one upstream's calls, in ms. */
export interface UpstreamTimeouts {
  connectMs: number;
  firstByteMs: number;
  idleMs: number;
}

/**
 * How to reach an upstream over its own wire format, for the gateway's pass-through: requests
 * in that format are forwarded as sent and answered with the upstream's bytes.
 */
export interface WireTarget {
  /** `openai`: chat completions, Responses, embeddings; `anthropic`: the Messages API. */
  wire: 'openai' | 'anthropic';
  /** Base URL including `/v1` (Azure: `…/openai/v1`). */
  baseURL: string;
  /** Credentials and version headers the upstream wants. */
  headers: Record<string, string>;
  /** Query parameters every call carries (Azure's `api-version`). */
  query?: Record<string, string>;
  timeouts: UpstreamTimeouts;
  /** Whether it serves OpenAI's Responses API (`POST /responses`); otherwise Axon translates. */
  responses?: boolean;
}

/** One configured source of models: a provider account or a self-hosted server. */
export interface ModelConnection {
  /** Prefix of its model ids (`openai` in `openai/gpt-4o-mini`). */
  readonly name: string;
  readonly kind: 'local' | 'remote';
  /** The models it offers; read from the upstream when the configuration names none. */
  listModels(signal: AbortSignal): Promise<ModelEntry[]>;
  /** A client for one of its models (the upstream id, without the connection prefix): the web chat's fast path. */
  languageModel(modelId: string): LanguageModelV3;
  /**
   * A client with every feature of the AI SDK's seam (tools, images, structured outputs), for
   * requests Axon translates between wire formats; the same as `languageModel` where that has them.
   */
  fullLanguageModel(modelId: string): LanguageModelV3;
  /** Its own wire format, for pass-through; none for Axon's local model. */
  readonly wire?: WireTarget;
  /** Embedding models it offers (upstream ids). */
  readonly embeddingModels: string[];
}

type FetchLike = typeof fetch;

const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';
const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com/v1';

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Context window from what servers add to `GET /models` (vLLM `max_model_len`, others `context_length`). */
function contextOf(model: Record<string, unknown>): number | undefined {
  for (const key of ['max_model_len', 'context_length', 'context_window']) {
    const value = model[key];
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  }
  return undefined;
}

/** Reads OpenAI's `GET /models` shape: `{ data: [{ id }] }`. */
async function fetchOpenAIStyleModels(
  fetchFn: FetchLike,
  baseURL: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<ModelEntry[]> {
  const response = await fetchFn(`${trimSlash(baseURL)}/models`, { headers, signal });
  if (!response.ok) throw Object.assign(new Error(`GET /models answered HTTP ${response.status}`), { statusCode: response.status });
  const body = (await response.json()) as { data?: Array<Record<string, unknown>> };
  if (!Array.isArray(body.data)) throw new Error('GET /models did not return a `data` list');
  return body.data
    .filter((m): m is Record<string, unknown> & { id: string } => typeof m?.id === 'string')
    .map((m): ModelEntry => {
      const contextWindow = contextOf(m);
      return {
        id: m.id,
        type: 'chat',
        ...(typeof m.display_name === 'string' ? { name: m.display_name } : {}),
        ...(contextWindow ? { capabilities: { contextWindow } } : {}),
      };
    });
}

function staticOr(models: ModelEntry[] | undefined, fetchModels: (signal: AbortSignal) => Promise<ModelEntry[]>) {
  return models && models.length > 0 ? async () => models : fetchModels;
}

const timeoutsOf = (config: Config, own: Partial<UpstreamTimeouts> | undefined): UpstreamTimeouts => ({
  connectMs: own?.connectMs ?? config.upstreamTimeouts.connectMs,
  firstByteMs: own?.firstByteMs ?? config.upstreamTimeouts.firstByteMs,
  idleMs: own?.idleMs ?? config.upstreamTimeouts.idleMs,
});

/**
 * Turns the configuration into connections, in the order the model picker shows them. Provider
 * packages are loaded only for the providers that are configured.
 */
export async function createModelConnections(config: Config, givenFetch?: FetchLike): Promise<ModelConnection[]> {
  // Model lists use it; the AI SDK's clients get a connection's own limits (or the given fetch as it is).
  const fetchFn = givenFetch ?? fetch;
  const limited = (timeouts: UpstreamTimeouts) => fetchWithTimeouts(timeouts, givenFetch);
  const connections: ModelConnection[] = [];
  const cache = new Map<string, LanguageModelV3>();
  const memo = (key: string, make: () => LanguageModelV3) => {
    let model = cache.get(key);
    if (!model) {
      model = make();
      cache.set(key, model);
    }
    return model;
  };

  if (config.openai) {
    const { createOpenAI } = await import('@ai-sdk/openai');
    const { apiKey, baseURL = OPENAI_DEFAULT_BASE_URL, models } = config.openai;
    const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
    const timeouts = timeoutsOf(config, config.openai.timeouts);
    const provider = createOpenAI({ apiKey: apiKey ?? 'none', baseURL, fetch: limited(timeouts) });
    // OpenAI's own list holds embedding, audio and image models: only chat ones are offered there.
    // Another server at OPENAI_BASE_URL (vLLM, Ollama, a proxy) lists what it serves.
    const ownApi = isOpenAIBaseURL(config.openai.baseURL);
    connections.push({
      name: 'openai',
      kind: 'remote',
      listModels: staticOr(models, (signal) =>
        fetchOpenAIStyleModels(fetchFn, baseURL, headers, signal).then((list) =>
          ownApi ? list.filter((m) => /^(gpt-|o\d|chatgpt-)/.test(m.id)) : list,
        ),
      ),
      languageModel: (id) => memo(`openai/${id}`, () => provider.chat(id)),
      fullLanguageModel: (id) => memo(`openai/${id}`, () => provider.chat(id)),
      wire: {
        wire: 'openai',
        baseURL,
        headers,
        timeouts,
        responses: config.openai.responses ?? ownApi,
      },
      embeddingModels: config.openai.embeddingModels ?? [],
    });
  }
  if (config.azure) {
    const { createAzure } = await import('@ai-sdk/azure');
    const { apiKey, resourceName, baseURL, apiVersion, deployments } = config.azure;
    const timeouts = timeoutsOf(config, config.azure.timeouts);
    const provider = createAzure({
      apiKey,
      fetch: limited(timeouts),
      ...(resourceName ? { resourceName } : {}),
      ...(baseURL ? { baseURL } : {}),
      ...(apiVersion ? { apiVersion } : {}),
    });
    connections.push({
      name: 'azure',
      kind: 'remote',
      listModels: async () => deployments,
      languageModel: (id) => memo(`azure/${id}`, () => provider.chat(id)),
      fullLanguageModel: (id) => memo(`azure/${id}`, () => provider.chat(id)),
      // Azure's v1 API: OpenAI's paths under /openai/v1, the deployment as `model`, the key in `api-key`.
      wire: {
        wire: 'openai',
        baseURL: baseURL ?? `https://${resourceName}.openai.azure.com/openai/v1`,
        headers: { 'api-key': apiKey },
        query: { 'api-version': apiVersion ?? 'v1' },
        timeouts,
        responses: true,
      },
      embeddingModels: deployments.filter((d) => d.type === 'embedding').map((d) => d.id),
    });
  }
  if (config.anthropic) {
    const { createAnthropic } = await import('@ai-sdk/anthropic');
    const { apiKey, baseURL = ANTHROPIC_DEFAULT_BASE_URL, models } = config.anthropic;
    const timeouts = timeoutsOf(config, config.anthropic.timeouts);
    const provider = createAnthropic({ apiKey, baseURL, fetch: limited(timeouts) });
    const headers = { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01' };
    connections.push({
      name: 'anthropic',
      kind: 'remote',
      listModels: staticOr(models, (signal) => fetchOpenAIStyleModels(fetchFn, baseURL, headers, signal)),
      languageModel: (id) => memo(`anthropic/${id}`, () => provider(id)),
      fullLanguageModel: (id) => memo(`anthropic/${id}`, () => provider(id)),
      wire: { wire: 'anthropic', baseURL, headers, timeouts },
      embeddingModels: [],
    });
  }
  for (const connection of config.connections) {
    const apiKey = connection.apiKey ?? (connection.apiKeyEnv ? config.secrets?.[connection.apiKeyEnv] : undefined);
    const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
    const { createOpenAICompatible } = await import('@ai-sdk/openai-compatible');
    const timeouts = timeoutsOf(config, connection.timeouts);
    const provider = createOpenAICompatible({
      name: connection.name,
      baseURL: connection.baseURL,
      includeUsage: true,
      supportsStructuredOutputs: true,
      fetch: limited(timeouts),
      ...(apiKey ? { apiKey } : {}),
    });
    const languageModel =
      connection.client === 'ai-sdk'
        ? (id: string) => provider.chatModel(id)
        : (id: string) => createOpenAIChatModel({ provider: connection.name, baseURL: connection.baseURL, apiKey, timeouts }, id);
    connections.push({
      name: connection.name,
      kind: 'remote',
      listModels: staticOr(connection.models, (signal) => fetchOpenAIStyleModels(fetchFn, connection.baseURL, headers, signal)),
      languageModel: (id) => memo(`${connection.name}/${id}`, () => languageModel(id)),
      fullLanguageModel: (id) => memo(`${connection.name}/${id}#full`, () => provider.chatModel(id)),
      wire: {
        wire: 'openai',
        baseURL: connection.baseURL,
        headers,
        timeouts,
        responses: connection.responses,
      },
      embeddingModels: [
        ...(connection.embeddingModels ?? []),
        ...(connection.models ?? []).filter((m) => m.type === 'embedding').map((m) => m.id),
      ],
    });
  }
  if (config.localModel.enabled) {
    const local = createLocalExtractiveModel(config.localModel);
    connections.push({
      name: 'local',
      kind: 'local',
      listModels: async () => [
        {
          id: LOCAL_EXTRACTIVE_ID,
          type: 'chat',
          name: 'Local extractive (quotes passages, no generation)',
          description: 'Built into Axon: answers by quoting the most relevant sentences of your documents. It writes no new text.',
          capabilities: { tools: false, vision: false, structuredOutputs: false },
        },
      ],
      languageModel: () => local,
      fullLanguageModel: () => local,
      embeddingModels: [],
    });
  }
  return connections;
}
