import { createRequire } from 'node:module';
import { type BeirCollection, evaluationDocumentText } from './evaluate-retrieval';

interface WinkBm25 {
  defineConfig(config: { fldWeights: Record<string, number> }): void;
  definePrepTasks(tasks: Array<(input: unknown) => unknown>): void;
  addDoc(doc: Record<string, string>, id: string): void;
  consolidate(): void;
  search(text: string, limit: number): Array<[string, number]>;
}

interface WinkNlpUtils {
  string: { lowerCase: (s: unknown) => unknown; tokenize0: (s: unknown) => unknown };
  tokens: { removeWords: (t: unknown) => unknown; stem: (t: unknown) => unknown };
}

/** A ranking function over a corpus: the ids of the best documents for a query, best first. */
export type DocumentRanker = (query: string, limit: number) => string[];

/**
 * The peer full-text baseline the retrieval evaluation reports beside Axon: wink-bm25-text-search
 * with its documented preparation (lower-cased, tokenized, stop-words out, Porter2 stems) and its
 * default BM25 parameters (k1 1.2, b 0.75), over the same text Axon indexes for each document.
 * It is a development dependency: the evaluation says how to install it when it is missing.
 */
export function createPeerBm25(corpus: BeirCollection['corpus']): DocumentRanker {
  const require = createRequire(import.meta.url);
  let bm25: () => WinkBm25;
  let nlp: WinkNlpUtils;
  try {
    bm25 = require('wink-bm25-text-search') as () => WinkBm25;
    nlp = require('wink-nlp-utils') as WinkNlpUtils;
  } catch {
    throw new Error(
      'The peer BM25 needs wink-bm25-text-search and wink-nlp-utils: run `npm install` in the repository (they are dev dependencies of @axon/server).',
    );
  }
  const engine = bm25();
  engine.defineConfig({ fldWeights: { text: 1 } });
  engine.definePrepTasks([nlp.string.lowerCase, nlp.string.tokenize0, nlp.tokens.removeWords, nlp.tokens.stem]);
  for (const entry of corpus) engine.addDoc({ text: evaluationDocumentText(entry) }, entry.id);
  engine.consolidate();
  return (query, limit) => engine.search(query, limit).map(([id]) => id);
}
