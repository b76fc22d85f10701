import type { Citation, Collection, SearchFilters } from '@axon/contracts';
import { loadTokenCounter } from '../limits/estimate-tokens';
import type { ScoredChunk, Store } from '../store';
import type { Embedder } from './embed/embedder';
import { maximalMarginalRelevance, searchHybrid } from './search/hybrid-search';
import { type Reranker, rerankHits } from './search/rerank';
import { combineFilters } from './search/search-filters';
import { readTimeInQuestion, type TimeInQuestion } from './search/time-in-question';

export interface RetrieveOptions {
  /** When given, vector search runs beside full-text search and the two are fused. */
  embedder?: Embedder | undefined;
  /** When given, collections with reranking on have their passages reordered by it. */
  reranker?: Reranker | undefined;
  userId: string;
  collectionIds: string[];
  query: string;
  /** Tokens of passages that fit the prompt at most. */
  contextTokens: number;
  /** Documents to search among (dates, metadata); an explicit date range replaces one read from the question. */
  filters?: SearchFilters | undefined;
  /** Read dates and "latest" from the question's words (default true). */
  understandTime?: boolean | undefined;
  /** Today, for "today", "this year" and "the past 30 days". */
  now?: Date | undefined;
  /** Told when the reranker fails (the first-stage order is kept). */
  onRerankError?: ((error: unknown) => void) | undefined;
}

/** Among documents whose best hit scores at least this share of the best, a question asking for the latest gets the newest first. */
const RECENCY_FLOOR = 0.4;
/** Hits searched for a question asking for the latest: enough to reach past one long document's many passages. */
const RECENCY_DEPTH = 200;

/**
 * For questions that ask for the newest: the documents relevant enough (their best hit at least
 * {@link RECENCY_FLOOR} of the best score) ordered by date, newest first (undated ones after the
 * dated), each with its hits best first; then the other hits by score.
 */
export function orderByRecency<T extends { score: number; documentId: string; documentDate?: string | null | undefined }>(hits: T[]): T[] {
  const best = Math.max(0, ...hits.map((h) => h.score));
  const byDocument = new Map<string, T[]>();
  for (const hit of hits) byDocument.set(hit.documentId, [...(byDocument.get(hit.documentId) ?? []), hit]);
  const relevant = [...byDocument.values()].filter((list) => best > 0 && Math.max(...list.map((h) => h.score)) >= best * RECENCY_FLOOR);
  const date = (list: T[]) => list[0]?.documentDate ?? '';
  relevant.sort((a, b) => date(b).localeCompare(date(a)) || Math.max(...b.map((h) => h.score)) - Math.max(...a.map((h) => h.score)));
  const first = relevant.flatMap((list) => [...list].sort((a, b) => b.score - a.score));
  const taken = new Set(first);
  return [...first, ...hits.filter((h) => !taken.has(h))];
}

/** The ranked hits of one question, before the budget: time read, filters applied, reranked, diversified. */
export async function rankPassages(
  store: Store,
  options: Omit<RetrieveOptions, 'contextTokens'>,
): Promise<{ hits: ScoredChunk[]; collections: Collection[] }> {
  const collections = (await store.collections.listForUser(options.userId)).filter((c) => options.collectionIds.includes(c.id));
  if (collections.length === 0 || !options.query.trim()) return { hits: [], collections };
  const time: TimeInQuestion =
    options.understandTime === false
      ? { recency: false, text: options.query }
      : readTimeInQuestion(options.query, options.now ?? new Date());
  const explicitDates = Boolean(options.filters?.dateFrom || options.filters?.dateTo);
  const questionRange = explicitDates ? undefined : time.range;
  const k = Math.max(...collections.map((c) => c.topK));
  const diversify = collections.some((c) => c.mmr);
  const reranker = collections.some((c) => c.rerank) ? options.reranker : undefined;
  const depth = Math.max(diversify ? k * 3 : k, time.recency ? RECENCY_DEPTH : k, reranker?.candidates ?? 0);
  const search = (filter: SearchFilters | undefined) =>
    searchHybrid(store, options.embedder, time.text, {
      userId: options.userId,
      collectionIds: collections.map((c) => c.id),
      k: depth,
      filter,
    });
  let found = await search(combineFilters(options.filters, questionRange));
  // A range read from the question's words that no document falls in is dropped rather than answering nothing.
  if (found.length === 0 && questionRange) found = await search(options.filters);
  if (reranker) {
    try {
      found = await rerankHits(reranker, options.query, found);
    } catch (error) {
      options.onRerankError?.(error);
    }
  }
  if (time.recency) found = orderByRecency(found);
  return { hits: diversify ? maximalMarginalRelevance(found, k) : found.slice(0, k), collections };
}

/**
 * Searches the collections the user may read among `collectionIds`, keeps the passages that pass
 * each collection's minimum score, and fits the best of them into the context budget. The passages
 * come back numbered from 1, as the answer will cite them. Time in the question ("in December
 * 2023", "since 2022", "the latest") filters the documents by date or puts the newest first.
 */
export async function retrievePassages(store: Store, options: RetrieveOptions): Promise<Citation[]> {
  const { hits, collections } = await rankPassages(store, options);
  const minScore = new Map(collections.map((c) => [c.id, c.minScore]));
  const countTokens = await loadTokenCounter();
  const best = Math.max(0, ...hits.map((h) => h.score));
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
      documentDate: hit.documentDate ?? null,
      highlights: [],
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
        documentDate: chunk.documentDate ?? null,
        highlights: [],
      });
    }
  }
  return citations;
}

/** Version of the grounding prompt, stored with each answer's citations for traceability. */
export const GROUNDED_PROMPT_VERSION = 'grounded-v2';

/** The system prompt that carries the passages and asks for [n] citations. */
export function groundedSystemPrompt(citations: Citation[]): string {
  const passages = citations
    .map((c) => {
      const where = [
        c.documentName,
        c.documentDate ? `dated ${c.documentDate}` : undefined,
        c.page !== null ? `page ${c.page}` : undefined,
        c.section ?? undefined,
      ]
        .filter(Boolean)
        .join(', ');
      return `[${c.n}] (${where})\n${c.text}`;
    })
    .join('\n\n');
  return [
    "You answer questions from the user's documents. Use the numbered passages below when they are relevant, and cite each passage you use as [n] right after the statement it supports. Each passage names its document and, when known, the document's date: when the question is about a time, use the passages of that time and say which date the answer comes from. If the passages do not hold the answer, say so plainly instead of guessing.",
    '',
    'Passages:',
    '',
    passages,
  ].join('\n');
}
