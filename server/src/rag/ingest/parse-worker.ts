// Runs one parse in a worker thread, so that a slow or hostile file can be stopped (terminated)
// at the time limit without stopping the server. See parse-in-worker.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { parseDocument } from './parse-document';
import { ParseError } from './parsed-document';

const { bytes, type, limits } = workerData as {
  bytes: Uint8Array;
  type: Parameters<typeof parseDocument>[1];
  limits: Parameters<typeof parseDocument>[2];
};
parseDocument(bytes, type, limits).then(
  (result) => parentPort?.postMessage({ ok: true, result }),
  (error: unknown) =>
    parentPort?.postMessage({
      ok: false,
      message: error instanceof Error ? error.message : String(error),
      reason: error instanceof ParseError ? error.reason : 'corrupt',
    }),
);
