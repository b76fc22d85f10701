import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IngestJobLease, IngestJobRepository } from '../store/rag-store';
import { asError, backoffDelay, type JobHandler, type JobQueue, type RetryPolicy } from './job-queue';

/** How long closing waits for the jobs being worked on before leaving them to the next start. */
const CLOSE_GRACE_MS = 5000;
/** How long a worker's hold on a running job lasts unless renewed; it renews at a third of this. */
const DEFAULT_LEASE_MS = 30_000;

/** What a job of the store's table carries: the document to index. */
export interface IngestJobData {
  documentId: string;
}

export interface TableJobQueueOptions {
  jobs: IngestJobRepository;
  /** Jobs worked at once. */
  concurrency: number;
  retry: RetryPolicy;
  /** How often to look for jobs queued by another process (the CLI); 0 never looks. */
  pollMs?: number | undefined;
  /**
   * How long this queue's hold on a job lasts unless renewed (it renews at a third of this while the
   * job runs or waits for a retry). A job whose worker died is taken again about this long after; a
   * process whose event loop stalls longer may lose its job to another.
   */
  leaseMs?: number | undefined;
  /** Told how many jobs a stop or a crash had left running, when they are queued again. */
  onRequeued?: (count: number) => void;
  onError?: (error: unknown) => void;
}

/**
 * The embedded queue: jobs are rows of the store's `ingest_jobs` table, claimed one at a time under
 * a lease that this queue renews while it holds the job. Retries wait in this process, the row
 * staying `running` and leased. Jobs other live processes hold are left to them; a job whose lease
 * lapsed (its process stopped or died) is queued again when a queue starts working or notices it,
 * and given up once claimed more times than tries allow.
 */
export function createTableJobQueue(options: TableJobQueueOptions): JobQueue<IngestJobData> {
  const { jobs, retry } = options;
  const onError = options.onError ?? (() => undefined);
  const lease: IngestJobLease = {
    workerId: `${hostname()}:${process.pid}:${randomUUID()}`,
    leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
  };
  const stopping = new AbortController();
  /** The jobs this queue holds (running or waiting for a retry), whose leases it renews. */
  const held = new Set<string>();
  let handler: JobHandler<IngestJobData> | undefined;
  let poller: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let reaper: NodeJS.Timeout | undefined;
  let lanes = 0;
  let running: Promise<void> | undefined;
  let settle: () => void = () => {};

  async function runClaimed(claimed: { id: string; documentId: string; attempts: number }, work: JobHandler<IngestJobData>) {
    const data = { documentId: claimed.documentId };
    for (let attempt = Math.max(1, claimed.attempts); ; attempt++) {
      const job = { id: claimed.id, data, attempt, attempts: retry.attempts };
      if (attempt > retry.attempts) {
        await work.failed(job, new Error(`The job was interrupted ${claimed.attempts - 1} times.`));
        return jobs.finish(claimed.id, 'failed');
      }
      try {
        await work.run(job);
        return jobs.finish(claimed.id, 'done');
      } catch (error) {
        if (attempt >= retry.attempts) {
          await work.failed(job, asError(error));
          return jobs.finish(claimed.id, 'failed');
        }
      }
      // Left `running` when stopped during the wait: once its lease lapses, it is queued again.
      const waited = await sleep(backoffDelay(retry, attempt), true, { signal: stopping.signal }).catch(() => false);
      if (!waited) return;
    }
  }

  /** Tops the lanes up to the concurrency; a lane that finds the queue empty ends. */
  function kick() {
    const work = handler;
    if (!work || stopping.signal.aborted) return;
    if (lanes === 0) running = new Promise<void>((resolve) => (settle = resolve));
    while (lanes < options.concurrency) {
      lanes++;
      void (async () => {
        while (!stopping.signal.aborted) {
          const claimed = await jobs.claimNext(lease);
          if (!claimed) break;
          held.add(claimed.id);
          try {
            await runClaimed(claimed, work);
          } finally {
            held.delete(claimed.id);
          }
        }
      })()
        .catch(onError)
        .finally(() => {
          if (--lanes > 0) return;
          running = undefined;
          settle();
        });
    }
  }

  /** Queues again the jobs whose workers died or stopped (their leases lapsed); returns how many. */
  async function requeueExpired() {
    const requeued = await jobs.requeueExpired();
    if (requeued > 0) options.onRequeued?.(requeued);
    return requeued;
  }

  return {
    async enqueue(data) {
      await jobs.enqueue(data.documentId);
      kick();
    },
    async work(work) {
      handler = work;
      heartbeat = setInterval(() => {
        if (held.size > 0) jobs.renew([...held], lease).catch(onError);
      }, lease.leaseMs / 3).unref();
      // A worker of another process may die while this one works: its jobs are taken once their leases lapse.
      reaper = setInterval(() => {
        requeueExpired()
          .then((requeued) => requeued > 0 && kick())
          .catch(onError);
      }, lease.leaseMs).unref();
      await requeueExpired();
      kick();
      if (options.pollMs) poller = setInterval(kick, options.pollMs).unref();
    },
    async idle() {
      while (running) await running;
    },
    async close() {
      stopping.abort();
      clearInterval(poller);
      clearInterval(reaper);
      // A job still running after the grace is left `running`: its lease lapses, and it is queued again.
      const grace = sleep(CLOSE_GRACE_MS, false, { ref: false });
      await Promise.race([
        (async () => {
          while (running) await running;
        })(),
        grace,
      ]);
      clearInterval(heartbeat);
    },
  };
}
