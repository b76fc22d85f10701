/**
 * Search at scale in PostgreSQL with pgvector beside the SQLite store, in the same run: the same
 * chunks (real sentences) and 384-dimension vectors in both, 100 queries per mode, p50/p99 latency of
 * full-text, vector and hybrid search, and recall@10 of the vector search against exact search.
 * PostgreSQL is PGlite (WebAssembly) with its pgvector build, reached over the wire protocol through
 * the production driver and store (`openPostgresStore`): a slower engine than a native server.
 *
 * `npm run bench -- --only=pgvector`, or `npx tsx pgvector/run.ts [--pgvector-sizes=10000,100000]
 * [--ef-search=40,100,200,400] [--spread=uniform,latent,clustered] [--hnsw=16x64,24x128]
 * [--modes=text,vector,hybrid] [--no-sqlite] [--pglite-dir=DIR | --postgres-url=URL]` from bench/.
 * `--pglite-dir` keeps each PGlite database in DIR and `--postgres-url` loads into a database of that
 * server (`axon_bench_SIZE_SPREAD`, kept; full-text only without pgvector): a later run with the same
 * size and spread reuses the loaded chunks and, unless `--hnsw` is given, the HNSW index.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { searchHybrid } from '../../server/src/rag/search/hybrid-search';
import { HOME_ORG_ID, openPostgresStore, openSqliteStore, type Store } from '../../server/src/store';
import { createPostgresRagRepositories } from '../../server/src/store/postgres/postgres-rag-store';
import { startPgliteServer } from '../../server/src/testing/pglite-server';
import { loadSentences } from '../rag/run';
import { percentile } from '../src/load';
import { printTable } from '../src/processes';

const DIMENSIONS = 384;
const PER_DOCUMENT = 100;
const QUERIES = 100;

/** A deterministic pseudo-random generator (mulberry32), so runs are comparable. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const normalised = (v: number[]) => {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
};
const gaussian = (next: () => number) => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());

/**
 * How the vectors are spread. `uniform`: independent random directions, as in the RAG benchmark (the
 * worst case for a graph index: every point is almost equally far from every other). `latent`: points
 * of a 32-dimension subspace plus noise, as text embeddings are (their neighbourhoods have few
 * effective dimensions). `clustered`: points scattered around 1,000 centres (within a centre, as hard
 * as `uniform`).
 */
type Spread = 'uniform' | 'latent' | 'clustered';

function vectorSource(spread: Spread, seed: number) {
  const next = random(seed);
  const randomDirection = () => normalised(Array.from({ length: DIMENSIONS }, () => gaussian(next)));
  if (spread === 'uniform') return () => normalised(Array.from({ length: DIMENSIONS }, () => next() * 2 - 1));
  if (spread === 'latent') {
    const basis = Array.from({ length: 32 }, randomDirection);
    return () => {
      const v = Array.from({ length: DIMENSIONS }, () => 0.05 * gaussian(next));
      for (const direction of basis) {
        const z = gaussian(next);
        for (let j = 0; j < DIMENSIONS; j++) v[j] = (v[j] as number) + z * (direction[j] as number);
      }
      return normalised(v);
    };
  }
  const centres = Array.from({ length: 1000 }, randomDirection);
  return () => normalised((centres[Math.floor(next() * centres.length)] as number[]).map((x) => x + 0.05 * gaussian(next)));
}

/** Indexes of the 10 stored vectors most similar to the query (all unit length: dot product). */
function exactTop10(vectors: Float32Array[], query: number[]): number[] {
  const q = Float32Array.from(query);
  const scores = new Float64Array(vectors.length);
  for (let i = 0; i < vectors.length; i++) {
    const v = vectors[i] as Float32Array;
    let dot = 0;
    for (let j = 0; j < DIMENSIONS; j++) dot += (v[j] as number) * (q[j] as number);
    scores[i] = dot;
  }
  return [...scores.keys()].sort((a, b) => (scores[b] as number) - (scores[a] as number)).slice(0, 10);
}

