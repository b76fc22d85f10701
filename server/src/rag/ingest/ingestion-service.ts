import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DocumentInfo } from '@axon/contracts';
import type { Logger } from 'pino';
import type { Store } from '../../store';
import type { DocumentRecord } from '../../store/rag-store';
import type { Embedder } from '../embed/embedder';
import { detectDocumentDate } from './detect-document-date';
import { PARSE_CONCURRENCY, parseInWorker, stopParseWorker } from './parse-in-worker';
import { documentText, ParseError } from './parsed-document';
import { sniffType } from './sniff-type';

export interface IngestionLimits {
  maxFileBytes: number;
  maxPages: number;
  maxDecompressedBytes: number;
  maxChars: number;
  maxCsvRows: number;
  parseTimeoutMs: number;
  parseMemoryMb: number;
}

export interface IngestionOptions {
  store: Store;
  /** Where uploaded originals are kept (for download and re-indexing). */
  filesDir: string;
  limits: IngestionLimits;
  chunking: { maxTokens: number; overlapTokens: number };
  logger: Logger;
  /** Makes vectors for the chunks; without one, documents are indexed for full-text search only. */
  embedder?: Embedder | undefined;
  /** Called whenever a document's status changes. */
  onProgress?: (document: DocumentRecord) => void;
  /** How often to look for jobs queued by another process (the CLI); 0 never looks. */
  pollMs?: number;
}

export type AddFileResult = { document: DocumentInfo; duplicateOf?: string } | { error: string };

export interface IngestionService {
  /**
   * Checks one uploaded file (size, real type), stores it and queues it for parsing, chunking and
   * indexing. A file that breaks a limit fails alone, with the reason; the same content already in
   * the collection is reported as a duplicate; the same name with new content replaces the document.
   */
  addFile(input: { collectionId: string; userId: string | null; name: string; bytes: Uint8Array }): Promise<AddFileResult>;
  /** Removes a document, its chunks and its file. */
  deleteDocument(document: DocumentRecord): Promise<void>;
  /** Requeues jobs a stop interrupted and starts working the queue. */
  start(): Promise<void>;
  /** Resolves when the queue is empty and nothing is running. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function createIngestionService(options: IngestionOptions): IngestionService {
  const { store, filesDir, limits, logger } = options;
  let running: Promise<void> | undefined;
  let stopped = false;
  let idleWaiters: Array<() => void> = [];
  let poller: NodeJS.Timeout | undefined;
  const filePath = (id: string) => join(filesDir, id);

  async function setStatus(id: string, status: DocumentRecord['status'], details?: Parameters<Store['documents']['setStatus']>[2]) {
    await store.documents.setStatus(id, status, details);
    const document = await store.documents.get(id);
    if (document) options.onProgress?.(document);
  }

  async function processJob(job: { id: string; documentId: string }) {
    const document = await store.documents.get(job.documentId);
    if (!document) return store.ingestJobs.finish(job.id, 'done');
    try {
      await setStatus(document.id, 'parsing', { error: null });
      const bytes = new Uint8Array(await readFile(filePath(document.id)));
      const parsed = await parseInWorker(
        bytes,
        document.mime as Parameters<typeof parseInWorker>[1],
        {
          maxPages: limits.maxPages,
          maxDecompressedBytes: limits.maxDecompressedBytes,
          maxChars: limits.maxChars,
          maxCsvRows: limits.maxCsvRows,
          timeoutMs: limits.parseTimeoutMs,
          maxMemoryMb: limits.parseMemoryMb,
        },
        options.chunking,
      );
      await setStatus(document.id, 'chunking', { pages: parsed.pages ?? null });
      const text = documentText(parsed);
      const chunks = parsed.chunks;
      await setStatus(document.id, 'indexing', { chars: text.length });
      await store.documents.saveText(document.id, text);
      const date = detectDocumentDate({ name: document.name, metadataDate: parsed.date, text });
      if (date) await store.documents.describe(document.id, { date });
      await store.searchIndex.replaceChunks({ id: document.id, collectionId: document.collectionId }, chunks);
      if (options.embedder && chunks.length > 0) {
        const vectors = await options.embedder.embed(chunks.map((c) => (c.section ? `${c.section}\n${c.text}` : c.text)));
        await store.searchIndex.upsertVectors(document.id, vectors);
        const recorded = await store.collections.getEmbedding(document.collectionId);
        if (recorded.model !== options.embedder.model || recorded.dimensions !== (vectors[0]?.length ?? null)) {
          await store.collections.setEmbedding(document.collectionId, options.embedder.model, vectors[0]?.length ?? null);
        }
      }
      await setStatus(document.id, 'ready', { chunkCount: chunks.length });
      await store.ingestJobs.finish(job.id, 'done');
      logger.info({ documentId: document.id, chunks: chunks.length, pages: parsed.pages }, 'document indexed');
    } catch (error) {
      const message = error instanceof ParseError ? error.message : 'Indexing failed on the server; the logs have the details.';
      if (!(error instanceof ParseError)) logger.error({ err: error, documentId: document.id }, 'indexing failed');
      await setStatus(document.id, 'failed', { error: message });
      await store.ingestJobs.finish(job.id, 'failed');
    }
  }

  /**
   * Works the queue with as many jobs at once as there are parse threads. Each call tops the lanes
   * up: a lane that found the queue empty ends, and the next file queued starts it again.
   */
  let lanes = 0;
  let settled: () => void = () => {};
  function kick() {
    if (stopped) return;
    if (lanes === 0) running = new Promise<void>((resolve) => (settled = resolve));
    while (lanes < PARSE_CONCURRENCY) {
      lanes++;
      void (async () => {
        for (;;) {
          if (stopped) break;
          const job = await store.ingestJobs.claimNext();
          if (!job) break;
          await processJob(job);
        }
      })()
        .catch((error) => logger.error({ err: error }, 'ingest queue failed'))
        .finally(() => {
          if (--lanes > 0) return;
          running = undefined;
          settled();
          const waiters = idleWaiters;
          idleWaiters = [];
          for (const w of waiters) w();
        });
    }
  }

