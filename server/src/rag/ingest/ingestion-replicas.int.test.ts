import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DocumentStatus } from '@axon/contracts';
import type { Redis } from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../blobs/blob-store';
import { createPostgresBlobStore } from '../../blobs/postgres-blob-store';
import { createBullmqJobQueue } from '../../jobs/bullmq-job-queue';
import type { IngestJobData } from '../../jobs/table-job-queue';
import { HOME_ORG_ID, openSqliteStore, type Store } from '../../store';
import { BLOBS_TABLE_DDL } from '../../testing/blobs-table';
import { createTestDatabase, type TestDatabase } from '../../testing/postgres';
import { connectTestRedis, deleteTestKeys, testRedisPrefix } from '../../testing/test-redis';
import type { Embedder } from '../embed/embedder';
import { createIngestionService, type IngestionService } from './ingestion-service';

// Two replicas' ingestion services: originals in PostgreSQL, jobs on one BullMQ queue. The
// document rows are in one SQLite store both use (standing in for the shared database).

const LIMITS = {
  maxFileBytes: 10 * 1_048_576,
  maxPages: 100,
  maxDecompressedBytes: 50 * 1_048_576,
  maxChars: 1_000_000,
  maxCsvRows: 10_000,
  parseTimeoutMs: 30_000,
  parseMemoryMb: 256,
};

let dir: string;
let store: Store;
let database: TestDatabase;
let pool: pg.Pool;
let blobs: BlobStore;
let redis: Redis;
const redisConnections: Redis[] = [];
const prefix = testRedisPrefix();
const services: IngestionService[] = [];
/** Every status each document was given, in order, as either replica's service reported it. */
const statusLog = new Map<string, DocumentStatus[]>();
let collectionId: string;
let ownerId: string;

/** A replica's ingestion: its own Redis connection and queue instance, the shared store and blobs. */
async function replica(options: { embedder?: Embedder; work: boolean }): Promise<IngestionService> {
  const connection = await connectTestRedis();
  redisConnections.push(connection);
  const queue = createBullmqJobQueue<IngestJobData>({
    connection,
    name: 'ingest',
    prefix,
    concurrency: 2,
    retry: { attempts: 3, backoffMs: 100 },
    lockMs: 1000,
    stallCheckMs: 500,
    dedupeKey: (job) => job.documentId,
  });
  const service = createIngestionService({
    store,
    blobs,
    queue,
    limits: LIMITS,
    chunking: { maxTokens: 200, overlapTokens: 20 },
    logger: pino({ level: 'silent' }),
    embedder: options.embedder,
    onProgress: (document) => {
      const log = statusLog.get(document.id) ?? [];
      if (log.at(-1) !== document.status) log.push(document.status);
      statusLog.set(document.id, log);
    },
  });
  services.push(service);
  if (options.work) await service.start();
  return service;
}

/** An embedding provider that is down for the first `failures` calls. */
function flakyEmbedder(failures: number): Embedder & { calls: number } {
  return {
    model: 'test/embedder',
    calls: 0,
    async embed(texts) {
      this.calls++;
      if (this.calls <= failures) throw new Error('embedding provider unavailable');
      return texts.map(() => [1, 0, 0]);
    },
  };
}

/**
 * Waits until a service reports the document in one of `until`, then gives every status it went
 * through: each change is reported, so a status that lasts less than a poll is not missed.
 */
async function statusesOf(documentId: string, until: DocumentStatus[], ms = 15_000): Promise<DocumentStatus[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const seen = statusLog.get(documentId) ?? [];
    const last = seen.at(-1);
    if (last && until.includes(last)) return seen;
    if (Date.now() > deadline) throw new Error(`the document is still ${last} (seen: ${seen.join(' → ')})`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'axon-ingest-replicas-'));
  store = openSqliteStore({ path: join(dir, 'axon.db') });
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
  await pool.query(BLOBS_TABLE_DDL);
  blobs = createPostgresBlobStore(pool);
  redis = await connectTestRedis();
  const owner = await store.users.create({ email: 'owner@example.com', passwordHash: null, role: 'admin', orgId: HOME_ORG_ID });
  ownerId = owner.id;
  collectionId = (await store.collections.create({ ownerId, name: 'shared' })).id;
});

