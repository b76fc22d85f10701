import { Worker } from 'node:worker_threads';
import type { ParseLimits } from './parse-document';
import { type ParsedDocument, ParseError, type SupportedType } from './parsed-document';

// From the bundle (dist/cli.js) the worker is dist/parse-worker.js; from the sources it is a shim
// that loads the TypeScript worker through tsx.
const fromSource = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(fromSource ? './parse-worker-from-source.mjs' : './parse-worker.js', import.meta.url);

type WorkerLimits = ParseLimits & { timeoutMs: number; maxMemoryMb: number };
type Reply = { id: number; ok: true; result: ParsedDocument } | { id: number; ok: false; message: string; reason: ParseError['reason'] };

let worker: Worker | undefined;
let workerMemoryMb = 0;
let nextId = 1;
const pending = new Map<number, { resolve: (p: ParsedDocument) => void; reject: (e: Error) => void }>();
/** One parse at a time: the worker is a single thread, and a timeout terminates it. */
let queue: Promise<unknown> = Promise.resolve();

function failAll(error: Error) {
  for (const { reject } of pending.values()) reject(error);
  pending.clear();
}

function ensureWorker(maxMemoryMb: number): Worker {
  if (worker && workerMemoryMb === maxMemoryMb) return worker;
  void worker?.terminate();
  const created = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: maxMemoryMb } });
  created.unref();
  created.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if (reply.ok) waiter.resolve(reply.result);
    else waiter.reject(new ParseError(reply.message, reply.reason));
  });
  created.on('error', (error) => {
    failAll(
      new ParseError(
        /memory/i.test(error.message)
          ? `Reading this file needed more than ${maxMemoryMb} MB of memory, the limit.`
          : `This file cannot be read: ${error.message}`,
        'limit',
      ),
    );
  });
  created.on('exit', () => {
    if (worker === created) worker = undefined;
    failAll(new ParseError('The reader stopped unexpectedly.', 'corrupt'));
  });
  worker = created;
  workerMemoryMb = maxMemoryMb;
  return created;
}

/**
 * Parses in a long-lived worker thread with a time limit and a memory cap; past either, the thread
 * is terminated (and started afresh for the next file) and this file fails alone.
 */
export function parseInWorker(bytes: Uint8Array, type: SupportedType, limits: WorkerLimits): Promise<ParsedDocument> {
  const run = () =>
    new Promise<ParsedDocument>((resolve, reject) => {
      const id = nextId++;
      const target = ensureWorker(limits.maxMemoryMb);
      const timer = setTimeout(() => {
        pending.delete(id);
        if (worker === target) worker = undefined;
        void target.terminate();
        reject(
          new ParseError(`Reading this file took longer than ${Math.max(1, Math.round(limits.timeoutMs / 1000))} s, the limit.`, 'timeout'),
        );
      }, limits.timeoutMs);
      pending.set(id, {
        resolve: (parsed) => {
          clearTimeout(timer);
          resolve(parsed);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      const { timeoutMs: _t, maxMemoryMb: _m, ...parseLimits } = limits;
      target.postMessage({ id, bytes, type, limits: parseLimits });
    });
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

/** Stops the worker thread (at shutdown). */
export async function stopParseWorker(): Promise<void> {
  const current = worker;
  worker = undefined;
  await current?.terminate();
}
