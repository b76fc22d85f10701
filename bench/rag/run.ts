/**
 * RAG benchmark: ingestion throughput (a generated 1,000-page PDF corpus, full-text only) and
 * search latency and recall for 10k and 100k chunks with 384-dimension vectors: full-text, vector
 * and hybrid, recall@10 of the vector search measured against exact (brute-force) search.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createDataDirBlobStore } from '../../server/src/blobs/data-dir-blob-store';
import { createIngestionService } from '../../server/src/rag/ingest/ingestion-service';
import { searchHybrid } from '../../server/src/rag/search/hybrid-search';
import { HOME_ORG_ID, openSqliteStore } from '../../server/src/store';
import { buildPdf } from '../../server/src/testing/sample-documents';
import { percentile } from '../src/load';
import { printTable } from '../src/processes';

const DATA = join(import.meta.dirname, '../../../shared/data/fomc-minutes');
const DIMENSIONS = 384;
const ROOT = join(import.meta.dirname, '../..');
const AXON = join(ROOT, 'server/bin/axon.mjs');

/** Real sentences to build documents from: the FOMC minutes in shared/data. */
export function loadSentences(): string[] {
  const sentences: string[] = [];
  for (const file of readdirSync(DATA).filter((f) => /^\d+\.txt$/.test(f))) {
    const text = readFileSync(join(DATA, file), 'utf8').replace(/^\uFEFF.*\n/, '');
    // Standard PDF fonts only encode Latin-1: keep sentences that fit.
    for (const s of text.split(/(?<=[.!?])\s+/))
      if (s.length > 40 && s.length < 400 && /^[\x20-\x7e\s]+$/.test(s)) sentences.push(s.replace(/\s+/g, ' '));
  }
  if (sentences.length === 0) throw new Error(`No sentences found in ${DATA}: the benchmark reads shared/data/fomc-minutes.`);
  return sentences;
}

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

