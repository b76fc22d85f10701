import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ScoredChunk, Store } from '../../store';
import type { Embedder } from '../embed/embedder';
import { chunkDocument } from '../ingest/chunk-document';
import { parsePlainText } from '../ingest/parse-text-formats';
import { searchHybrid } from '../search/hybrid-search';
import type { DocumentRanker } from './peer-bm25';
import { type Judgements, ndcgAt, recallAt, reciprocalRankAt } from './retrieval-metrics';

export interface BeirCollection {
  corpus: Array<{ id: string; title: string; text: string }>;
  queries: Array<{ id: string; text: string }>;
  qrels: Map<string, Judgements>;
  /** Per query, documents left out of its ranking (the source document of a query-by-document query). */
  exclude?: Map<string, Set<string>>;
}

async function readJsonl<T>(path: string): Promise<T[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as T);
}

/**
 * Reads a test collection in BEIR's layout: `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl`
 * (`_id`, `text`) and a qrels TSV (`query-id`, `corpus-id`, `score`, with a header line).
 */
export async function readBeir(paths: { corpus: string; queries: string; qrels: string }): Promise<BeirCollection> {
  const corpusFile = paths.corpus.endsWith('.jsonl') ? paths.corpus : join(paths.corpus, 'corpus.jsonl');
  const corpus = (await readJsonl<{ _id: string | number; title?: string; text: string }>(corpusFile)).map((d) => ({
    id: String(d._id),
    title: d.title ?? '',
    text: d.text,
  }));
  const queries = (await readJsonl<{ _id: string | number; text: string }>(paths.queries)).map((q) => ({
    id: String(q._id),
    text: q.text,
  }));
  const qrels = new Map<string, Judgements>();
  const lines = (await readFile(paths.qrels, 'utf8')).split('\n').filter((l) => l.trim());
  for (const line of lines.slice(/query/i.test(lines[0] ?? '') ? 1 : 0)) {
    const [query, doc, score] = line.split('\t');
    if (!query || !doc) continue;
    const judgements = qrels.get(query) ?? new Map<string, number>();
    judgements.set(doc, Number(score ?? 1));
    qrels.set(query, judgements);
  }
  return { corpus, queries: queries.filter((q) => qrels.has(q.id)), qrels };
}

export interface RetrievalScores {
  /** What ranked: Axon's search mode (with `+rerank` when the second stage ran), or the peer BM25. */
  mode: 'text' | 'vector' | 'hybrid' | 'text+rerank' | 'hybrid+rerank' | 'peer-bm25';
  queries: number;
  recall: number;
  mrr10: number;
  ndcg10: number;
  p50Ms: number;
}

/** The text indexed for a corpus entry: its title (unless the text starts with it), then its text. */
export function evaluationDocumentText(entry: { title: string; text: string }): string {
  return entry.title && !entry.text.startsWith(entry.title) ? `${entry.title}\n\n${entry.text}` : entry.text;
}

/** Indexes the corpus into a fresh collection of `store` (one document per corpus entry). */
export async function indexBeirCorpus(
  store: Store,
  ownerId: string,
  corpus: BeirCollection['corpus'],
  embedder: Embedder | undefined,
  chunkTokens: number,
): Promise<string> {
  const collection = await store.collections.create({ ownerId, name: `eval-${Date.now()}` });
  for (const entry of corpus) {
    const text = evaluationDocumentText(entry);
    const { document } = await store.documents.create({
      collectionId: collection.id,
      name: entry.id,
      mime: 'text/plain',
      size: text.length,
      sha256: `eval-${entry.id}`,
      createdBy: ownerId,
    });
    const chunks = chunkDocument(parsePlainText(text), { maxTokens: chunkTokens, overlapTokens: 0 });
    await store.searchIndex.replaceChunks({ id: document.id, collectionId: collection.id }, chunks);
    if (embedder) await store.searchIndex.upsertVectors(document.id, await embedder.embed(chunks.map((c) => c.text)));
    await store.documents.setStatus(document.id, 'ready', { chunkCount: chunks.length });
  }
  return collection.id;
}

/** A second stage over first-stage hits (a reranker): the same hits, reordered. */
export type RerankStage = (query: string, hits: ScoredChunk[]) => Promise<ScoredChunk[]>;

/** Averages the metrics of one ranking function over every query. */
async function scoreRanking(
  beir: BeirCollection,
  mode: RetrievalScores['mode'],
  k: number,
  rank: (query: string) => Promise<string[]> | string[],
): Promise<RetrievalScores> {
  let recall = 0;
  let mrr = 0;
  let ndcg = 0;
  const times: number[] = [];
  for (const query of beir.queries) {
    const started = performance.now();
    const excluded = beir.exclude?.get(query.id);
    const ranked = (await rank(query.text)).filter((id) => !excluded?.has(id));
    times.push(performance.now() - started);
    const judgements = beir.qrels.get(query.id) ?? new Map();
    recall += recallAt(ranked, judgements, k);
    mrr += reciprocalRankAt(ranked, judgements, 10);
    ndcg += ndcgAt(ranked, judgements, 10);
  }
  const n = beir.queries.length || 1;
  times.sort((a, b) => a - b);
  return {
    mode,
    queries: beir.queries.length,
    recall: recall / n,
    mrr10: mrr / n,
    ndcg10: ndcg / n,
    p50Ms: times[Math.floor(times.length / 2)] ?? 0,
  };
}

/**
 * Runs every query in each of Axon's modes (full text; vector and hybrid with an embedder; each
 * again through `rerank` when given) and, with `peer`, through the peer BM25 over the same corpus,
 * and averages the metrics. A document ranks by its best chunk.
 */
export async function evaluateRetrieval(
  store: Store,
  beir: BeirCollection,
  options: {
    userId: string;
    collectionId: string;
    embedder: Embedder | undefined;
    k: number;
    rerank?: RerankStage | undefined;
    peer?: DocumentRanker | undefined;
  },
): Promise<RetrievalScores[]> {
  const modes: Array<'text' | 'vector' | 'hybrid'> = options.embedder ? ['text', 'vector', 'hybrid'] : ['text'];
  const depth = Math.max(options.k, 10) * 3;
  const results: RetrievalScores[] = [];
  const search = (query: string, mode: 'text' | 'vector' | 'hybrid') =>
    searchHybrid(store, options.embedder, query, { userId: options.userId, collectionIds: [options.collectionId], k: depth, mode });
  const documents = (hits: ScoredChunk[]) => [...new Set(hits.map((h) => h.documentName))];
  for (const mode of modes) results.push(await scoreRanking(beir, mode, options.k, async (q) => documents(await search(q, mode))));
  if (options.rerank) {
    const rerank = options.rerank;
    for (const mode of options.embedder ? (['text', 'hybrid'] as const) : (['text'] as const)) {
      results.push(await scoreRanking(beir, `${mode}+rerank`, options.k, async (q) => documents(await rerank(q, await search(q, mode)))));
    }
  }
  if (options.peer) {
    const peer = options.peer;
    results.push(await scoreRanking(beir, 'peer-bm25', options.k, (q) => peer(q, depth)));
  }
  return results;
}
