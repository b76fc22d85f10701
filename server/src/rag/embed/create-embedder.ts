import type { Config } from '../../config';
import { createOpenAIEmbedder, type Embedder, withBatching, withRetries } from './embedder';

const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/**
 * The configured embedder (batched, with retries), or undefined when none is configured and
 * retrieval is full-text only. The model is named `connection/model` like chat models.
 */
export function createEmbedderFromConfig(config: Config): (Embedder & { upstreamCalls: number }) | undefined {
  if (!config.embeddings) return undefined;
  const { model, batchSize, batchWaitMs } = config.embeddings;
  const slash = model.indexOf('/');
  const connection = model.slice(0, slash);
  const upstreamModel = model.slice(slash + 1);
  let base: Embedder;
  if (connection === 'openai') {
    if (!config.openai) throw new Error('AXON_EMBEDDING_MODEL names openai/…, but OPENAI_API_KEY is not set');
    base = createOpenAIEmbedder({
      baseURL: config.openai.baseURL ?? OPENAI_DEFAULT_BASE_URL,
      apiKey: config.openai.apiKey,
      upstreamModel,
      model,
    });
  } else if (connection === 'azure') {
    if (!config.azure) throw new Error('AXON_EMBEDDING_MODEL names azure/…, but Azure OpenAI is not configured');
    const baseURL = config.azure.baseURL ?? `https://${config.azure.resourceName}.openai.azure.com/openai/v1`;
    base = createOpenAIEmbedder({ baseURL, apiKey: config.azure.apiKey, upstreamModel, model, keyHeader: 'api-key' });
  } else {
    const compatible = config.connections.find((c) => c.name === connection);
    if (!compatible) throw new Error(`AXON_EMBEDDING_MODEL names the connection "${connection}", which is not configured`);
    const apiKey = compatible.apiKey ?? (compatible.apiKeyEnv ? config.secrets?.[compatible.apiKeyEnv] : undefined);
    base = createOpenAIEmbedder({ baseURL: compatible.baseURL, apiKey, upstreamModel, model });
  }
  return withBatching(withRetries(base, { attempts: 3, baseDelayMs: 200 }), { maxBatch: batchSize, maxWaitMs: batchWaitMs });
}
