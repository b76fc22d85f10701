import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { openSqliteStore, type Store } from '../store';
import { connectTestRedis, deleteTestKeys, TEST_REDIS_URL, testRedisPrefix } from '../testing/test-redis';
import { createBullmqJobQueue } from './bullmq-job-queue';
import { describeJobQueueContract, until } from './job-queue-contract';
import { createTableJobQueue } from './table-job-queue';

describeJobQueueContract('the store table (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'axon-jobs-'));
  const path = join(dir, 'axon.db');
  const main = openSqliteStore({ path });
  const owner = await main.users.create({ email: 'owner@example.com', passwordHash: null, role: 'admin', orgId: 'org_default' });
  const collection = await main.collections.create({ ownerId: owner.id, name: 'jobs' });
  const stores: Store[] = [main];
  return {
    async open({ retry, concurrency }) {
      // Each instance has its own connection to the file, as another process would.
      const store = openSqliteStore({ path });
      stores.push(store);
      return createTableJobQueue({ jobs: store.ingestJobs, retry, concurrency, pollMs: 50, leaseMs: 1000 });
    },
    async newJob() {
      const id = randomUUID();
      await main.documents.create({
        id,
        collectionId: collection.id,
        name: `${id}.txt`,
        mime: 'text/plain',
        size: 1,
        sha256: id,
        createdBy: owner.id,
      });
      return { documentId: id };
    },
    childEnv: () => ({ JOB_QUEUE: 'table', JOB_DB: path }),
    async close() {
      for (const store of stores) await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeJobQueueContract('BullMQ (Redis)', async () => {
  const admin = await connectTestRedis();
  const prefix = testRedisPrefix();
  const name = 'ingest';
  const connections: Redis[] = [admin];
  return {
    async open({ retry, concurrency }) {
      const connection = await connectTestRedis();
      connections.push(connection);
      return createBullmqJobQueue<{ documentId: string }>({
        connection,
        name,
        prefix,
        retry,
        concurrency,
        lockMs: 1000,
        stallCheckMs: 500,
      });
    },
    newJob: async () => ({ documentId: randomUUID() }),
    childEnv: () => ({ JOB_QUEUE: 'bullmq', JOB_REDIS_URL: TEST_REDIS_URL, JOB_NAME: name, JOB_PREFIX: prefix }),
    async close() {
      await deleteTestKeys(admin, prefix);
      await Promise.all(connections.map((c) => c.quit().catch(() => undefined)));
    },
  };
});

describe('the store table after crashes', () => {
  it('gives up a job claimed more often than it has tries (each claim a worker that died)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-jobs-'));
    let at = Date.parse('2030-01-01T00:00:00.000Z');
    const store = openSqliteStore({ path: join(dir, 'axon.db'), now: () => new Date(at) });
    try {
      const owner = await store.users.create({ email: 'o@example.com', passwordHash: null, role: 'admin', orgId: 'org_default' });
      const collection = await store.collections.create({ ownerId: owner.id, name: 'c' });
      const id = randomUUID();
      await store.documents.create({
        id,
        collectionId: collection.id,
        name: 'a.txt',
        mime: 'text/plain',
        size: 1,
        sha256: id,
        createdBy: owner.id,
      });
      await store.ingestJobs.enqueue(id);
      // Three workers took it and died: each claim left it running, and a start after its lease lapsed queued it again.
      for (let i = 0; i < 3; i++) {
        await store.ingestJobs.claimNext({ workerId: `dead-${i}`, leaseMs: 30_000 });
        at += 30_001;
        expect(await store.ingestJobs.requeueExpired()).toBe(1);
      }
      const runs: number[] = [];
      const failures: Array<{ attempt: number; message: string }> = [];
      const queue = createTableJobQueue({ jobs: store.ingestJobs, retry: { attempts: 3, backoffMs: 10 }, concurrency: 1 });
      await queue.work({
        run: async (job) => void runs.push(job.attempt),
        failed: async (job, error) => void failures.push({ attempt: job.attempt, message: error.message }),
      });
      await queue.idle();
      await queue.close();
      expect(runs).toEqual([]);
      expect(failures).toEqual([{ attempt: 4, message: 'The job was interrupted 3 times.' }]);
      at += 30_001;
      expect(await store.ingestJobs.claimNext({ workerId: 'last', leaseMs: 30_000 })).toBeUndefined();
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('BullMQ after crashes', () => {
  it('gives up, through the handler, a job whose workers keep dying', async () => {
    const admin = await connectTestRedis();
    const connection = await connectTestRedis();
    const prefix = testRedisPrefix();
    const env = { ...process.env, JOB_QUEUE: 'bullmq', JOB_REDIS_URL: TEST_REDIS_URL, JOB_NAME: 'ingest', JOB_PREFIX: prefix };
    const options = { connection, name: 'ingest', prefix, concurrency: 1, lockMs: 1000, stallCheckMs: 500 };
    const producer = createBullmqJobQueue<{ documentId: string }>({ ...options, retry: { attempts: 1, backoffMs: 10 } });
    let rescuer: ReturnType<typeof createBullmqJobQueue<{ documentId: string }>> | undefined;
    try {
      await producer.enqueue({ documentId: 'doc-1' });
      // Two worker processes take it in turn and are killed mid-job.
      for (let i = 0; i < 2; i++) {
        const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../testing/hanging-job-worker.ts')], {
          env,
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let output = '';
        child.stdout.on('data', (d) => (output += String(d)));
        try {
          // A fresh process transpiles its sources first: on a busy machine that alone takes seconds.
          await until(() => output.includes('started '), 45_000, 'a worker process to take the job');
        } finally {
          child.kill('SIGKILL');
        }
        await new Promise((resolve) => child.once('exit', resolve));
      }
      const runs: string[] = [];
      const failures: Array<{ data: unknown; message: string }> = [];
      rescuer = createBullmqJobQueue<{ documentId: string }>({ ...options, retry: { attempts: 1, backoffMs: 10 } });
      await rescuer.work({
        run: async (job) => void runs.push(job.id),
        failed: async (job, error) => void failures.push({ data: job.data, message: error.message }),
      });
      await until(() => failures.length > 0, 10_000, 'the job to be given up');
      expect(runs).toEqual([]);
      expect(failures).toEqual([{ data: { documentId: 'doc-1' }, message: 'job stalled more than allowable limit' }]);
    } finally {
      await rescuer?.close();
      await producer.close();
      await deleteTestKeys(admin, prefix);
      await connection.quit();
      await admin.quit();
    }
  }, 120_000);
});
