import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/postgres';
import { openPostgresRagUnderTest, openSqliteRagUnderTest } from '../../testing/rag-store-harness';
import { describeRagStoreContract, type RagStoreUnderTest } from '../rag-store-contract';
import { type MigrationResult, migratePostgres } from './migrate';
import { createPgPool } from './pg-pool';
import { createPostgresRagRepositories, detectVectorSupport } from './postgres-rag-store';

// PostgreSQL 15 of the test machine has no pgvector: the store migrates and searches full-text only.
let db: TestDatabase;
let pool: pg.Pool;
let migrated: MigrationResult;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPgPool({ url: db.url, max: 6 });
  migrated = await migratePostgres(pool);
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describeRagStoreContract(
  'postgres without pgvector',
  async () => openPostgresRagUnderTest(pool, { vectors: await detectVectorSupport(pool) }),
  {
    vectors: false,
  },
);

describe('postgres without pgvector', () => {
  it('migrates without the vector table, saying why, and reports no vector support', async () => {
    expect(migrated.skipped).toEqual([
      expect.objectContaining({ version: 101, name: 'vectors (pgvector)', reason: expect.stringMatching(/vector/) }),
    ]);
    expect(migrated.applied).toEqual(expect.arrayContaining([100, 102]));
    expect(await detectVectorSupport(pool)).toBe(false);
    // The next start tries again (it is not recorded as applied) and still migrates.
    const again = await migratePostgres(pool);
    expect(again.applied).toEqual([]);
    expect(again.skipped.map((m) => m.version)).toEqual([101]);
  });

  it('stores no vectors, finds nothing by vector, and fuses to the full-text ranking', async () => {
    const s = openPostgresRagUnderTest(pool, { vectors: false });
    const owner = await s.addUser();
    const collection = await s.collections.create({ ownerId: owner, name: 'no-vectors' });
    const { document } = await s.documents.create({
      collectionId: collection.id,
      name: 'd',
      mime: 'text/plain',
      size: 1,
      sha256: 'x',
      createdBy: owner,
    });
    await s.searchIndex.replaceChunks({ id: document.id, collectionId: collection.id }, [
      { ordinal: 0, text: 'granite quarry', startOffset: 0, endOffset: 14, tokenCount: 2 },
      { ordinal: 1, text: 'granite granite countertops', startOffset: 14, endOffset: 40, tokenCount: 3 },
    ]);
    await s.searchIndex.upsertVectors(document.id, [
      [1, 0],
      [0, 1],
    ]);
    const scope = { userId: owner, collectionIds: [collection.id], k: 5 };
    expect(await s.searchIndex.searchVector([1, 0], scope)).toEqual([]);
    const text = await s.searchIndex.searchText('granite', scope);
    const fused = await s.searchIndex.searchFused('granite', [1, 0], { ...scope, depth: 10 });
    expect(fused.map((h) => h.chunkId)).toEqual(text.map((h) => h.chunkId));
    expect(fused[0]?.score).toBeCloseTo(1 / 61, 9);
  });

  it('hands each job to one worker of several replicas claiming at once (FOR UPDATE SKIP LOCKED)', async () => {
    const replicas = [0, 1, 2].map(() => createPgPool({ url: db.url, max: 3 }));
    try {
      const setup = openPostgresRagUnderTest(pool, { vectors: false });
      const owner = await setup.addUser();
      const collection = await setup.collections.create({ ownerId: owner, name: `jobs-${randomUUID()}` });
      const lease = { workerId: 'setup', leaseMs: 60_000 };
      for (let job = await setup.ingestJobs.claimNext(lease); job; job = await setup.ingestJobs.claimNext(lease))
        await setup.ingestJobs.finish(job.id, 'done');
      for (let i = 0; i < 60; i++) {
        const { document } = await setup.documents.create({
          collectionId: collection.id,
          name: `d${i}`,
          mime: 'text/plain',
          size: 1,
          sha256: randomUUID(),
          createdBy: owner,
        });
        await setup.ingestJobs.enqueue(document.id);
      }
      const claimed: Array<{ replica: number; id: string }> = [];
      await Promise.all(
        replicas.flatMap((replicaPool, replica) => {
          const jobs = createPostgresRagRepositories(replicaPool, { vectors: false }).ingestJobs;
          return [0, 1, 2].map(async (worker) => {
            const lease = { workerId: `replica-${replica}-${worker}`, leaseMs: 60_000 };
            for (let job = await jobs.claimNext(lease); job; job = await jobs.claimNext(lease)) {
              claimed.push({ replica, id: job.id });
              await jobs.finish(job.id, 'done');
            }
          });
        }),
      );
      expect(claimed).toHaveLength(60);
      expect(new Set(claimed.map((c) => c.id)).size).toBe(60);
      expect(new Set(claimed.map((c) => c.replica)).size).toBeGreaterThan(1);
    } finally {
      await Promise.all(replicas.map((p) => p.end()));
    }
  });

  it('keeps the per-collection chunk counts exact through re-indexing and deletions', async () => {
    const s = openPostgresRagUnderTest(pool, { vectors: false });
    const owner = await s.addUser();
    const collection = await s.collections.create({ ownerId: owner, name: `stats-${randomUUID()}` });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { document } = await s.documents.create({
        collectionId: collection.id,
        name: `d${i}`,
        mime: 'text/plain',
        size: 1,
        sha256: `s${i}`,
        createdBy: owner,
      });
      ids.push(document.id);
      await s.searchIndex.replaceChunks(
        { id: document.id, collectionId: collection.id },
        Array.from({ length: 4 }, (_, j) => ({
          ordinal: j,
          text: `alpha beta gamma d${i} c${j}`,
          startOffset: 0,
          endOffset: 1,
          tokenCount: 5,
        })),
      );
    }
    const stats = async () =>
      (
        await pool.query(
          `SELECT s.chunks, s.terms, (SELECT count(*) FROM chunks WHERE collection_id = $1) AS real_chunks,
             (SELECT coalesce(sum(term_count), 0) FROM chunks WHERE collection_id = $1) AS real_terms,
             (SELECT count(*) FROM chunk_terms WHERE collection_id = $1) AS postings
           FROM collection_text_stats s WHERE s.collection_id = $1`,
          [collection.id],
        )
      ).rows[0];
    // Each term's document frequency as counted from the postings, beside the one kept for searches.
    const frequencies = async () =>
      (
        await pool.query(
          `SELECT coalesce(t.term, p.term) AS term, coalesce(t.chunks, 0) AS kept, coalesce(p.chunks, 0) AS real
           FROM (SELECT term, chunks FROM collection_term_stats WHERE collection_id = $1 AND chunks > 0) t
           FULL JOIN (SELECT term, count(*) AS chunks FROM chunk_terms WHERE collection_id = $1 GROUP BY term) p ON p.term = t.term
           ORDER BY 1`,
          [collection.id],
        )
      ).rows as Array<{ term: string; kept: number; real: number }>;
    expect(await stats()).toMatchObject({ chunks: 12, real_chunks: 12, terms: 60, real_terms: 60 });
    expect((await frequencies()).find((f) => f.term === 'alpha')).toEqual({ term: 'alpha', kept: 12, real: 12 });
    expect((await frequencies()).every((f) => f.kept === f.real)).toBe(true);
    await s.searchIndex.replaceChunks({ id: ids[0] as string, collectionId: collection.id }, [
      { ordinal: 0, text: 'delta', startOffset: 0, endOffset: 5, tokenCount: 1 },
    ]);
    await s.documents.delete(ids[1] as string);
    const after = await stats();
    expect(after).toMatchObject({ chunks: 5, real_chunks: 5, terms: 21, real_terms: 21 });
    expect(after.postings).toBe(1 + 4 * 5);
    const afterFrequencies = await frequencies();
    expect(afterFrequencies.filter((f) => f.kept !== f.real)).toEqual([]);
    expect(afterFrequencies.find((f) => f.term === 'alpha')).toEqual({ term: 'alpha', kept: 4, real: 4 });
    expect(afterFrequencies.find((f) => f.term === 'delta')).toEqual({ term: 'delta', kept: 1, real: 1 });
    await s.collections.delete(collection.id);
    expect(await stats()).toBeUndefined();
    expect((await pool.query('SELECT count(*) AS n FROM chunk_terms WHERE collection_id = $1', [collection.id])).rows[0]?.n).toBe(0);
    expect((await pool.query('SELECT count(*) AS n FROM collection_term_stats WHERE collection_id = $1', [collection.id])).rows[0]?.n).toBe(
      0,
    );
  });

  it('ranks full text as the SQLite store does: the same BM25, score for score', async () => {
    const sqlite = await openSqliteRagUnderTest();
    const pgStore = openPostgresRagUnderTest(pool, { vectors: false });
    try {
      const corpus = [
        'Boundary layer transition on a flat plate at supersonic speeds',
        'Heat transfer in the laminar boundary layer of a cone',
        'Shock wave interaction with a turbulent boundary layer; boundary layer separation',
        'Buckling of thin cylindrical shells under axial compression',
        'Flutter of panels in supersonic flow, with heat transfer effects',
        'Axial compression tests of stiffened cylinders and shells',
      ];
      const load = async (s: RagStoreUnderTest) => {
        const owner = await s.addUser();
        const collection = await s.collections.create({ ownerId: owner, name: 'parity' });
        for (const [i, text] of corpus.entries()) {
          const { document } = await s.documents.create({
            collectionId: collection.id,
            name: `doc${i}`,
            mime: 'text/plain',
            size: 1,
            sha256: `p${i}`,
            createdBy: owner,
          });
          await s.searchIndex.replaceChunks({ id: document.id, collectionId: collection.id }, [
            { ordinal: 0, text, startOffset: 0, endOffset: text.length, tokenCount: 10 },
          ]);
        }
        return { owner, collectionId: collection.id };
      };
      const a = await load(sqlite);
      const b = await load(pgStore);
      for (const query of ['boundary layer', 'supersonic heat transfer', 'compression of shells', 'boundary boundary separation']) {
        const left = await sqlite.searchIndex.searchText(query, { userId: a.owner, collectionIds: [a.collectionId], k: 10 });
        const right = await pgStore.searchIndex.searchText(query, { userId: b.owner, collectionIds: [b.collectionId], k: 10 });
        expect(right.map((h) => h.documentName)).toEqual(left.map((h) => h.documentName));
        for (const [i, hit] of right.entries()) expect(hit.score).toBeCloseTo(left[i]?.score as number, 9);
      }
    } finally {
      await sqlite.close();
    }
  });
});