/** The same documents, chunks and vectors for every store, from one seed. */
function corpus(sentences: string[], chunkCount: number, spread: Spread) {
  const next = random(chunkCount);
  const vector = vectorSource(spread, chunkCount + 1);
  return Array.from({ length: chunkCount / PER_DOCUMENT }, (_, d) => {
    const chunks = Array.from({ length: PER_DOCUMENT }, (_, i) => {
      const text = `${sentences[Math.floor(next() * sentences.length)]} ${sentences[Math.floor(next() * sentences.length)]}`;
      return { ordinal: i, text, startOffset: 0, endOffset: text.length, tokenCount: 60 };
    });
    return { name: `doc-${d}`, chunks, vectors: chunks.map(() => vector()) };
  });
}

type Corpus = ReturnType<typeof corpus>;

/** Loads the corpus; returns the owner, the collection and each chunk's index in the corpus by chunk id. */
async function load(store: Store, documents: Corpus) {
  const owner = await store.users.create({ email: `bench-${Date.now()}@localhost`, passwordHash: null, role: 'admin', orgId: HOME_ORG_ID });
  const collection = await store.collections.create({ ownerId: owner.id, name: 'bench' });
  const indexOf = new Map<string, number>();
  for (const [d, doc] of documents.entries()) {
    const { document } = await store.documents.create({
      collectionId: collection.id,
      name: doc.name,
      mime: 'text/plain',
      size: 0,
      sha256: doc.name,
      createdBy: owner.id,
    });
    await store.searchIndex.replaceChunks({ id: document.id, collectionId: collection.id }, doc.chunks);
    await store.searchIndex.upsertVectors(document.id, doc.vectors);
    for (const [i, c] of (await store.documents.listChunks(document.id)).entries()) indexOf.set(c.chunkId, d * PER_DOCUMENT + i);
  }
  return { owner: owner.id, collectionId: collection.id, indexOf };
}

/** What an earlier run loaded into the database, found again: the owner, the collection, each chunk's index. */
async function loaded(store: Store & { pool: pg.Pool }, documents: Corpus) {
  const { rows } = await store.pool.query<{ id: string; owner_id: string }>("SELECT id, owner_id FROM collections WHERE name = 'bench'");
  const collection = rows[0];
  if (rows.length !== 1 || !collection) return undefined;
  const chunks = await store.pool.query<{ id: string; name: string; ordinal: number }>(
    'SELECT ch.id, d.name, ch.ordinal FROM chunks ch JOIN documents d ON d.id = ch.document_id WHERE ch.collection_id = $1',
    [collection.id],
  );
  if (chunks.rows.length !== documents.length * PER_DOCUMENT) return undefined;
  const indexOf = new Map(chunks.rows.map((c) => [c.id, Number(c.name.slice('doc-'.length)) * PER_DOCUMENT + c.ordinal]));
  return { owner: collection.owner_id, collectionId: collection.id, indexOf };
}

/** p50/p99 per mode and the vector search's recall@10 against exact search, over seeded queries. */
async function measure(
  label: string,
  spread: Spread,
  searchIndex: Store['searchIndex'],
  loaded: Awaited<ReturnType<typeof load>>,
  vectors: Float32Array[],
  words: string[],
  modes: Array<'text' | 'vector' | 'hybrid'>,
) {
  let queryVector: number[] = [];
  const embedder = { model: 'bench/random', embed: async (texts: string[]) => texts.map(() => queryVector) };
  const store = { searchIndex } as Store;
  const rows: Array<Record<string, string | number>> = [];
  for (const mode of modes) {
    const times: number[] = [];
    let recall = 0;
    const q = random(99);
    const queryVectors = vectorSource(spread, 99);
    // Two untimed queries first: connections opened, caches warm.
    for (let i = -2; i < QUERIES; i++) {
      queryVector = queryVectors();
      const text = Array.from({ length: 4 }, () => words[Math.floor(q() * words.length)]).join(' ');
      const started = performance.now();
      const hits = await searchHybrid(store, embedder, text, { userId: loaded.owner, collectionIds: [loaded.collectionId], k: 10, mode });
      if (i < 0) continue;
      times.push(performance.now() - started);
      if (mode === 'vector') {
        const found = new Set(hits.map((h) => loaded.indexOf.get(h.chunkId)));
        recall += exactTop10(vectors, queryVector).filter((e) => found.has(e)).length / 10;
      }
    }
    rows.push({
      store: label,
      vectors: spread,
      chunks: vectors.length,
      search: mode,
      'p50 ms': percentile(times, 50),
      'p95 ms': percentile(times, 95),
      'p99 ms': percentile(times, 99),
      'vector recall@10 vs exact': mode === 'vector' ? (recall / QUERIES).toFixed(3) : '',
    });
  }
  return rows;
}