  return {
    async addFile({ collectionId, userId, name, bytes }) {
      if (bytes.length > limits.maxFileBytes) {
        return {
          error: `This file is ${(bytes.length / 1_048_576).toFixed(1)} MB; the limit is ${Math.round(limits.maxFileBytes / 1_048_576)} MB.`,
        };
      }
      let mime: string;
      try {
        mime = await sniffType(bytes, name);
      } catch (error) {
        if (error instanceof ParseError) return { error: error.message };
        throw error;
      }
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const id = randomUUID();
      const { document, created } = await store.documents.create({
        id,
        collectionId,
        name,
        mime,
        size: bytes.length,
        sha256,
        createdBy: userId,
      });
      if (!created) return { document, duplicateOf: document.id };
      await mkdir(filesDir, { recursive: true });
      await writeFile(filePath(document.id), bytes);
      // The same name with new content replaces the earlier document.
      for (const other of await store.documents.listByCollection(collectionId)) {
        if (other.id !== document.id && other.name === name) await this.deleteDocument(other);
      }
      await store.ingestJobs.enqueue(document.id);
      options.onProgress?.(document);
      kick();
      return { document };
    },
    async deleteDocument(document) {
      await store.documents.delete(document.id);
      await rm(filePath(document.id), { force: true });
    },
    async start() {
      const requeued = await store.ingestJobs.requeueRunning();
      if (requeued > 0) logger.info({ requeued }, 'resuming interrupted indexing jobs');
      if (options.embedder) {
        // A collection embedded with another model (or none) is re-indexed with this one.
        for (const collectionId of await store.collections.listNeedingEmbedding(options.embedder.model)) {
          const documents = (await store.documents.listByCollection(collectionId)).filter((d) => d.status === 'ready');
          for (const document of documents) await store.ingestJobs.enqueue(document.id);
          await store.collections.setEmbedding(collectionId, options.embedder.model, null);
          logger.info(
            { collectionId, documents: documents.length, model: options.embedder.model },
            're-embedding a collection for a new embedding model',
          );
        }
      }
      kick();
      if (options.pollMs) poller = setInterval(kick, options.pollMs).unref();
    },
    idle() {
      if (!running) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    async stop() {
      stopped = true;
      clearInterval(poller);
      await running;
      await stopParseWorker();
    },
  };
}
