import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { APICallError } from '@ai-sdk/provider';
import { classifyProviderError } from '../../errors';

/** The embedder seam: texts in, one vector each out, in order. */
export interface Embedder {
  /** Namespaced model id (`openai/text-embedding-3-small`), recorded per collection. */
  readonly model: string;
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

export interface OpenAIEmbeddingsEndpoint {
  /** Base URL including `/v1`. */
  baseURL: string;
  apiKey?: string | undefined;
  /** Model id as the upstream knows it. */
  upstreamModel: string;
  /** Namespaced id Axon reports. */
  model: string;
  /** Extra query string, e.g. Azure's `api-version`. */
  query?: string | undefined;
  /** Header carrying the key: `authorization` (Bearer) or Azure's `api-key`. */
  keyHeader?: 'authorization' | 'api-key';
}

const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 64 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }) };

/** An embedder for OpenAI's `POST /embeddings` wire format (OpenAI, Azure OpenAI, TEI, vLLM, Ollama). */
export function createOpenAIEmbedder(endpoint: OpenAIEmbeddingsEndpoint): Embedder {
  const url = new URL(`${endpoint.baseURL.replace(/\/+$/, '')}/embeddings${endpoint.query ? `?${endpoint.query}` : ''}`);
  const secure = url.protocol === 'https:';
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (endpoint.apiKey) {
    if (endpoint.keyHeader === 'api-key') headers['api-key'] = endpoint.apiKey;
    else headers.authorization = `Bearer ${endpoint.apiKey}`;
  }
  return {
    model: endpoint.model,
    embed(texts, signal) {
      const payload = JSON.stringify({ model: endpoint.upstreamModel, input: texts, encoding_format: 'float' });
      return new Promise((resolve, reject) => {
        const req = (secure ? httpsRequest : httpRequest)(
          url,
          {
            method: 'POST',
            agent: secure ? agents.https : agents.http,
            headers: { ...headers, 'content-length': Buffer.byteLength(payload) },
            signal,
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              text += c;
            });
            res.on('error', reject);
            res.on('end', () => {
              if (res.statusCode !== 200) {
                return reject(
                  new APICallError({
                    message: `embeddings answered HTTP ${res.statusCode}`,
                    url: url.href,
                    requestBodyValues: undefined,
                    statusCode: res.statusCode,
                    responseBody: text.slice(0, 2000),
                    isRetryable: res.statusCode === 429 || (res.statusCode ?? 0) >= 500,
                  }),
                );
              }
              try {
                const body = JSON.parse(text) as { data: Array<{ index: number; embedding: number[] }> };
                const vectors: number[][] = new Array(texts.length);
                for (const item of body.data) vectors[item.index] = item.embedding;
                if (vectors.some((v) => !Array.isArray(v))) throw new Error('the answer lacks some embeddings');
                resolve(vectors);
              } catch (error) {
                reject(
                  new APICallError({
                    message: `embeddings answer is not valid: ${(error as Error).message}`,
                    url: url.href,
                    requestBodyValues: undefined,
                    responseBody: text.slice(0, 500),
                  }),
                );
              }
            });
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
  };
}

/** Retries retryable failures (429, 5xx, connection errors) with exponential backoff. */
export function withRetries(inner: Embedder, options: { attempts: number; baseDelayMs: number }): Embedder {
  return {
    model: inner.model,
    async embed(texts, signal) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await inner.embed(texts, signal);
        } catch (error) {
          const failure = classifyProviderError(error);
          if (!failure.retryable || attempt >= options.attempts || signal?.aborted) throw error;
          await new Promise((r) => setTimeout(r, options.baseDelayMs * 2 ** (attempt - 1)));
        }
      }
    },
  };
}

/**
 * Dynamic batching: concurrent `embed` calls are coalesced into one upstream call of up to
 * `maxBatch` texts, sent when full or `maxWaitMs` after the first text arrived; each caller gets
 * back its own vectors.
 */
export function withBatching(inner: Embedder, options: { maxBatch: number; maxWaitMs: number }): Embedder & { upstreamCalls: number } {
  type Waiter = { texts: string[]; resolve: (v: number[][]) => void; reject: (e: unknown) => void };
  const queue: Waiter[] = [];
  let queued = 0;
  let timer: NodeJS.Timeout | undefined;
  const state = { upstreamCalls: 0 };

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    while (queue.length > 0) {
      const batch: Waiter[] = [];
      let size = 0;
      while (queue.length > 0 && (size === 0 || size + (queue[0] as Waiter).texts.length <= options.maxBatch)) {
        const next = queue.shift() as Waiter;
        batch.push(next);
        size += next.texts.length;
      }
      queued -= size;
      state.upstreamCalls++;
      inner.embed(batch.flatMap((w) => w.texts)).then(
        (vectors) => {
          let offset = 0;
          for (const waiter of batch) {
            waiter.resolve(vectors.slice(offset, offset + waiter.texts.length));
            offset += waiter.texts.length;
          }
        },
        (error) => {
          for (const waiter of batch) waiter.reject(error);
        },
      );
    }
  };

  return {
    model: inner.model,
    get upstreamCalls() {
      return state.upstreamCalls;
    },
    embed(texts) {
      if (texts.length === 0) return Promise.resolve([]);
      // A call larger than a batch goes out on its own, in batch-sized parts.
      if (texts.length >= options.maxBatch) {
        const parts: Promise<number[][]>[] = [];
        for (let i = 0; i < texts.length; i += options.maxBatch) {
          state.upstreamCalls++;
          parts.push(inner.embed(texts.slice(i, i + options.maxBatch)));
        }
        return Promise.all(parts).then((all) => all.flat());
      }
      return new Promise((resolve, reject) => {
        queue.push({ texts, resolve, reject });
        queued += texts.length;
        if (queued >= options.maxBatch) flush();
        else timer ??= setTimeout(flush, options.maxWaitMs);
      });
    },
  };
}
