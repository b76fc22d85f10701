import { setTimeout as sleep } from 'node:timers/promises';
import type { IngestJobRepository } from '../store/rag-store';
import { asError, backoffDelay, type JobHandler, type JobQueue, type RetryPolicy } from './job-queue';

/** How long closing waits for the jobs being worked on before leaving them to the next start. */
const CLOSE_GRACE_MS = 5000;

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
  /** Told how many jobs a stop or a crash had left running, when they are queued again. */
  onRequeued?: (count: number) => void;
  onError?: (error: unknown) => void;
}

/**
 * The embedded queue: jobs are rows of the store's `ingest_jobs` table, claimed one at a time.
 * Retries wait in this process, the row staying `running`; jobs left running by a stop or a crash
 * are queued again when a queue starts working (and given up once claimed more times than tries allow).
 */
export function createTableJobQueue(options: TableJobQueueOptions): JobQueue<IngestJobData> {
  const { jobs, retry } = options;
  const onError = options.onError ?? (() => undefined);
  const stopping = new AbortController();
  let handler: JobHandler<IngestJobData> | undefined;
  let poller: NodeJS.Timeout | undefined;
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
      // Left `running` when stopped during the wait: the next start queues it again.
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
          const claimed = await jobs.claimNext();
          if (!claimed) break;
          await runClaimed(claimed, work);
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

  return {
    async enqueue(data) {
      await jobs.enqueue(data.documentId);
      kick();
    },
    async work(work) {
      handler = work;
      const requeued = await jobs.requeueRunning();
      if (requeued > 0) options.onRequeued?.(requeued);
      kick();
      if (options.pollMs) poller = setInterval(kick, options.pollMs).unref();
    },
    async idle() {
      while (running) await running;
    },
    async close() {
      stopping.abort();
      clearInterval(poller);
      // A job still running after the grace is left `running`: the next start queues it again.
      const grace = sleep(CLOSE_GRACE_MS, false, { ref: false });
      await Promise.race([
        (async () => {
          while (running) await running;
        })(),
        grace,
      ]);
    },
  };
}
