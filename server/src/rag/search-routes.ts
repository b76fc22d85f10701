import { SearchRequestSchema } from '@axon/contracts';
import type { FastifyInstance } from 'fastify';
import { parseInput } from '../http/parse-input';
import { requirePrincipal } from '../http/require-principal';
import type { Store } from '../store';
import type { Embedder } from './embed/embedder';
import { rankPassages } from './retrieve-passages';
import type { Reranker } from './search/rerank';

export interface SearchRoutesDeps {
  store: Store;
  embedder?: Embedder | undefined;
  reranker?: Reranker | undefined;
}

/**
 * `POST /api/search`: the passages a question retrieves from collections the caller may read, as
 * the chat would be given them (time in the question understood, `filters` applied, reranked where
 * the collection says so), best first, `k` at most.
 */
export function registerSearchRoutes(app: FastifyInstance, deps: SearchRoutesDeps): void {
  app.post('/api/search', async (request) => {
    const body = parseInput(SearchRequestSchema, request.body, 'body');
    const user = requirePrincipal(request).user;
    const { hits } = await rankPassages(deps.store, {
      embedder: deps.embedder,
      reranker: deps.reranker,
      onRerankError: (error) => request.log.warn({ err: error }, 'reranking failed; the first-stage order is kept'),
      userId: user.id,
      collectionIds: body.collectionIds,
      query: body.query,
      filters: body.filters,
      understandTime: body.understandTime,
    });
    return {
      items: hits.slice(0, body.k).map((h) => ({
        chunkId: h.chunkId,
        documentId: h.documentId,
        documentName: h.documentName,
        documentDate: h.documentDate ?? null,
        collectionId: h.collectionId,
        page: h.page,
        section: h.section,
        startOffset: h.startOffset,
        endOffset: h.endOffset,
        score: h.score,
        text: h.text,
      })),
    };
  });
}
