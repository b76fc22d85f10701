import type { ScoredChunk } from '../../store';

/**
 * Wire formats of rerank endpoints. They differ in little: Cohere (`POST /v2/rerank`), Jina
 * (`POST /v1/rerank`) and vLLM (`/rerank`, `/v1/rerank`, `/v2/rerank`) take
 * `{ model, query, documents, top_n }` and answer `{ results: [{ index, relevance_score }] }`;
 * Voyage takes `top_k` and answers `{ data: [...] }`; Hugging Face TEI takes `{ query, texts }`
 * and answers a bare list of `{ index, score }`.
 */
export const RERANK_FORMATS = ['cohere', 'jina', 'voyage', 'tei'] as const;
export type RerankFormat = (typeof RERANK_FORMATS)[number];

/** A second-stage ranking model: scores passages against a query. */
export interface Reranker {
  /** `connection/model`, as configured. */
  readonly model: string;
  /** How many first-stage passages to send for reordering. */
  readonly candidates: number;
  /** One relevance score per document, in the documents' order (higher is more relevant). */
  score(query: string, documents: string[], signal?: AbortSignal): Promise<number[]>;
}

export interface RerankClientOptions {
  /** Full URL of the endpoint, e.g. `https://api.cohere.com/v2/rerank`. */
  url: string;
  format: RerankFormat;
  /** The model id the upstream knows (none for TEI, which serves one). */
  upstreamModel: string;
  /** `connection/model`, for logs and reports. */
  model: string;
  apiKey?: string | undefined;
  candidates: number;
  timeoutMs: number;
  fetchFn?: typeof fetch;
}

type Json = Record<string, unknown>;

/** The request body for `format`. */
export function rerankRequestBody(format: RerankFormat, model: string, query: string, documents: string[]): Json {
  if (format === 'tei') return { query, texts: documents, truncate: true };
  if (format === 'voyage') return { model, query, documents, top_k: documents.length, truncation: true };
  return { model, query, documents, top_n: documents.length, return_documents: false };
}

/** Reads the scores of any of the formats' answers, by document index. */
export function readRerankScores(body: unknown, count: number): number[] {
  const list = Array.isArray(body) ? body : ((body as Json | null)?.results ?? (body as Json | null)?.data);
  if (!Array.isArray(list)) throw new Error('the rerank answer holds no `results`, `data` or list of scores');
  const scores = new Array<number>(count).fill(Number.NEGATIVE_INFINITY);
  for (const item of list as Json[]) {
    const index = item?.index;
    const score = item?.relevance_score ?? item?.score;
    if (typeof index !== 'number' || typeof score !== 'number' || index < 0 || index >= count) continue;
    scores[index] = score;
  }
  return scores;
}

/** A client of one rerank endpoint. */
export function createRerankClient(options: RerankClientOptions): Reranker {
  const fetchFn = options.fetchFn ?? fetch;
  return {
    model: options.model,
    candidates: options.candidates,
    async score(query, documents, signal) {
      if (documents.length === 0) return [];
      const timeout = AbortSignal.timeout(options.timeoutMs);
      const send = () =>
        fetchFn(options.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
          },
          body: JSON.stringify(rerankRequestBody(options.format, options.upstreamModel, query, documents)),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      let response: Response;
      try {
        response = await send();
      } catch (error) {
        // A kept-alive connection the server closed meanwhile fails before the request is read: sent again once.
        if (signal?.aborted || timeout.aborted) throw error;
        response = await send();
      }
      if (!response.ok) throw new Error(`the rerank endpoint answered HTTP ${response.status}`);
      return readRerankScores(await response.json(), documents.length);
    },
  };
}

/**
 * Reorders first-stage hits by the reranker's scores (its score becomes the hit's score). The
 * passages are sent with their section heading, as they were embedded.
 */
export async function rerankHits(reranker: Reranker, query: string, hits: ScoredChunk[], signal?: AbortSignal): Promise<ScoredChunk[]> {
  const candidates = hits.slice(0, reranker.candidates);
  if (candidates.length < 2) return hits;
  const scores = await reranker.score(
    query,
    candidates.map((h) => (h.section ? `${h.section}\n${h.text}` : h.text)),
    signal,
  );
  const reordered = candidates
    .map((hit, i) => ({ hit, score: scores[i] ?? Number.NEGATIVE_INFINITY, i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .map(({ hit, score }) => ({ ...hit, score: Number.isFinite(score) ? score : 0 }));
  // Relevance scores may be negative (TEI's raw logits): shift them so that relative scores stay in [0, 1].
  const lowest = Math.min(...reordered.map((h) => h.score));
  const shifted = lowest < 0 ? reordered.map((h) => ({ ...h, score: h.score - lowest })) : reordered;
  return [...shifted, ...hits.slice(reranker.candidates).map((h) => ({ ...h, score: 0 }))];
}

/** The configured reranker, or undefined when none is configured. */
export function createRerankerFromConfig(
  config: {
    rerank?: { model: string; candidates: number; timeoutMs: number } | undefined;
    connections: Array<{
      name: string;
      baseURL: string;
      apiKey?: string | undefined;
      apiKeyEnv?: string | undefined;
      rerank?: { format: RerankFormat; path: string } | undefined;
    }>;
    secrets?: Record<string, string> | undefined;
  },
  fetchFn?: typeof fetch,
): Reranker | undefined {
  if (!config.rerank) return undefined;
  const { model, candidates, timeoutMs } = config.rerank;
  const slash = model.indexOf('/');
  const connection = config.connections.find((c) => c.name === model.slice(0, slash));
  if (!connection?.rerank) throw new Error(`rerank.model names "${model}", but that connection declares no rerank endpoint`);
  const apiKey = connection.apiKey ?? (connection.apiKeyEnv ? config.secrets?.[connection.apiKeyEnv] : undefined);
  return createRerankClient({
    url: `${connection.baseURL.replace(/\/+$/, '')}${connection.rerank.path}`,
    format: connection.rerank.format,
    upstreamModel: model.slice(slash + 1),
    model,
    apiKey,
    candidates,
    timeoutMs,
    ...(fetchFn ? { fetchFn } : {}),
  });
}
