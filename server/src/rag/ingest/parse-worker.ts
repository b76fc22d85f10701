// The parse worker: a long-lived thread that parses one file at a time on request, so that a slow or
// hostile file can be stopped (the thread terminated) at the time limit without stopping the server.
import { parentPort } from 'node:worker_threads';
import { type ChunkOptions, chunkDocument } from './chunk-document';
import { parseDocument } from './parse-document';
import { ParseError } from './parsed-document';

interface ParseRequest {
  id: number;
  bytes: Uint8Array;
  type: Parameters<typeof parseDocument>[1];
  limits: Parameters<typeof parseDocument>[2];
  /** When given, the document is chunked here too (tokenizing is CPU work that parallelises). */
  chunking?: ChunkOptions;
}

parentPort?.on('message', ({ id, bytes, type, limits, chunking }: ParseRequest) => {
  parseDocument(bytes, type, limits).then(
    (parsed) =>
      parentPort?.postMessage({ id, ok: true, result: chunking ? { ...parsed, chunks: chunkDocument(parsed, chunking) } : parsed }),
    (error: unknown) =>
      parentPort?.postMessage({
        id,
        ok: false,
        message: error instanceof Error ? error.message : String(error),
        reason: error instanceof ParseError ? error.reason : 'corrupt',
      }),
  );
});
