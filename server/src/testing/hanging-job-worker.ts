// A worker process whose jobs never finish, for tests that kill it mid-job: it works the queue named
// by its environment, prints `started <job id>` when a job reaches it, and waits to be killed.
// JOB_QUEUE=table with JOB_DB (a SQLite file), or JOB_QUEUE=bullmq with JOB_REDIS_URL, JOB_NAME, JOB_PREFIX.
import { openSqliteStore } from '../store';

const { JOB_QUEUE, JOB_DB, JOB_REDIS_URL, JOB_NAME, JOB_PREFIX } = process.env;
const handler = {
  run: (job: { id: string }) => {
    process.stdout.write(`started ${job.id}\n`);
    return new Promise<void>(() => {});
  },
  failed: async () => undefined,
};
const retry = { attempts: 3, backoffMs: 100 };

if (JOB_QUEUE === 'table' && JOB_DB) {
  const { createTableJobQueue } = await import('../jobs/table-job-queue');
  const store = openSqliteStore({ path: JOB_DB });
  await createTableJobQueue({ jobs: store.ingestJobs, concurrency: 1, retry, pollMs: 50, leaseMs: 1000 }).work(handler);
} else if (JOB_QUEUE === 'bullmq' && JOB_REDIS_URL && JOB_NAME && JOB_PREFIX) {
  const { createBullmqJobQueue } = await import('../jobs/bullmq-job-queue');
  const { Redis } = await import('ioredis');
  const connection = new Redis(JOB_REDIS_URL, { maxRetriesPerRequest: null });
  await createBullmqJobQueue({
    connection,
    name: JOB_NAME,
    prefix: JOB_PREFIX,
    concurrency: 1,
    retry,
    lockMs: 1000,
    stallCheckMs: 500,
  }).work(handler);
} else {
  process.stderr.write('set JOB_QUEUE=table with JOB_DB, or JOB_QUEUE=bullmq with JOB_REDIS_URL, JOB_NAME and JOB_PREFIX\n');
  process.exit(2);
}
process.stdout.write('working\n');