function unitVector(next: () => number): number[] {
  const v = Array.from({ length: DIMENSIONS }, () => next() * 2 - 1);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/** 20 PDFs of 50 pages, each page four paragraphs of real sentences (about 350 words a page). */
export async function generatePdfs(sentences: string[]): Promise<Uint8Array[]> {
  const next = random(7);
  const pick = () => sentences[Math.floor(next() * sentences.length)] as string;
  const pdfs: Uint8Array[] = [];
  for (let d = 0; d < 20; d++)
    pdfs.push(await buildPdf(Array.from({ length: 50 }, () => Array.from({ length: 4 }, () => `${pick()} ${pick()} ${pick()}`))));
  return pdfs;
}

/** In this process, from the TypeScript sources (parse threads load them through tsx). */
export async function ingestionThroughput(pdfs: Uint8Array[]) {
  const dir = mkdtempSync(join(tmpdir(), 'axon-bench-rag-'));
  const store = openSqliteStore({ path: join(dir, 'axon.db') });
  const owner = await store.users.create({ email: 'bench@localhost', passwordHash: null, role: 'admin', orgId: HOME_ORG_ID });
  const collection = await store.collections.create({ ownerId: owner.id, name: 'bench' });
  const ingestion = createIngestionService({
    store,
    blobs: createDataDirBlobStore(dir),
    limits: {
      maxFileBytes: 100 * 1_048_576,
      maxPages: 5000,
      maxDecompressedBytes: 1e9,
      maxChars: 1e8,
      maxCsvRows: 1e6,
      parseTimeoutMs: 600_000,
      parseMemoryMb: 1024,
    },
    chunking: { maxTokens: 400, overlapTokens: 60 },
    logger: pino({ level: 'silent' }),
  });
  const started = performance.now();
  for (const [i, bytes] of pdfs.entries())
    await ingestion.addFile({ collectionId: collection.id, userId: owner.id, name: `doc-${i}.pdf`, bytes });
  await ingestion.start();
  await ingestion.idle();
  const seconds = (performance.now() - started) / 1000;
  const documents = await store.documents.listByCollection(collection.id);
  const pages = documents.reduce((n, d) => n + (d.pages ?? 0), 0);
  const chunks = documents.reduce((n, d) => n + d.chunkCount, 0);
  await ingestion.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { pages, chunks, seconds, failed: documents.filter((d) => d.status !== 'ready').length };
}

/** Indexes of the 10 vectors most similar to the query (all are unit length: dot product). */
function exactTop10(vectors: Float32Array[], query: number[]): number[] {
  const q = Float32Array.from(query);
  const scores = new Float64Array(vectors.length);
  for (let i = 0; i < vectors.length; i++) {
    const v = vectors[i] as Float32Array;
    let dot = 0;
    for (let j = 0; j < v.length; j++) dot += (v[j] as number) * (q[j] as number);
    scores[i] = dot;
  }
  return [...scores.keys()].sort((a, b) => (scores[b] as number) - (scores[a] as number)).slice(0, 10);
}

async function searchAtScale(sentences: string[], chunkCount: number) {
  const dir = mkdtempSync(join(tmpdir(), 'axon-bench-rag-'));
  const store = openSqliteStore({ path: join(dir, 'axon.db') });
  const owner = await store.users.create({ email: 'bench@localhost', passwordHash: null, role: 'admin', orgId: HOME_ORG_ID });
  const collection = await store.collections.create({ ownerId: owner.id, name: 'bench' });
  const next = random(chunkCount);
  const vectors: Float32Array[] = [];
  const perDocument = 100;
  const loadStarted = performance.now();
  for (let d = 0; d < chunkCount / perDocument; d++) {
    const { document } = await store.documents.create({
      collectionId: collection.id,
      name: `doc-${d}`,
      mime: 'text/plain',
      size: 0,
      sha256: `h${d}`,
      createdBy: owner.id,
    });
    const chunks = Array.from({ length: perDocument }, (_, i) => {
      const text = `${sentences[Math.floor(next() * sentences.length)]} ${sentences[Math.floor(next() * sentences.length)]}`;
      return { ordinal: i, text, startOffset: 0, endOffset: text.length, tokenCount: 60 };
    });
    await store.searchIndex.replaceChunks({ id: document.id, collectionId: collection.id }, chunks);
    const docVectors = chunks.map(() => unitVector(next));
    vectors.push(...docVectors.map((v) => Float32Array.from(v)));
    await store.searchIndex.upsertVectors(document.id, docVectors);
  }
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const embedder = { model: 'bench/random', embed: async (texts: string[]) => texts.map(() => queryVector) };
  let queryVector: number[] = [];
  const queries = 100;
  const words =
    sentences
      .join(' ')
      .toLowerCase()
      .match(/[a-z]{5,}/g) ?? [];
  // The first search builds the in-memory indexes (at start-up in the server): not timed.
  const warmStarted = performance.now();
  await store.searchIndex.warm();
  const warmSeconds = (performance.now() - warmStarted) / 1000;
  const rows: Array<Record<string, string | number>> = [];
  for (const mode of ['text', 'vector', 'hybrid'] as const) {
    const times: number[] = [];
    let recall = 0;
    const q = random(99);
    for (let i = 0; i < queries; i++) {
      queryVector = unitVector(q);
      const text = Array.from({ length: 4 }, () => words[Math.floor(q() * words.length)]).join(' ');
      const started = performance.now();
      const hits = await searchHybrid(store, embedder, text, { userId: owner.id, collectionIds: [collection.id], k: 10, mode });
      times.push(performance.now() - started);
      if (mode !== 'text') {
        // Exact top 10 by brute force over every stored vector.
        const exact = exactTop10(vectors, queryVector).map((index) => `doc-${Math.floor(index / perDocument)}#${index % perDocument}`);
        const vectorHits =
          mode === 'vector'
            ? hits
            : await searchHybrid(store, embedder, text, { userId: owner.id, collectionIds: [collection.id], k: 10, mode: 'vector' });
        const ordinals = await Promise.all(
          vectorHits.map(async (h) => {
            const row = (store as unknown as { db: { prepare(s: string): { get(id: string): { ordinal: number } } } }).db
              .prepare('SELECT ordinal FROM chunks WHERE id = ?')
              .get(h.chunkId);
            return `${h.documentName}#${row.ordinal}`;
          }),
        );
        const found = new Set(ordinals);
        recall += exact.filter((e) => found.has(e)).length / 10;
      }
    }
    rows.push({
      chunks: chunkCount,
      search: mode,
      'p50 ms': percentile(times, 50),
      'p99 ms': percentile(times, 99),
      'vector recall@10 vs exact': mode === 'text' ? '' : (recall / queries).toFixed(3),
    });
  }
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { rows, loadSeconds, warmSeconds };
}

/**
 * `axon ingest FOLDER` as a user runs it: a new process on the production bundle (when built),
 * timed from spawn to exit, start-up and database creation included.
 */
export async function cliIngestThroughput(pdfs: Uint8Array[]) {
  const dir = mkdtempSync(join(tmpdir(), 'axon-bench-cli-'));
  const folder = join(dir, 'pdfs');
  mkdirSync(folder);
  for (const [i, bytes] of pdfs.entries()) writeFileSync(join(folder, `doc-${i}.pdf`), bytes);
  const env = { ...process.env, AXON_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent' };
  const run = (args: string[]) => {
    const result = spawnSync(process.execPath, [AXON, ...args], { env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`axon ${args.join(' ')} failed: ${result.stderr}`);
  };
  run(['user', 'create', '--email', 'bench@example.com', '--password', 'bench password', '--role', 'admin']);
  const started = performance.now();
  run(['ingest', folder, '--collection', 'bench']);
  const seconds = (performance.now() - started) / 1000;
  const store = openSqliteStore({ path: join(dir, 'data', 'axon.db') });
  const [collection] = await store.collections.listForUser((await store.users.findByEmail('bench@example.com'))?.id as string);
  const documents = await store.documents.listByCollection(collection?.id as string);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    pages: documents.reduce((n, d) => n + (d.pages ?? 0), 0),
    chunks: documents.reduce((n, d) => n + d.chunkCount, 0),
    seconds,
    failed: documents.filter((d) => d.status !== 'ready').length,
  };
}

export async function runRagBenchmark(): Promise<void> {
  const sentences = loadSentences();
  const pdfs = await generatePdfs(sentences);
  const inProcess = await ingestionThroughput(pdfs);
  const cli = await cliIngestThroughput(pdfs);
  console.log('\n## RAG ingestion (generated PDFs, full-text only)\n');
  const bundled = existsSync(join(ROOT, 'server/dist/cli.js'));
  printTable(
    [
      { how: 'in process, from the TypeScript sources', ...inProcess },
      { how: `axon ingest FOLDER (${bundled ? 'production bundle' : 'sources: run npm run build first'}, new process)`, ...cli },
    ].map(({ how, pages, chunks, failed, seconds }) => ({ how, pages, chunks, failed, seconds, 'pages/s': pages / seconds })),
  );
  const rows: Array<Record<string, string | number>> = [];
  for (const size of [10_000, 100_000]) {
    const result = await searchAtScale(sentences, size);
    console.error(`${size} chunks loaded in ${result.loadSeconds.toFixed(1)} s, indexed in memory in ${result.warmSeconds.toFixed(1)} s`);
    rows.push(...result.rows);
  }
  console.log('\n## RAG search (384-dimension vectors, k = 10, 100 queries)\n');
  printTable(rows);
}

if (import.meta.url === `file://${process.argv[1]}`) await runRagBenchmark();
