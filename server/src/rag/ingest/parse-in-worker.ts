import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Chunk, ChunkOptions } from './chunk-document';
import type { ParseLimits } from './parse-document';
import { type ParsedDocument, ParseError, type SupportedType } from './parsed-document';

// From the bundle (dist/cli.js) the worker is dist/parse-worker.js; from the sources it is a shim
// that loads the TypeScript worker through tsx.
const fromSource = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(fromSource ? './parse-worker-from-source.mjs' : './parse-worker.js', import.meta.url);

type WorkerLimits = ParseLimits & { timeoutMs: number; maxMemoryMb: number };
type Parsed = ParsedDocument & { chunks?: Chunk[] };
type Reply = { id: number; ok: true; result: Parsed } | { id: number; ok: false; message: string; reason: ParseError['reason'] };

interface Slot {
  worker: Worker | undefined;
  memoryMb: number;
  /** One parse at a time per thread: a timeout terminates the thread. */
  queue: Promise<unknown>;
  /** Parses queued or running on this thread. */
  load: number;
  pending: Map<number, { resolve: (p: Parsed) => void; reject: (e: Error) => void }>;
}

/** Parse threads: one per core (at most 4), so that ingestion uses the machine. */
const slots: Slot[] = Array.from({ length: Math.max(1, Math.min(4, availableParallelism())) }, () => ({
  worker: undefined,
  memoryMb: 0,
  queue: Promise.resolve(),
  load: 0,
  pending: new Map(),
}));
let nextId = 1;

function ensureWorker(slot: Slot, maxMemoryMb: number): Worker {
  if (slot.worker && slot.memoryMb === maxMemoryMb) return slot.worker;
  void slot.worker?.terminate();
  const created = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: maxMemoryMb } });
  created.unref();
  // Only the slot's current thread answers for its parses: a thread stopped at the time limit may
  // exit after the next file's thread has started.
  const failAll = (error: Error) => {
    if (slot.worker !== created) return;
    for (const { reject } of slot.pending.values()) reject(error);
    slot.pending.clear();
  };
  created.on('message', (reply: Reply) => {
    const waiter = slot.pending.get(reply.id);
    if (!waiter) return;
    slot.pending.delete(reply.id);
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
    failAll(new ParseError('The reader stopped unexpectedly.', 'corrupt'));
    if (slot.worker === created) slot.worker = undefined;
  });
  slot.worker = created;
  slot.memoryMb = maxMemoryMb;
  return created;
}

/**
 * Parses in a long-lived worker thread with a time limit and a memory cap; past either, the thread
 * is terminated (and started afresh for the next file) and this file fails alone.
 */
export function parseInWorker(bytes: Uint8Array, type: SupportedType, limits: WorkerLimits): Promise<ParsedDocument>;
/** Parses and chunks in the worker thread. */
export function parseInWorker(
  bytes: Uint8Array,
  type: SupportedType,
  limits: WorkerLimits,
  chunking: ChunkOptions,
): Promise<ParsedDocument & { chunks: Chunk[] }>;
export function parseInWorker(bytes: Uint8Array, type: SupportedType, limits: WorkerLimits, chunking?: ChunkOptions): Promise<Parsed> {
  // The least busy thread (an idle one when there is one), not the next in turn: files differ in size.
  const slot = slots.reduce((best, s) => (s.load < best.load ? s : best));
  slot.load++;
  const run = () =>
    new Promise<Parsed>((resolve, reject) => {
      const id = nextId++;
      const target = ensureWorker(slot, limits.maxMemoryMb);
      const timer = setTimeout(() => {
        slot.pending.delete(id);
        if (slot.worker === target) slot.worker = undefined;
        void target.terminate();
        reject(
          new ParseError(`Reading this file took longer than ${Math.max(1, Math.round(limits.timeoutMs / 1000))} s, the limit.`, 'timeout'),
        );
      }, limits.timeoutMs);
      slot.pending.set(id, {
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
      target.postMessage({ id, bytes, type, limits: parseLimits, chunking });
    });
  const result = slot.queue.then(run, run).finally(() => {
    slot.load--;
  });
  slot.queue = result.catch(() => undefined);
  return result;
}

/** How many files can be parsed at once. */
export const PARSE_CONCURRENCY = slots.length;

/**
 * Stops the idle worker threads (at shutdown). A thread still parsing is left to finish: another
 * ingestion of this process (a server beside a CLI command run in it) may be waiting for it; the
 * threads do not keep the process alive.
 */
export async function stopParseWorker(): Promise<void> {
  await Promise.all(
    slots.map((slot) => {
      if (slot.load > 0) return undefined;
      const current = slot.worker;
      slot.worker = undefined;
      return current?.terminate();
    }),
  );
}
