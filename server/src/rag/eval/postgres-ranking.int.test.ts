import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOME_ORG_ID } from '../../store';
import { TEST_POSTGRES_URL } from '../../testing/postgres';
import { type EvaluationEngine, openEvaluationStore } from './evaluation-store';
import { evaluateRetrievalSuite, readBeirFolder, SUITE_COLLECTIONS } from './retrieval-suite';

const DATA = resolve(import.meta.dirname, '../../../../../shared/data');

/**
 * nDCG@10 of Axon's full-text ranking and of the peer BM25 on MEDLINE (short queries), indexed into
 * `engine`. MEDLINE only, to keep the test short: `axon eval retrieval --store postgres` runs the rest.
 */
async function scores(engine: EvaluationEngine): Promise<Map<string, { axon: number; peer: number }>> {
  const evaluation = await openEvaluationStore(engine, { databaseUrl: TEST_POSTGRES_URL });
  try {
    const owner = await evaluation.store.users.create({ email: 'eval@localhost', passwordHash: null, role: 'admin', orgId: HOME_ORG_ID });
    const collections = [];
    for (const c of SUITE_COLLECTIONS.filter((c) => c.name === 'MEDLINE'))
      collections.push({ name: c.name, beir: await readBeirFolder(join(DATA, c.folder)) });
    const results = await evaluateRetrievalSuite(evaluation.store, owner.id, collections, {
      embedder: undefined,
      reranker: undefined,
      chunkTokens: 400,
      k: 10,
      peer: true,
      longQueries: false,
    });
    return new Map(
      results.map((r) => [
        r.collection,
        {
          axon: r.scores.find((s) => s.mode === 'text')?.ndcg10 ?? Number.NaN,
          peer: r.scores.find((s) => s.mode === 'peer-bm25')?.ndcg10 ?? Number.NaN,
        },
      ]),
    );
  } finally {
    await evaluation.close();
  }
}

// The same collections indexed into PostgreSQL (a temporary database on the test server, full text
// in the database's own index) and into SQLite: the ranking is the same BM25 on both.
describe('retrieval quality on PostgreSQL', () => {
  it('ranks MEDLINE as the SQLite store does, and at least as well as the peer BM25', async () => {
    if (!existsSync(DATA))
      throw new Error(`The test collections are missing at ${DATA}: this test reads the shared data folder (../shared/data).`);
    const sqlite = await scores('sqlite');
    const postgres = await scores('postgres');
    expect([...postgres.keys()]).toEqual(['MEDLINE']);
    for (const [collection, pg] of postgres) {
      const lite = sqlite.get(collection);
      expect(pg.axon, collection).toBeGreaterThanOrEqual(pg.peer - 0.002);
      expect(Math.abs(pg.axon - (lite?.axon ?? Number.NaN)), collection).toBeLessThan(0.015);
    }
  }, 180_000);
});
