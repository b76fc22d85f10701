import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgliteServer, startPgliteServer } from '../../testing/pglite-server';
import { openPostgresRagUnderTest } from '../../testing/rag-store-harness';
import { describeRagStoreContract } from '../rag-store-contract';
import { type MigrationResult, migratePostgres } from './migrate';
import { createPgPool } from './pg-pool';
import { detectVectorSupport } from './postgres-rag-store';

// pgvector is not packaged for the test machine's PostgreSQL: PGlite (PostgreSQL in WebAssembly)
// with its pgvector build stands in, reached over the wire protocol by the production driver.
let server: PgliteServer;
let pool: pg.Pool;
let migrated: MigrationResult;

beforeAll(async () => {
  server = await startPgliteServer();
  pool = createPgPool({ url: server.url, max: 1 });
  migrated = await migratePostgres(pool);
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await server?.stop();
});

describeRagStoreContract('postgres with pgvector (PGlite)', async () =>
  openPostgresRagUnderTest(pool, { vectors: await detectVectorSupport(pool) }),
);

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const unit = (next: () => number, d: number) => {
  const v = Array.from({ length: d }, () => next() * 2 - 1);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);

describe('vector search on pgvector', () => {
  it('migrates the vector table and reports vector support', async () => {
    expect(migrated.skipped).toEqual([]);
    expect(migrated.applied).toContain(101);
    expect(await detectVectorSupport(pool)).toBe(true);
    expect(server.vectorVersion.split('.').map(Number)[1]).toBeGreaterThanOrEqual(8);
  });

  /**
   * 2,000 random 32-d vectors in 20 documents; a tenth of the documents (by metadata) and a
   * readable collection of a quarter of the chunks beside one the user may not read.
   */
  const corpus = async (options: Parameters<typeof openPostgresRagUnderTest>[1]) => {
    const s = openPostgresRagUnderTest(pool, options);
    const owner = await s.addUser();
    const stranger = await s.addUser();
    const next = random(42);
    const collections = [
      await s.collections.create({ ownerId: owner, name: `mine-${randomUUID()}` }),
      await s.collections.create({ ownerId: stranger, name: `theirs-${randomUUID()}` }),
    ];
    const stored: Array<{ collectionId: string; document: string; ordinal: number; vector: number[]; kept: boolean }> = [];
    for (let d = 0; d < 20; d++) {
      const collection = collections[d % 4 === 0 ? 0 : 1] as { id: string };
      const { document } = await s.documents.create({
        collectionId: collection.id,
        name: `doc-${d}`,
        mime: 'text/plain',
        size: 1,
        sha256: randomUUID(),
        createdBy: owner,
      });
      const kept = d % 10 === 3 || d % 10 === 8;
      if (kept) await s.documents.describe(document.id, { metadata: { kind: 'kept' } });
      const chunks = Array.from({ length: 100 }, (_, i) => ({
        ordinal: i,
        text: `chunk ${i}`,
        startOffset: 0,
        endOffset: 1,
        tokenCount: 2,
      }));
      await s.searchIndex.replaceChunks({ id: document.id, collectionId: collection.id }, chunks);
      const vectors = chunks.map(() => unit(next, 32));
      await s.searchIndex.upsertVectors(document.id, vectors);
      for (const [ordinal, vector] of vectors.entries())
        stored.push({ collectionId: collection.id, document: `doc-${d}`, ordinal, vector, kept });
    }
    return { s, owner, mine: (collections[0] as { id: string }).id, theirs: (collections[1] as { id: string }).id, stored, next };
  };

  it('uses the HNSW index, keeps the permission rule and the filter in the scan, and keeps recall', { timeout: 120_000 }, async () => {
    const { s, owner, mine, theirs, stored, next } = await corpus({ vectors: true });
    const indexes = await pool.query("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = 'chunk_vectors_hnsw_vector_32'");
    expect(indexes.rows[0]?.indexdef).toMatch(/USING hnsw .*vector_cosine_ops.*WHERE \(dimensions = 32\)/);

    // At this size the planner rightly prefers an exact scan of the readable rows; at scale it takes
    // the index. Steer this session (the pool's one connection) to the index to test that path.
    await pool.query('ANALYZE chunk_vectors');
    await pool.query('SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off');
    const plan = await pool.query(
      `EXPLAIN SELECT chunk_seq FROM chunk_vectors v WHERE v.dimensions = 32 AND v.collection_id = ANY($2::text[])
       ORDER BY v.embedding::vector(32) <=> $1::vector(32) LIMIT 10`,
      [`[${unit(next, 32).join(',')}]`, [mine]],
    );
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('chunk_vectors_hnsw_vector_32');

    const exact = (query: number[], pass: (x: (typeof stored)[number]) => boolean) =>
      stored
        .filter(pass)
        .map((x) => ({ key: `${x.document}#${x.ordinal}`, score: dot(x.vector, query) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 10)
        .map((x) => x.key);
    let recallReadable = 0;
    let recallFiltered = 0;
    const queries = 20;
    for (let i = 0; i < queries; i++) {
      const query = unit(next, 32);
      const hits = await s.searchIndex.searchVector(query, { userId: owner, collectionIds: [mine, theirs], k: 10 });
      expect(hits).toHaveLength(10);
      expect(hits.every((h) => h.collectionId === mine)).toBe(true);
      const keys = await Promise.all(
        hits.map(
          async (h) => `${h.documentName}#${(await pool.query('SELECT ordinal FROM chunks WHERE id = $1', [h.chunkId])).rows[0]?.ordinal}`,
        ),
      );
      const want = exact(query, (x) => x.collectionId === mine);
      recallReadable += want.filter((k) => keys.includes(k)).length / 10;
      // Only 2 of the 5 readable documents are kept: 40% of the readable chunks, 10% of all.
      const filtered = await s.searchIndex.searchVector(query, {
        userId: owner,
        collectionIds: [mine, theirs],
        k: 10,
        filter: { metadata: { kind: 'kept' } },
      });
      expect(filtered).toHaveLength(10);
      const filteredKeys = await Promise.all(
        filtered.map(
          async (h) => `${h.documentName}#${(await pool.query('SELECT ordinal FROM chunks WHERE id = $1', [h.chunkId])).rows[0]?.ordinal}`,
        ),
      );
      const wantFiltered = exact(query, (x) => x.collectionId === mine && x.kept);
      recallFiltered += wantFiltered.filter((k) => filteredKeys.includes(k)).length / 10;
      expect(filtered.map((h) => h.score)).toEqual([...filtered.map((h) => h.score)].sort((a, b) => b - a));
    }
    await pool.query('RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_sort');
    expect(recallReadable / queries).toBeGreaterThanOrEqual(0.95);
    expect(recallFiltered / queries).toBeGreaterThanOrEqual(0.95);
  });

  it('falls back to exact search when a filter leaves fewer passages than the scan reaches', { timeout: 60_000 }, async () => {
    const s = openPostgresRagUnderTest(pool, { vectors: true });
    const owner = await s.addUser();
    const collection = await s.collections.create({ ownerId: owner, name: `few-${randomUUID()}` });
    const next = random(7);
    let needle = '';
    for (let d = 0; d < 5; d++) {
      const { document } = await s.documents.create({
        collectionId: collection.id,
        name: `doc-${d}`,
        mime: 'text/plain',
        size: 1,
        sha256: randomUUID(),
        createdBy: owner,
      });
      if (d === 2) {
        needle = document.id;
        await s.documents.describe(document.id, { date: { value: '1999-12-31', source: 'manual' } });
      }
      const chunks = Array.from({ length: d === 2 ? 3 : 200 }, (_, i) => ({
        ordinal: i,
        text: `c ${i}`,
        startOffset: 0,
        endOffset: 1,
        tokenCount: 1,
      }));
      await s.searchIndex.replaceChunks({ id: document.id, collectionId: collection.id }, chunks);
      await s.searchIndex.upsertVectors(
        document.id,
        chunks.map(() => unit(next, 32)),
      );
    }
    const hits = await s.searchIndex.searchVector(unit(next, 32), {
      userId: owner,
      collectionIds: [collection.id],
      k: 10,
      filter: { dateTo: '2000-01-01' },
    });
    expect(hits).toHaveLength(3);
    expect(new Set(hits.map((h) => h.documentId))).toEqual(new Set([needle]));
  });

  it('indexes at half precision when asked, and vectors over 2,000 dimensions always', async () => {
    const s = openPostgresRagUnderTest(pool, { vectors: true, vectorIndex: 'halfvec' });
    const owner = await s.addUser();
    const collection = await s.collections.create({ ownerId: owner, name: `half-${randomUUID()}` });
    const next = random(3);
    const { document } = await s.documents.create({
      collectionId: collection.id,
      name: 'half',
      mime: 'text/plain',
      size: 1,
      sha256: randomUUID(),
      createdBy: owner,
    });
    const chunks = Array.from({ length: 50 }, (_, i) => ({ ordinal: i, text: `h ${i}`, startOffset: 0, endOffset: 1, tokenCount: 1 }));
    await s.searchIndex.replaceChunks({ id: document.id, collectionId: collection.id }, chunks);
    const vectors = chunks.map(() => unit(next, 24));
    await s.searchIndex.upsertVectors(document.id, vectors);
    const hits = await s.searchIndex.searchVector(vectors[17] as number[], { userId: owner, collectionIds: [collection.id], k: 3 });
    expect(hits[0]?.text).toBe('h 17');
    // The score is the exact similarity of the stored float vectors, not of their half-precision copies.
    expect(hits[0]?.score).toBeCloseTo(1, 6);

    const wide = openPostgresRagUnderTest(pool, { vectors: true });
    await wide.ensureVectorIndex(3072);
    const names = (
      await pool.query("SELECT indexname FROM pg_indexes WHERE tablename = 'chunk_vectors' AND indexdef LIKE '%hnsw%'")
    ).rows.map((r) => r.indexname);
    expect(names).toEqual(expect.arrayContaining(['chunk_vectors_hnsw_halfvec_24', 'chunk_vectors_hnsw_halfvec_3072']));
  });
});
