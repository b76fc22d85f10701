import { Worker } from 'node:worker_threads';
import type { ParseLimits } from './parse-document';
import { type ParsedDocument, ParseError, type SupportedType } from './parsed-document';

// From the bundle (dist/cli.js) the worker is dist/parse-worker.js; from the sources it is a shim
// that loads the TypeScript worker through tsx.
const fromSource = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(fromSource ? './parse-worker-from-source.mjs' : './parse-worker.js', import.meta.url);

/** Parses in a worker thread with a time limit and a memory cap; past either the file fails alone. */
export function parseInWorker(
  bytes: Uint8Array,
  type: SupportedType,
  limits: ParseLimits & { timeoutMs: number; maxMemoryMb: number },
): Promise<ParsedDocument> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, {
      workerData: { bytes, type, limits },
      resourceLimits: { maxOldGenerationSizeMb: limits.maxMemoryMb },
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      fn();
    };
    const timer = setTimeout(
      () =>
        settle(() =>
          reject(new ParseError(`Reading this file took longer than ${Math.round(limits.timeoutMs / 1000)} s, the limit.`, 'timeout')),
        ),
      limits.timeoutMs,
    );
    worker.once('message', (message: { ok: true; result: ParsedDocument } | { ok: false; message: string; reason: ParseError['reason'] }) =>
      settle(() => (message.ok ? resolve(message.result) : reject(new ParseError(message.message, message.reason)))),
    );
    worker.once('error', (error) =>
      settle(() =>
        reject(
          new ParseError(
            /memory/i.test(error.message)
              ? `Reading this file needed more than ${limits.maxMemoryMb} MB of memory, the limit.`
              : `This file cannot be read: ${error.message}`,
            'limit',
          ),
        ),
      ),
    );
    worker.once('exit', (code) => settle(() => reject(new ParseError(`The reader stopped unexpectedly (exit ${code}).`, 'corrupt'))));
  });
}