// Each test has its own replicas: the workers of the one before are stopped.
afterEach(async () => {
  for (const service of services.splice(0)) await service.stop();
  await Promise.all(redisConnections.splice(0).map((c) => c.quit()));
});

afterAll(async () => {
  await deleteTestKeys(redis, prefix);
  await redis.quit();
  await pool.end();
  await database.drop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ingestion across replicas', () => {
  it('a file added on a replica that does not work the queue is indexed by another, from the original in PostgreSQL', async () => {
    const front = await replica({ work: false });
    await replica({ work: true });
    const text = 'Interest rates were held steady. The committee will watch inflation closely.';
    const added = await front.addFile({ collectionId, userId: ownerId, name: 'minutes.txt', bytes: new TextEncoder().encode(text) });
    if ('error' in added) throw new Error(added.error);
    expect(await statusesOf(added.document.id, ['ready', 'failed'])).toContain('ready');
    expect((await store.documents.get(added.document.id))?.chunkCount).toBeGreaterThan(0);
    const { rows } = await pool.query('SELECT key, size FROM blobs WHERE key = $1', [`files/${added.document.id}`]);
    expect(rows).toHaveLength(1);
    // Deleting the document deletes its original for every replica.
    const record = await store.documents.get(added.document.id);
    if (!record) throw new Error('the document is gone');
    await front.deleteDocument(record);
    expect(await blobs.get(`files/${added.document.id}`)).toBeUndefined();
  });

  it('a failure that is not the file’s fault is tried again (the document waits as queued), then indexed', async () => {
    const front = await replica({ work: false });
    const embedder = flakyEmbedder(2);
    await replica({ work: true, embedder });
    const added = await front.addFile({
      collectionId,
      userId: ownerId,
      name: 'retry.txt',
      bytes: new TextEncoder().encode('A retried document.'),
    });
    if ('error' in added) throw new Error(added.error);
    const seen = await statusesOf(added.document.id, ['ready', 'failed']);
    expect(seen.at(-1)).toBe('ready');
    expect(seen.filter((s) => s === 'parsing').length).toBeGreaterThanOrEqual(2);
    expect(seen.slice(1)).toContain('queued');
    expect(embedder.calls).toBe(3);
  });

  it('gives a document up as failed, with a reason a person can read, when every try fails', async () => {
    const front = await replica({ work: false });
    const embedder = flakyEmbedder(100);
    await replica({ work: true, embedder });
    const added = await front.addFile({
      collectionId,
      userId: ownerId,
      name: 'broken.txt',
      bytes: new TextEncoder().encode('Never indexed.'),
    });
    if ('error' in added) throw new Error(added.error);
    expect((await statusesOf(added.document.id, ['ready', 'failed'])).at(-1)).toBe('failed');
    expect(embedder.calls).toBe(3);
    expect((await store.documents.get(added.document.id))?.error).toBe('Indexing failed on the server; the logs have the details.');
  });

  it('a file that cannot be read fails at once with its reason, without retries', async () => {
    const front = await replica({ work: false });
    const embedder = flakyEmbedder(0);
    await replica({ work: true, embedder });
    // A PDF that is not one: parsing fails the same way every time.
    const added = await front.addFile({
      collectionId,
      userId: ownerId,
      name: 'fake.pdf',
      bytes: new TextEncoder().encode('%PDF-1.7\nthis is not really a pdf'),
    });
    if ('error' in added) throw new Error(added.error);
    const seen = await statusesOf(added.document.id, ['ready', 'failed']);
    expect(seen.at(-1)).toBe('failed');
    expect(seen.filter((s) => s === 'parsing')).toHaveLength(1);
    expect((await store.documents.get(added.document.id))?.error).not.toBe('Indexing failed on the server; the logs have the details.');
  });
});
