import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobHandler, JobQueue, QueuedJob, RetryPolicy } from './job-queue';
import type { IngestJobData } from './table-job-queue';

export interface JobQueueHarness {
  /** A queue instance over the shared storage, as another process would have it (a new one per call), holding a job it runs for 1 s unless renewed. */
  open(options: { retry: RetryPolicy; concurrency: number }): Promise<JobQueue<IngestJobData>>;
  /** The data of a new job (for the table: a real document). */
  newJob(): Promise<IngestJobData>;
  /** The environment of `testing/hanging-job-worker.ts` working the same queue. */
  childEnv(): Record<string, string>;
  close(): Promise<void>;
}

/** Resolves once `check` holds, polling; throws after `ms`. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A handler that records what it is given; `behave` decides each try. */
function recordingHandler(behave: (job: QueuedJob<IngestJobData>) => Promise<void> = async () => undefined) {
  const runs: Array<{ job: QueuedJob<IngestJobData>; at: number }> = [];
  const failures: Array<{ job: QueuedJob<IngestJobData>; error: Error }> = [];
  const handler: JobHandler<IngestJobData> = {
    async run(job) {
      runs.push({ job, at: Date.now() });
      await behave(job);
    },
    async failed(job, error) {
      failures.push({ job, error });
    },
  };
  return { handler, runs, failures };
}

const WORKER_SCRIPT = join(import.meta.dirname, '../testing/hanging-job-worker.ts');

/** The assertions every job queue must pass, run once per implementation. */
export function describeJobQueueContract(name: string, make: () => Promise<JobQueueHarness>): void {
  describe(`job queue contract: ${name}`, () => {
    let harness: JobQueueHarness;
    const opened: Array<JobQueue<IngestJobData>> = [];
    const open = async (retry: RetryPolicy = { attempts: 3, backoffMs: 50 }, concurrency = 2) => {
      const queue = await harness.open({ retry, concurrency });
      opened.push(queue);
      return queue;
    };
    beforeAll(async () => {
      harness = await make();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((q) => q.close()));
    });
    afterAll(() => harness.close());

    it('runs a job queued through one instance on another instance, once', async () => {
      const producer = await open();
      const consumer = await open();
      const { handler, runs, failures } = recordingHandler();
      await consumer.work(handler);
      const job = await harness.newJob();
      await producer.enqueue(job);
      await until(() => runs.length > 0, 5000, 'the job to run');
      await consumer.idle();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(runs.map((r) => r.job.data)).toEqual([job]);
      expect(runs[0]?.job.attempt).toBe(1);
      expect(failures).toEqual([]);
    });

    it('tries a failing job as often as the policy says, waiting longer each time, then gives it up once', async () => {
      const queue = await open({ attempts: 3, backoffMs: 150 });
      const { handler, runs, failures } = recordingHandler(async () => {
        throw new Error('upstream down');
      });
      await queue.work(handler);
      const job = await harness.newJob();
      await queue.enqueue(job);
      await until(() => failures.length > 0, 8000, 'the job to be given up');
      await queue.idle();
      expect(runs.map((r) => r.job.attempt)).toEqual([1, 2, 3]);
      const [first, second, third] = runs.map((r) => r.at) as [number, number, number];
      expect(second - first).toBeGreaterThanOrEqual(140);
      expect(third - second).toBeGreaterThanOrEqual(290);
      expect(failures).toHaveLength(1);
      expect(failures[0]?.job).toMatchObject({ data: job, attempt: 3, attempts: 3 });
      expect(failures[0]?.error.message).toBe('upstream down');
    });

    it('does not give up a job whose retry succeeds', async () => {
      const queue = await open({ attempts: 3, backoffMs: 20 });
      const { handler, runs, failures } = recordingHandler(async (job) => {
        if (job.attempt === 1) throw new Error('once');
      });
      await queue.work(handler);
      await queue.enqueue(await harness.newJob());
      await until(() => runs.length === 2, 5000, 'the retry');
      await queue.idle();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(runs.map((r) => r.job.attempt)).toEqual([1, 2]);
      expect(failures).toEqual([]);
    });

    it('runs at most its concurrency at once, and is idle once every job is done', async () => {
      const queue = await open(undefined, 2);
      let inFlight = 0;
      let most = 0;
      const { handler, runs } = recordingHandler(async () => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 100));
        inFlight--;
      });
      await queue.work(handler);
      for (let i = 0; i < 6; i++) await queue.enqueue(await harness.newJob());
      await until(() => runs.length > 0, 5000, 'the first job');
      await queue.idle();
      expect(runs).toHaveLength(6);
      expect(most).toBe(2);
      expect(inFlight).toBe(0);
    });

    it('leaves a job to the live instance running it, however long it runs, when another instance starts', async () => {
      const first = await open();
      let release: () => void = () => {};
      const { handler, runs, failures } = recordingHandler(() => new Promise<void>((resolve) => (release = resolve)));
      await first.work(handler);
      const job = await harness.newJob();
      await first.enqueue(job);
      await until(() => runs.length > 0, 5000, 'the job to start');
      // The second instance starts while the job runs on, well past the first instance's lease (1 s here).
      const second = await open();
      const other = recordingHandler();
      await second.work(other.handler);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      release();
      await first.idle();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(runs.map((r) => r.job.data)).toEqual([job]);
      expect(other.runs).toEqual([]);
      expect([...failures, ...other.failures]).toEqual([]);
    }, 20_000);

    it('runs again a job whose worker process was killed while running it', async () => {
      const job = await harness.newJob();
      const producer = await open();
      await producer.enqueue(job);
      const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
        env: { ...process.env, ...harness.childEnv() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d) => (output += String(d)));
      child.stderr.on('data', (d) => (output += String(d)));
      try {
        // A fresh process transpiles its sources first: on a busy machine that alone takes seconds.
        await until(() => output.includes('started '), 45_000, `the worker process to take the job (it said: ${output})`);
      } finally {
        child.kill('SIGKILL');
      }
      await new Promise((resolve) => child.once('exit', resolve));
      // Another process's worker finds the job its dead worker held.
      const rescuer = await open();
      const { handler, runs, failures } = recordingHandler();
      await rescuer.work(handler);
      await until(() => runs.length > 0, 10_000, 'the job to run again');
      await rescuer.idle();
      expect(runs.map((r) => r.job.data)).toEqual([job]);
      expect(failures).toEqual([]);
    }, 70_000);
  });
}
