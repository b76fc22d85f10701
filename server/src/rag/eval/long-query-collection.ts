import type { BeirCollection } from './evaluate-retrieval';
import type { Judgements } from './retrieval-metrics';

/**
 * A long-query test collection made from a short-query one ("query by document"): for each query
 * with at least two relevant documents, its most relevant document (title and abstract, a
 * paragraph or more) becomes the query, and the query's other relevant documents are what it
 * should find. The source document is left out of that query's ranking, so finding itself does
 * not count. Nothing is tuned on it: the judgements are the original collection's.
 */
export function queryByDocument(beir: BeirCollection, options: { minWords?: number } = {}): BeirCollection {
  const byId = new Map(beir.corpus.map((d) => [d.id, d]));
  const minWords = options.minWords ?? 30;
  const queries: BeirCollection['queries'] = [];
  const qrels = new Map<string, Judgements>();
  const exclude = new Map<string, Set<string>>();
  for (const query of beir.queries) {
    const judgements = beir.qrels.get(query.id);
    if (!judgements) continue;
    const relevant = [...judgements]
      .filter(([, grade]) => grade >= 1)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0], 'en', { numeric: true }));
    if (relevant.length < 2) continue;
    const source = relevant.map(([id]) => byId.get(id)).find((d) => d && `${d.title} ${d.text}`.split(/\s+/).length >= minWords);
    if (!source) continue;
    const rest = new Map(relevant.filter(([id]) => id !== source.id));
    const id = `${query.id}-by-${source.id}`;
    queries.push({ id, text: source.title && !source.text.startsWith(source.title) ? `${source.title}. ${source.text}` : source.text });
    qrels.set(id, rest);
    exclude.set(id, new Set([source.id]));
  }
  return { corpus: beir.corpus, queries, qrels, exclude };
}
