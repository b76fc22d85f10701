import type { Citation } from '@axon/contracts';
import { loadTokenCounter } from '../limits/estimate-tokens';
import type { Store } from '../store';
import type { Embedder } from './embed/embedder';
import { maximalMarginalRelevance, searchHybrid } from './search/hybrid-search';

export interface RetrieveOptions {
  /** When given, vector search runs beside full-text search and the two are fused. */
  embedder?: Embedder | undefined;
  userId: string;
  collectionIds: string[];
  query: string;
  /** Tokens of passages that fit the prompt at most. */
  contextTokens: number;
}

/**
 * Searches the collections the user may read among `collectionIds`, keeps the passages that pass
 * each collection's minimum score, and fits the best of them into the context budget. The passages
 * come back numbered from 1, as the answer will cite them.
 */
export async function retrievePassages(store: Store, options: RetrieveOptions): Promise<Citation[]> {
  const collections = (await store.collections.listForUser(options.userId)).filter((c) => options.collectionIds.includes(c.id));
  if (collections.length === 0 || !options.query.trim()) return [];
  const k = Math.max(...collections.map((c) => c.topK));
  const minScore = new Map(collections.map((c) => [c.id, c.minScore]));
  const diversify = collections.some((c) => c.mmr);
  const found = await searchHybrid(store, options.embedder, options.query, {
    userId: options.userId,
    collectionIds: collections.map((c) => c.id),
    k: diversify ? k * 3 : k,
  });
  const hits = diversify ? maximalMarginalRelevance(found, k) : found;
  const countTokens = await loadTokenCounter();
  const best = hits[0]?.score ?? 0;
  const citations: Citation[] = [];
  let budget = options.contextTokens;
  for (const hit of hits) {
    const relative = best > 0 ? hit.score / best : 0;
    if (relative < (minScore.get(hit.collectionId) ?? 0)) continue;
    const tokens = countTokens(hit.text);
    if (tokens > budget) continue;
    budget -= tokens;
    citations.push({
      n: citations.length + 1,
      documentId: hit.documentId,
      documentName: hit.documentName,
      collectionId: hit.collectionId,
      chunkId: hit.chunkId,
      page: hit.page,
      section: hit.section,
      startOffset: hit.startOffset,
      endOffset: hit.endOffset,
      score: Math.round(relative * 1000) / 1000,
      text: hit.text,
    });
  }
  return citations;
}

/**
 * Passages from files attached to one message: their chunks in reading order, as many as fit the
 * budget, numbered after `startAt`. Only documents of collections the user may read are used.
 */
export async function attachmentPassages(
  store: Store,
  options: { userId: string; documentIds: string[]; contextTokens: number; startAt: number },
): Promise<Citation[]> {
  const citations: Citation[] = [];
  const countTokens = await loadTokenCounter();
  let budget = options.contextTokens;
  for (const documentId of options.documentIds) {
    const document = await store.documents.get(documentId);
    if (!document || !(await store.collections.getForUser(document.collectionId, options.userId))) continue;
    for (const chunk of await store.documents.listChunks(documentId)) {
      const tokens = countTokens(chunk.text);
      if (tokens > budget) break;
      budget -= tokens;
      citations.push({
        n: options.startAt + citations.length + 1,
        documentId: chunk.documentId,
        documentName: chunk.documentName,
        collectionId: chunk.collectionId,
        chunkId: chunk.chunkId,
        page: chunk.page,
        section: chunk.section,
        startOffset: chunk.startOffset,
        endOffset: chunk.endOffset,
        score: 1,
        text: chunk.text,
      });
    }
  }
  return citations;
}

/** Version of the grounding prompt, stored with each answer's citations for traceability. */
export const GROUNDED_PROMPT_VERSION = 'grounded-v1';

/** The system prompt that carries the passages and asks for [n] citations. */
export function groundedSystemPrompt(citations: Citation[]): string {
  const passages = citations
    .map((c) => {
      const where = [c.documentName, c.page !== null ? `page ${c.page}` : undefined, c.section ?? undefined].filter(Boolean).join(', ');
      return `[${c.n}] (${where})\n${c.text}`;
    })
    .join('\n\n');
  return [
    "You answer questions from the user's documents. Use the numbered passages below when they are relevant, and cite each passage you use as [n] right after the statement it supports. If the passages do not hold the answer, say so plainly instead of guessing.",
    '',
    'Passages:',
    '',
    passages,
  ].join('\n');
}
