import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../../store';
import type { Embedder } from '../embed/embedder';
import { type Reranker, rerankHits } from '../search/rerank';
import { type BeirCollection, evaluateRetrieval, indexBeirCorpus, type RetrievalScores, readBeir } from './evaluate-retrieval';
import { queryByDocument } from './long-query-collection';
import { createPeerBm25 } from './peer-bm25';

/** The test collections of the shared data folder that `axon eval retrieval --data` runs. */
export const SUITE_COLLECTIONS = [
  { name: 'Cranfield', folder: 'cranfield/beir' },
  { name: 'MEDLINE', folder: 'medline/beir' },
] as const;

export interface SuiteResult {
  collection: string;
  documents: number;
  queries: number;
  indexSeconds: number;
  scores: RetrievalScores[];
}

/** Reads a BEIR-layout folder (`corpus.jsonl`, `queries.jsonl`, `qrels/test.tsv`), saying what is missing. */
export async function readBeirFolder(dir: string): Promise<BeirCollection> {
  const paths = { corpus: join(dir, 'corpus.jsonl'), queries: join(dir, 'queries.jsonl'), qrels: join(dir, 'qrels', 'test.tsv') };
  for (const path of Object.values(paths))
    if (!existsSync(path))
      throw new Error(`${path} is missing: pass --data with the folder holding cranfield/ and medline/ (the shared data).`);
  return readBeir(paths);
}

/**
 * Evaluates each collection as given and, with `longQueries`, again with query-by-document long
 * queries over the same index; every run reports Axon's modes (and with the reranker, with it) beside
 * the peer BM25 over the same text.
 */
export async function evaluateRetrievalSuite(
  store: Store,
  ownerId: string,
  collections: Array<{ name: string; beir: BeirCollection }>,
  options: {
    embedder: Embedder | undefined;
    reranker: Reranker | undefined;
    chunkTokens: number;
    k: number;
    peer: boolean;
    longQueries: boolean;
    onResult?: (result: SuiteResult) => void;
  },
): Promise<SuiteResult[]> {
  const results: SuiteResult[] = [];
  for (const { name, beir } of collections) {
    const started = performance.now();
    const collectionId = await indexBeirCorpus(store, ownerId, beir.corpus, options.embedder, options.chunkTokens);
    const indexSeconds = (performance.now() - started) / 1000;
    const peer = options.peer ? createPeerBm25(beir.corpus) : undefined;
    const reranker = options.reranker;
    const sets: Array<[string, BeirCollection]> = [[name, beir]];
    if (options.longQueries) sets.push([`${name}, long queries (abstracts)`, queryByDocument(beir)]);
    for (const [label, set] of sets) {
      const scores = await evaluateRetrieval(store, set, {
        userId: ownerId,
        collectionId,
        embedder: options.embedder,
        k: options.k,
        peer,
        rerank: reranker ? (query, hits) => rerankHits(reranker, query, hits) : undefined,
      });
      const result = { collection: label, documents: beir.corpus.length, queries: set.queries.length, indexSeconds, scores };
      results.push(result);
      options.onResult?.(result);
    }
  }
  return results;
}
