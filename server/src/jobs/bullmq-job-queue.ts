import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { asError, type JobHandler, type JobQueue, type QueuedJob, type RetryPolicy } from './job-queue';

export interface BullmqJobQueueOptions<T> {
  /**
   * An ioredis connection made with `maxRetriesPerRequest: null`, as BullMQ requires (its blocking
   * commands must wait out a reconnect). The queue and its worker share it; the worker makes its
   * own blocking connection from it. The caller closes it, after `close`.
   */
  connection: Redis;
  /** The queue's name; every replica uses the same. */
  name: string;
  /** Prefix of the queue's Redis keys (the installation's Redis prefix). */
  prefix: string;
  /** Jobs this replica works at once. */
  concurrency: number;
  retry: RetryPolicy;
  /**
   * How long a worker's hold on a running job lasts unless renewed (it is renewed at half this):
   * a job whose worker died is taken again about this long plus `stallCheckMs` later. A worker whose
   * event loop is blocked longer than this loses its job to another.
   */
  lockMs: number;
  /** How often each worker looks for jobs whose worker died. */
  stallCheckMs: number;
  /**
   * Jobs with the same key are one: queuing it again while it waits does nothing; while it runs, it
   * runs once more after it.
   */
  dedupeKey?: ((data: T) => string) | undefined;
  /** How long a failed job stays in Redis for inspection, in seconds (default a week). */
  keepFailedSeconds?: number;
  onError?: (error: unknown) => void;
}

/** How often `idle` asks Redis for the queue's counts. */
const IDLE_POLL_MS = 100;

/**
 * Jobs on a BullMQ queue in Redis. Every replica runs a worker; a job any replica queued is taken
 * by whichever worker is free. A failed try is retried with exponential backoff; a job whose worker
 * died (its lock expired) is found by another worker's stall check and taken again, up to as many
 * times as it has tries.
 */
export function createBullmqJobQueue<T>(options: BullmqJobQueueOptions<T>): JobQueue<T> {
  const onError = options.onError ?? (() => undefined);
  const queue = new Queue(options.name, { connection: options.connection, prefix: options.prefix });
  queue.on('error', onError);
  let worker: Worker | undefined;
  // Jobs whose last try this process has already reported as failed.
  const reported = new Set<string>();

  const queuedJob = (job: Job): QueuedJob<T> => ({
    id: String(job.id),
    data: job.data as T,
    attempt: job.attemptsMade + 1,
    attempts: job.opts.attempts ?? 1,
  });

  return {
    async enqueue(data) {
      await queue.add(options.name, data, {
        attempts: options.retry.attempts,
        backoff: { type: 'exponential', delay: options.retry.backoffMs },
        removeOnComplete: true,
        removeOnFail: { age: options.keepFailedSeconds ?? 7 * 86_400, count: 1000 },
        ...(options.dedupeKey ? { deduplication: { id: options.dedupeKey(data), keepLastIfActive: true } } : {}),
      });
    },

    async work(handler: JobHandler<T>) {
      if (worker) return;
      worker = new Worker(
        options.name,
        async (job: Job) => {
          const queued = queuedJob(job);
          try {
            await handler.run(queued);
          } catch (error) {
            // The last try: the handler hears of it before the job is marked failed, so that a
            // crash in between leaves a job to run again rather than a failure nobody recorded.
            if (queued.attempt >= queued.attempts) {
              reported.add(queued.id);
              await handler.failed(queued, asError(error)).catch(onError);
            }
            throw error;
          }
        },
        {
          connection: options.connection,
          prefix: options.prefix,
          concurrency: options.concurrency,
          lockDuration: options.lockMs,
          stalledInterval: options.stallCheckMs,
          maxStalledCount: options.retry.attempts,
        },
      );
      worker.on('error', onError);
      // Jobs failed without reaching the processor: their workers kept dying (stalled too often).
      worker.on('failed', (job, error) => {
        if (!job?.finishedOn) return;
        if (reported.delete(String(job.id))) return;
        void handler.failed(queuedJob(job), error).catch(onError);
      });
      await worker.waitUntilReady();
    },

    async idle() {
      for (;;) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
        if (Object.values(counts).every((n) => n === 0)) return;
        await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
      }
    },

    async close() {
      await worker?.close();
      await queue.close();
    },
  };
}
