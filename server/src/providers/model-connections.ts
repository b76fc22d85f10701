import type { LanguageModelV3 } from '@ai-sdk/provider';
import type { Config, ModelEntry } from '../config';
import { createLocalExtractiveModel, LOCAL_EXTRACTIVE_ID } from './local-extractive-model';
import { createOpenAIChatModel } from './openai-chat-model';

/** One configured source of models: a provider account or a self-hosted server. */
export interface ModelConnection {
  /** Prefix of its model ids (`openai` in `openai/gpt-4o-mini`). */
  readonly name: string;
  readonly kind: 'local' | 'remote';
  /** The models it offers; read from the upstream when the configuration names none. */
  listModels(signal: AbortSignal): Promise<ModelEntry[]>;
  /** A client for one of its models (the upstream id, without the connection prefix). */
  languageModel(modelId: string): LanguageModelV3;
}

type FetchLike = typeof fetch;

const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';
const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com/v1';

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
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
  const body = (await response.json()) as { data?: Array<{ id?: unknown; display_name?: unknown }> };
  if (!Array.isArray(body.data)) throw new Error('GET /models did not return a `data` list');
  return body.data
    .filter((m): m is { id: string; display_name?: unknown } => typeof m.id === 'string')
    .map((m) => (typeof m.display_name === 'string' ? { id: m.id, name: m.display_name } : { id: m.id }));
}

function staticOr(models: ModelEntry[] | undefined, fetchModels: (signal: AbortSignal) => Promise<ModelEntry[]>) {
  return models && models.length > 0 ? async () => models : fetchModels;
}

/**
 * Turns the configuration into connections, in the order the model picker shows them. Provider
 * packages are loaded only for the providers that are configured.
 */
export async function createModelConnections(config: Config, fetchFn: FetchLike = fetch): Promise<ModelConnection[]> {
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
    const provider = createOpenAI({ apiKey, baseURL, fetch: fetchFn });
    connections.push({
      name: 'openai',
      kind: 'remote',
      listModels: staticOr(models, (signal) =>
        fetchOpenAIStyleModels(fetchFn, baseURL, { authorization: `Bearer ${apiKey}` }, signal).then((list) =>
          list.filter((m) => /^(gpt-|o\d|chatgpt-)/.test(m.id)),
        ),
      ),
      languageModel: (id) => memo(`openai/${id}`, () => provider.chat(id)),
    });
  }
  if (config.azure) {
    const { createAzure } = await import('@ai-sdk/azure');
    const { apiKey, resourceName, baseURL, apiVersion, deployments } = config.azure;
    const provider = createAzure({
      apiKey,
      fetch: fetchFn,
      ...(resourceName ? { resourceName } : {}),
      ...(baseURL ? { baseURL } : {}),
      ...(apiVersion ? { apiVersion } : {}),
    });
    connections.push({
      name: 'azure',
      kind: 'remote',
      listModels: async () => deployments,
      languageModel: (id) => memo(`azure/${id}`, () => provider.chat(id)),
    });
  }
  if (config.anthropic) {
    const { createAnthropic } = await import('@ai-sdk/anthropic');
    const { apiKey, baseURL = ANTHROPIC_DEFAULT_BASE_URL, models } = config.anthropic;
    const provider = createAnthropic({ apiKey, baseURL, fetch: fetchFn });
    connections.push({
      name: 'anthropic',
      kind: 'remote',
      listModels: staticOr(models, (signal) =>
        fetchOpenAIStyleModels(fetchFn, baseURL, { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01' }, signal),
      ),
      languageModel: (id) => memo(`anthropic/${id}`, () => provider(id)),
    });
  }
  for (const connection of config.connections) {
    const apiKey = connection.apiKey ?? (connection.apiKeyEnv ? config.secrets?.[connection.apiKeyEnv] : undefined);
    const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
    let languageModel: (id: string) => LanguageModelV3;
    if (connection.client === 'ai-sdk') {
      const { createOpenAICompatible } = await import('@ai-sdk/openai-compatible');
      const provider = createOpenAICompatible({
        name: connection.name,
        baseURL: connection.baseURL,
        includeUsage: true,
        fetch: fetchFn,
        ...(apiKey ? { apiKey } : {}),
      });
      languageModel = (id) => provider.chatModel(id);
    } else {
      languageModel = (id) => createOpenAIChatModel({ provider: connection.name, baseURL: connection.baseURL, apiKey }, id);
    }
    connections.push({
      name: connection.name,
      kind: 'remote',
      listModels: staticOr(connection.models, (signal) => fetchOpenAIStyleModels(fetchFn, connection.baseURL, headers, signal)),
      languageModel: (id) => memo(`${connection.name}/${id}`, () => languageModel(id)),
    });
  }
  if (config.localModel.enabled) {
    const local = createLocalExtractiveModel(config.localModel);
    connections.push({
      name: 'local',
      kind: 'local',
      listModels: async () => [{ id: LOCAL_EXTRACTIVE_ID, name: 'Local extractive (quotes passages, no generation)' }],
      languageModel: () => local,
    });
  }
  return connections;
}