describe('postgres full-text search pruning', () => {
  /** A seeded generator (mulberry32), so that a failure can be replayed. */
  const random = (seed: number) => {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  };

  it('finds what scoring every posting finds: the same chunks, order and scores, for every reader and filter', async () => {
    const next = random(7);
    // Made-up words the analyzer keeps as they are, used with skewed (Zipf) frequencies.
    const vocabulary = Array.from(
      { length: 400 },
      (_, i) => `zq${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}x`,
    );
    const zipf = vocabulary.map((_, i) => 1 / (i + 1));
    const total = zipf.reduce((a, b) => a + b, 0);
    const word = () => {
      let r = next() * total;
      for (const [i, weight] of zipf.entries()) {
        r -= weight;
        if (r <= 0) return vocabulary[i] as string;
      }
      return vocabulary[0] as string;
    };
    const s = openPostgresRagUnderTest(pool, { vectors: false });
    const [alice, bob, carol] = [await s.addUser(), await s.addUser(), await s.addUser()];
    const own = await s.collections.create({ ownerId: alice as string, name: `own-${randomUUID()}` });
    const shared = await s.collections.create({ ownerId: bob as string, name: `shared-${randomUUID()}`, visibility: 'organisation' });
    const member = await s.collections.create({ ownerId: bob as string, name: `member-${randomUUID()}` });
    const hidden = await s.collections.create({ ownerId: bob as string, name: `hidden-${randomUUID()}` });
    await s.collections.setMembers(member.id, [{ userId: alice as string, role: 'viewer' }]);
    const texts: string[] = [];
    for (const [c, collection] of [own, shared, member, hidden].entries()) {
      for (let d = 0; d < 6; d++) {
        const { document } = await s.documents.create({
          collectionId: collection.id,
          name: `d${d}`,
          mime: 'text/plain',
          size: 1,
          sha256: `${c}-${d}`,
          createdBy: collection.ownerId,
        });
        await s.documents.describe(document.id, {
          date: { value: `2024-0${(d % 3) + 1}-15`, source: 'manual' },
          metadata: { team: d % 2 ? 'red' : 'blue' },
        });
        const chunks = Array.from({ length: 25 }, (_, i) => {
          // Every seventh chunk repeats an earlier one: chunks of equal score, ordered by seq.
          const text =
            i % 7 === 6 && texts.length > 0
              ? (texts[Math.floor(next() * texts.length)] as string)
              : Array.from({ length: 4 + Math.floor(next() * 26) }, word).join(' ');
          texts.push(text);
          return { ordinal: i, text, startOffset: 0, endOffset: text.length, tokenCount: 10 };
        });
        await s.searchIndex.replaceChunks({ id: document.id, collectionId: collection.id }, chunks);
      }
    }
    const { rows } = await pool.query('SELECT seq FROM chunks WHERE collection_id = $1', [hidden.id]);
    const unreadable = new Set(rows.map((r) => Number(r.seq)));

    const statements: string[] = [];
    const spy = {
      query: (text: string, values: unknown[]) => {
        statements.push(text);
        return pool.query(text, values);
      },
    } as unknown as pg.Pool;
    const search = createPostgresRagRepositories(spy, { vectors: false });
    const pick = (from: number, to: number) => vocabulary[from + Math.floor(next() * (to - from))] as string;
    const queries = Array.from({ length: 40 }, (_, i) => {
      const common = Array.from({ length: 1 + (i % 3) }, () => pick(0, 6));
      const rare = Array.from({ length: i % 4 }, () => pick(100, 400));
      const repeated = i % 5 === 0 ? [common[0] as string] : [];
      return [...common, ...rare, ...repeated, ...(i % 9 === 0 ? ['unknownword'] : [])].join(' ');
    });
    const all = [own.id, shared.id, member.id, hidden.id];
    const scopes = [
      { userId: alice as string, collectionIds: all, k: 10 },
      { userId: alice as string, collectionIds: all, k: 3, filter: { dateFrom: '2024-02-01' } },
      { userId: carol as string, collectionIds: all, k: 5 },
      { userId: bob as string, collectionIds: [shared.id, hidden.id], k: 1, filter: { metadata: { team: 'red' } } },
      { userId: alice as string, collectionIds: [own.id], k: 20, filter: { dateTo: '2024-02-28', metadata: { team: ['Blue', 'red'] } } },
    ];
    let pruned = 0;
    let compared = 0;
    for (const scope of scopes) {
      for (const query of queries) {
        statements.length = 0;
        const hits = await search.textHits(query, scope);
        // The pruned search's last statement completes candidates found through the essential terms.
        if (statements.some((t) => t.includes('candidates') && !t.includes('chunk_seq LIMIT'))) pruned++;
        const expected = await search.exhaustiveTextHits(query, scope);
        expect(
          hits.map((h) => h.seq),
          query,
        ).toEqual(expected.map((h) => h.seq));
        for (const [i, hit] of hits.entries()) expect(Math.abs(hit.score - (expected[i] as { score: number }).score)).toBeLessThan(1e-9);
        expect(hits.filter((h) => unreadable.has(h.seq) && scope.userId !== bob)).toEqual([]);
        if (hits.length > 0) compared++;
      }
    }
    // Most searches find something, and many of them take the pruned way.
    expect(compared).toBeGreaterThan(150);
    expect(pruned).toBeGreaterThan(15);
    // Ties are broken by seq alike: some searches return chunks of equal score.
    const tied = await search.exhaustiveTextHits(`${vocabulary[0]} ${vocabulary[1]}`, scopes[0] as (typeof scopes)[number]);
    expect(tied.some((h, i) => i > 0 && h.score === tied[i - 1]?.score)).toBe(true);
  });
});
