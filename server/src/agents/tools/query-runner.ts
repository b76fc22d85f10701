import { Worker } from 'node:worker_threads';
import { ToolRefusal } from '../tool';

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  /** More rows matched than the row cap let through. */
  truncated: boolean;
}

export interface QueryRunner {
  /** Runs one read-only query on a dataset file; refused past `timeoutMs` or when `signal` aborts. */
  run(input: { file: string; sql: string; maxRows: number; timeoutMs: number; signal: AbortSignal }): Promise<QueryResult>;
  close(): Promise<void>;
}

// From the bundle the worker is dist/query-data-worker.js; from the sources it is the .mjs beside this file.
const fromSource = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(fromSource ? './query-data-worker.mjs' : './query-data-worker.js', import.meta.url);

interface Reply {
  id: number;
  columns?: string[];
  rows?: unknown[][];
  truncated?: boolean;
  error?: string;
}

/**
 * Queries run in worker threads: a query past its time cap, or one whose call is stopped, ends
 * with its thread terminated (better-sqlite3 cannot be interrupted otherwise). Idle threads are
 * kept for the next query, at most `maxIdle` of them.
 */
export function createQueryRunner(options: { maxIdle?: number } = {}): QueryRunner {
  const maxIdle = options.maxIdle ?? 2;
  const idle: Worker[] = [];
  const busy = new Set<Worker>();
  let nextId = 1;

  const take = () => {
    const worker = idle.pop() ?? new Worker(WORKER_URL);
    worker.ref();
    busy.add(worker);
    return worker;
  };
  const giveBack = (worker: Worker) => {
    busy.delete(worker);
    if (idle.length < maxIdle) {
      worker.unref();
      idle.push(worker);
    } else void worker.terminate();
  };

  return {
    run({ file, sql, maxRows, timeoutMs, signal }) {
      if (signal.aborted) return Promise.reject(new ToolRefusal('The query was stopped.'));
      const worker = take();
      const id = nextId++;
      return new Promise<QueryResult>((resolve, reject) => {
        let settled = false;
        const finish = (outcome: () => void, keep: boolean) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          worker.off('message', onMessage);
          worker.off('error', onError);
          if (keep) giveBack(worker);
          else {
            busy.delete(worker);
            void worker.terminate();
          }
          outcome();
        };
        const onMessage = (reply: Reply) => {
          if (reply.id !== id) return;
          finish(
            () =>
              reply.error !== undefined
                ? reject(new ToolRefusal(`The query failed: ${reply.error}`))
                : resolve({ columns: reply.columns ?? [], rows: reply.rows ?? [], truncated: reply.truncated === true }),
            true,
          );
        };
        const onError = (error: Error) => finish(() => reject(new ToolRefusal(`The query failed: ${error.message}`)), false);
        const onAbort = () => finish(() => reject(new ToolRefusal('The query was stopped.')), false);
        const timer = setTimeout(
          () => finish(() => reject(new ToolRefusal(`The query ran past the time cap of ${timeoutMs} ms and was stopped.`)), false),
          timeoutMs,
        );
        worker.on('message', onMessage);
        worker.on('error', onError);
        signal.addEventListener('abort', onAbort, { once: true });
        worker.postMessage({ id, file, sql, maxRows, maxCellChars: 2000 });
      });
    },
    async close() {
      await Promise.all([...idle, ...busy].map((w) => w.terminate()));
      idle.length = 0;
      busy.clear();
    },
  };
}