/** HNSW build parameters: `m` (links per node) and `ef_construction` (candidates while building). */
interface HnswBuild {
  m: number;
  efConstruction: number;
}

/**
 * The PostgreSQL a size and spread are measured on: a new PGlite in memory, a PGlite kept in a folder,
 * or a database of a PostgreSQL server (made when missing, kept afterwards).
 */
async function openBenchPostgres(where: { pgliteDir?: string; postgresUrl?: string }, name: string) {
  if (where.postgresUrl) {
    const admin = new pg.Client({ connectionString: where.postgresUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rows.length === 0) await admin.query(`CREATE DATABASE ${name}`);
      const { rows: versions } = await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v");
      const url = new URL(where.postgresUrl);
      url.pathname = `/${name}`;
      return { url: url.toString(), label: `PostgreSQL ${versions[0]?.v?.split(' ')[0]}`, poolSize: 4, stop: async () => {} };
    } finally {
      await admin.end();
    }
  }
  const dataDir = where.pgliteDir && join(where.pgliteDir, name);
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const server = await startPgliteServer(dataDir ? { dataDir } : {});
  return { url: server.url, label: `PGlite ${server.postgresVersion}, pgvector ${server.vectorVersion}`, poolSize: 1, stop: server.stop };
}

export async function runPgvectorBenchmark(
  options: {
    sizes?: number[];
    efSearch?: number[];
    spreads?: Spread[];
    builds?: HnswBuild[];
    /** Which searches to time (all three by default). */
    modes?: Array<'text' | 'vector' | 'hybrid'>;
    /** Whether to measure the SQLite store too (yes by default). */
    sqlite?: boolean;
    /** A folder keeping each PGlite database, reused by later runs. */
    pgliteDir?: string;
    /** A PostgreSQL server to load into instead of PGlite (its databases kept and reused). */
    postgresUrl?: string;
  } = {},
): Promise<void> {
  const builds = options.builds ?? [undefined];
  const modes = options.modes ?? ['text', 'vector', 'hybrid'];
  const sizes = options.sizes ?? [10_000, 100_000];
  const efSearch = options.efSearch ?? [40, 100, 200, 400];
  const spreads = options.spreads ?? ['uniform', 'latent'];
  const sentences = loadSentences();
  const words =
    sentences
      .join(' ')
      .toLowerCase()
      .match(/[a-z]{5,}/g) ?? [];
  const rows: Array<Record<string, string | number>> = [];
  const loads: Array<Record<string, string | number>> = [];
  for (const size of sizes) {
    for (const spread of spreads) {
      const documents = corpus(sentences, size, spread);
      const vectors = documents.flatMap((d) => d.vectors.map((v) => Float32Array.from(v)));

      if (options.sqlite !== false) {
        const dir = mkdtempSync(join(tmpdir(), 'axon-bench-pgvector-'));
        const sqlite = openSqliteStore({ path: join(dir, 'axon.db') });
        let started = performance.now();
        const sqliteLoaded = await load(sqlite, documents);
        const sqliteLoad = (performance.now() - started) / 1000;
        started = performance.now();
        await sqlite.searchIndex.warm();
        loads.push({
          store: 'sqlite',
          vectors: spread,
          chunks: size,
          'load s': sqliteLoad,
          'index s': (performance.now() - started) / 1000,
          'HNSW in plan': '',
        });
        rows.push(...(await measure('sqlite (in-memory indexes)', spread, sqlite.searchIndex, sqliteLoaded, vectors, words, modes)));
        await sqlite.close();
        rmSync(dir, { recursive: true, force: true });
        console.error(`${size} ${spread}: sqlite done; loading PostgreSQL`);
      }

      const server = await openBenchPostgres(options, `axon_bench_${size}_${spread}`);
      // PGlite is one session: one connection; the HNSW index is built once after loading.
      const postgres = await openPostgresStore({ url: server.url, poolSize: server.poolSize, search: { deferVectorIndex: true } });
      try {
        let started = performance.now();
        const reused = options.pgliteDir || options.postgresUrl ? await loaded(postgres, documents) : undefined;
        if (!reused) await postgres.pool.query("DELETE FROM collections WHERE name = 'bench'");
        const pgLoaded = reused ?? (await load(postgres, documents));
        const pgLoad = reused ? Number.NaN : (performance.now() - started) / 1000;
        console.error(`${size} ${spread}: ${server.label} ${reused ? 'reused' : `loaded in ${pgLoad.toFixed(0)} s`}`);
        const hasVectors = postgres.vectors;
        for (const build of builds) {
          const hnsw = build ? { hnsw: build } : {};
          const built = build ? `, m ${build.m}, ef_construction ${build.efConstruction}` : '';
          const indexName = `chunk_vectors_hnsw_vector_${DIMENSIONS}`;
          const { rows: found } = await postgres.pool.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [indexName]);
          let indexSeconds = Number.NaN;
          if (hasVectors && (build || !reused || !found[0]?.ok)) {
            console.error(`${size} ${spread}: building the HNSW index${built}`);
            started = performance.now();
            // The build keeps the graph in maintenance_work_mem (a server's setting; PGlite's default is small).
            await postgres.pool.query("SET maintenance_work_mem = '1GB'");
            await postgres.pool.query(`DROP INDEX IF EXISTS ${indexName}`);
            await createPostgresRagRepositories(postgres.pool, { vectors: true, ...hnsw }).ensureVectorIndex(DIMENSIONS);
            indexSeconds = (performance.now() - started) / 1000;
          }
          // What autovacuum does on a server: fresh planner statistics, and the visibility map that
          // index-only scans of the postings rely on (a bulk load leaves it unset).
          await postgres.pool.query('VACUUM ANALYZE');
          let usesIndex = false;
          if (hasVectors) {
            const plan = await postgres.pool.query(
              `EXPLAIN SELECT chunk_seq FROM chunk_vectors v WHERE v.dimensions = ${DIMENSIONS} AND v.collection_id = ANY($2::text[])
             ORDER BY v.embedding::vector(${DIMENSIONS}) <=> $1::vector(${DIMENSIONS}) LIMIT 10`,
              [`[${vectorSource(spread, 1)().join(',')}]`, [pgLoaded.collectionId]],
            );
            usesIndex = plan.rows.some((r) => String(r['QUERY PLAN']).includes('hnsw'));
          }
          loads.push({
            store: `postgres (${server.label})${built}`,
            vectors: spread,
            chunks: size,
            'load s': pgLoad,
            'index s': indexSeconds,
            'HNSW in plan': !hasVectors ? 'no pgvector' : usesIndex ? 'yes' : 'no',
          });
          const label = server.label.split(' ')[0];
          for (const [i, ef] of (hasVectors ? efSearch : [0]).entries()) {
            const search = createPostgresRagRepositories(postgres.pool, { vectors: hasVectors, efSearch: ef || undefined }).searchIndex;
            const first = i === 0 && build === builds[0];
            const measured = modes.filter((m) => (first || m !== 'text') && (hasVectors || m === 'text'));
            if (measured.length === 0) continue;
            const name = `postgres (${label})${built}${hasVectors ? `, ef_search ${ef}` : ''}`;
            rows.push(...(await measure(name, spread, search, pgLoaded, vectors, words, measured)));
          }
        }
      } finally {
        await postgres.close();
        await server.stop();
      }
    }
  }
  console.log('\n## Search at scale: PostgreSQL with pgvector beside SQLite (384-dimension vectors, k = 10, 100 queries)\n');
  printTable(loads);
  console.log('');
  printTable(rows);
}

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const list = (value: string | undefined) => value?.split(',').map(Number);

if (import.meta.url === `file://${process.argv[1]}`)
  await runPgvectorBenchmark({
    sizes: list(arg('pgvector-sizes')),
    efSearch: list(arg('ef-search')),
    spreads: arg('spread')?.split(',') as Spread[] | undefined,
    // `--hnsw=16x64,24x128`: m × ef_construction of each index built in turn.
    modes: arg('modes')?.split(',') as Array<'text' | 'vector' | 'hybrid'> | undefined,
    sqlite: !process.argv.includes('--no-sqlite'),
    pgliteDir: arg('pglite-dir'),
    postgresUrl: arg('postgres-url'),
    builds: arg('hnsw')
      ?.split(',')
      .map((b) => b.split('x').map(Number))
      .map(([m, efConstruction]) => ({ m: m as number, efConstruction: efConstruction as number })),
  });
