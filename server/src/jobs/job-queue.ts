/** A job as its handler sees it. */
export interface QueuedJob<T> {
  id: string;
  data: T;
  /** Which try this is, from 1. A try cut short by a dead worker may be counted again. */
  attempt: number;
  /** Tries the job gets in all. */
  attempts: number;
}

/** What a queue's workers do with each job. */
export interface JobHandler<T> {
  /** Does the job. Throwing schedules another try after a backoff, until the tries run out. */
  run(job: QueuedJob<T>): Promise<void>;
  /** Called once when the job is given up: its last try threw, or the workers that took it kept dying. */
  failed(job: QueuedJob<T>, error: Error): Promise<void>;
}

/** How often a job is tried, and how long it waits between tries: `backoffMs`, doubled after each. */
export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
}

/** The wait before try `attempt + 1` after try `attempt` failed. */
export const backoffDelay = (policy: RetryPolicy, attempt: number) => policy.backoffMs * 2 ** (attempt - 1);

/**
 * Background jobs with retries. Implementations: the store's table, worked by the process that
 * queued the job (embedded), and BullMQ on Redis, where any replica's workers take a job any
 * replica queued and a job whose worker died is taken again.
 */
export interface JobQueue<T> {
  /** Queues a job; a worker of a process that shares the queue takes it. */
  enqueue(data: T): Promise<void>;
  /** Starts this process's workers (at most the queue's concurrency at once), each job given to `handler`. */
  work(handler: JobHandler<T>): Promise<void>;
  /** Resolves when no job is waiting, waiting for a retry or running (on this process for the table; anywhere for Redis). */
  idle(): Promise<void>;
  /** Stops taking jobs and waits for the running ones; a job waiting for a retry here is taken again once this worker's hold on it lapses. */
  close(): Promise<void>;
}

export const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));
