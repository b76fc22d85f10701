import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresBlobStore } from '../../blobs/postgres-blob-store';
import { createRedisInvalidationBus, type InvalidationBus } from '../../invalidation/invalidation-bus';
import { type DatasetRecord, openSqliteStore, type Store } from '../../store';
import { BLOBS_TABLE_DDL } from '../../testing/blobs-table';
import { createTestDatabase, type TestDatabase } from '../../testing/postgres';
import { connectTestRedis, testRedisPrefix } from '../../testing/test-redis';
import type { ToolContext } from '../tool';
import { createDatasetFiles, type DatasetFiles } from './dataset-files';
import { loadCsvDataset } from './datasets';
import { createQueryDataTool } from './query-data';
import { createQueryRunner, type QueryRunner } from './query-runner';

// Two replicas with folders of their own: the dataset files travel through PostgreSQL, and the
// replaced ones are dropped from the other replica's folder through Redis.

let root: string;
let store: Store;
let database: TestDatabase;
let pool: pg.Pool;
let runner: QueryRunner;
const redisConnections: Redis[] = [];
const buses: InvalidationBus[] = [];
let a: DatasetFiles;
let b: DatasetFiles;

const context: ToolContext = {
  user: { id: 'u1', email: 'u@example.com', role: 'member', orgId: 'org_default' },
  agent: { id: 'a1', slug: 'analyst' },
  collectionIds: [],
  datasets: ['rates'],
  signal: new AbortController().signal,
};

async function replicaFiles(dir: string, prefix: string): Promise<DatasetFiles> {
  const publisher = await connectTestRedis();
  const subscriber = await connectTestRedis();
  redisConnections.push(publisher);
  const bus = await createRedisInvalidationBus({ publisher, subscriber, channel: `${prefix}:invalidate` });
  buses.push(bus);
  return createDatasetFiles({ dir, blobs: createPostgresBlobStore(pool), bus });
}

const query = (files: DatasetFiles, dataset: DatasetRecord, sql: string) => {
  const tool = createQueryDataTool({ datasets: [dataset], files, runner });
  return tool.execute(tool.parse({ sql }), context);
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'axon-datasets-'));
  store = openSqliteStore({ path: join(root, 'axon.db') });
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
  await pool.query(BLOBS_TABLE_DDL);
  runner = createQueryRunner();
  const prefix = testRedisPrefix();
  a = await replicaFiles(join(root, 'a', 'datasets'), prefix);
  b = await replicaFiles(join(root, 'b', 'datasets'), prefix);
});

afterAll(async () => {
  await runner.close();
  await Promise.all(buses.map((bus) => bus.close()));
  await Promise.all(redisConnections.map((c) => c.quit()));
  await pool.end();
  await database.drop();
  await store.close();
  rmSync(root, { recursive: true, force: true });
});

describe('datasets across replicas', () => {
  it('a dataset loaded on one replica is queried on another, which copies it once; a replaced one is dropped everywhere', async () => {
    const first = await loadCsvDataset(store.datasets, a, {
      orgId: 'org_default',
      name: 'rates',
      description: '',
      csv: 'day,rate\nmon,1.5\ntue,1.75\n',
    });
    expect(existsSync(join(b.dir, first.file))).toBe(false);
    const { value } = await query(b, first, 'SELECT day, rate FROM rates ORDER BY day');
    expect(value).toMatchObject({
      rows: [
        ['mon', 1.5],
        ['tue', 1.75],
      ],
    });
    expect(existsSync(join(b.dir, first.file))).toBe(true);
    // A second query uses the copy: with the shared blob gone it still answers.
    await pool.query('DELETE FROM blobs');
    expect((await query(b, first, 'SELECT count(*) FROM rates')).value).toMatchObject({ rows: [[2]] });
    await a.publish(first.file);

    // Loaded again on A: a new file; the old one leaves the shared store and B's folder.
    const second = await loadCsvDataset(store.datasets, a, {
      orgId: 'org_default',
      name: 'rates',
      description: '',
      csv: 'day,rate\nwed,2\n',
    });
    expect(second.file).not.toBe(first.file);
    await expect.poll(() => existsSync(join(b.dir, first.file)), { timeout: 2000, interval: 20 }).toBe(false);
    expect(existsSync(join(a.dir, first.file))).toBe(false);
    expect((await pool.query('SELECT key FROM blobs ORDER BY key')).rows).toEqual([{ key: `datasets/${second.file}` }]);
    expect((await query(b, second, 'SELECT day, rate FROM rates')).value).toMatchObject({ rows: [['wed', 2]] });
  });

  it('refuses, to the model, a dataset whose file is in no store', async () => {
    const dataset = { ...(await store.datasets.get('org_default', 'rates')), file: 'org_default/gone.sqlite' } as DatasetRecord;
    await expect(query(b, dataset, 'SELECT * FROM rates')).rejects.toThrow(/cannot be read here now/);
  });
});
