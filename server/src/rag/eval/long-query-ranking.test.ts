import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HOME_ORG_ID, openSqliteStore } from '../../store';
import { queryTermWeights } from '../search/memory-index';
import { evaluateRetrievalSuite, readBeirFolder, SUITE_COLLECTIONS } from './retrieval-suite';

const DATA = resolve(import.meta.dirname, '../../../../../shared/data');
const dir = mkdtempSync(join(tmpdir(), 'axon-long-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ranking of long queries', () => {
  it('weighs a term a query repeats more, with saturation', () => {
    const weights = queryTermWeights(['rate', 'rate', 'rate', 'fund']);
    expect(weights.get('fund')).toBe(1);
    expect(weights.get('rate')).toBeGreaterThan(2);
    expect(weights.get('rate')).toBeLessThan(3);
  });

  it('ranks Cranfield and MEDLINE, short and long queries, at least as well as the peer BM25', async () => {
    if (!existsSync(DATA))
      throw new Error(`The test collections are missing at ${DATA}: this test reads the shared data folder (../shared/data).`);
    const store = openSqliteStore({ path: join(dir, 'eval.db') });
    try {
      const owner = await store.users.create({ email: 'eval@localhost', passwordHash: null, role: 'admin', orgId: HOME_ORG_ID });
      const collections = [];
      for (const c of SUITE_COLLECTIONS) collections.push({ name: c.name, beir: await readBeirFolder(join(DATA, c.folder)) });
      const results = await evaluateRetrievalSuite(store, owner.id, collections, {
        embedder: undefined,
        reranker: undefined,
        chunkTokens: 400,
        k: 10,
        peer: true,
        longQueries: true,
      });
      expect(results.map((r) => r.collection)).toEqual([
        'Cranfield',
        'Cranfield, long queries (abstracts)',
        'MEDLINE',
        'MEDLINE, long queries (abstracts)',
      ]);
      for (const result of results) {
        const axon = result.scores.find((s) => s.mode === 'text');
        const peer = result.scores.find((s) => s.mode === 'peer-bm25');
        expect(result.queries).toBeGreaterThanOrEqual(30);
        // The reference figures of the data's README (peer nDCG@10 0.358 on Cranfield, 0.691 on MEDLINE) are reproduced.
        expect(peer?.ndcg10).toBeGreaterThan(result.collection.startsWith('Cranfield') ? 0.3 : 0.5);
        expect(axon?.ndcg10, result.collection).toBeGreaterThanOrEqual((peer?.ndcg10 as number) - 0.002);
      }
    } finally {
      await store.close();
    }
  }, 120_000);
});
