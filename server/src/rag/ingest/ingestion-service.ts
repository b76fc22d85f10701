import { createHash, randomUUID } from 'node:crypto';
import type { DocumentInfo } from '@axon/contracts';
import type { Logger } from 'pino';
import { type BlobStore, originalKey } from '../../blobs/blob-store';
import type { JobHandler, JobQueue, QueuedJob, RetryPolicy } from '../../jobs/job-queue';
import { createTableJobQueue, type IngestJobData } from '../../jobs/table-job-queue';
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
  /** Whether images and scanned PDF pages are read by OCR. */
  ocr?: boolean | undefined;
}

export interface IngestionOptions {
  store: Store;
  /** Where uploaded originals are kept, under `files/<document id>` (for indexing, download and re-indexing). */
  blobs: BlobStore;
  /**
   * The queue documents wait in to be indexed (BullMQ on Redis when replicas share the work); by
   * default the store's table, worked by this process. `stop` closes it.
   */
  queue?: JobQueue<IngestJobData> | undefined;
  /** Tries per document and the wait after the first failed one (doubled after each), for the default queue. */
  retry?: RetryPolicy | undefined;
  /** Documents the default queue indexes at once (one per parse thread by default). */
  concurrency?: number | undefined;
  limits: IngestionLimits;
  chunking: { maxTokens: number; overlapTokens: number };
  logger: Logger;
  /** Makes vectors for the chunks; without one, documents are indexed for full-text search only. */
  embedder?: Embedder | undefined;
  /** Called whenever a document's status changes. */
  onProgress?: (document: DocumentRecord) => void;
  /** Called when a document of the collection has been indexed (what search finds in it changed). */
  onIndexed?: (collectionId: string) => void;
  /** How often the default queue looks for jobs queued by another process (the CLI); 0 never looks. */
  pollMs?: number;
}

/** Tries per document unless configured: a failure that is not the file's fault (the embedder, the database) is tried again. */
export const DEFAULT_INGEST_RETRY: RetryPolicy = { attempts: 3, backoffMs: 2000 };

const SERVER_FAILURE = 'Indexing failed on the server; the logs have the details.';

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
  /** Starts working the queue (jobs a stop or a crash interrupted are taken again). */
  start(): Promise<void>;
  /** Resolves when the queue is empty and nothing is running. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function createIngestionService(options: IngestionOptions): IngestionService {
  const { store, blobs, limits, logger } = options;
  const queue =
    options.queue ??
    createTableJobQueue({
      jobs: store.ingestJobs,
      concurrency: options.concurrency ?? PARSE_CONCURRENCY,
      retry: options.retry ?? DEFAULT_INGEST_RETRY,
      pollMs: options.pollMs,
      onRequeued: (requeued) => logger.info({ requeued }, 'resuming interrupted indexing jobs'),
      onError: (error) => logger.error({ err: error }, 'ingest queue failed'),
    });

  async function setStatus(id: string, status: DocumentRecord['status'], details?: Parameters<Store['documents']['setStatus']>[2]) {
    await store.documents.setStatus(id, status, details);
    const document = await store.documents.get(id);
    if (document) options.onProgress?.(document);
  }

  /**
   * Parses, chunks and indexes one document. A file that cannot be read fails at once, with the
   * reason; any other failure is thrown for the queue to try again (the document shows `queued`
   * meanwhile), and the queue reports the last one to `failed` below.
   */
  async function indexDocument(job: QueuedJob<IngestJobData>) {
    const document = await store.documents.get(job.data.documentId);
    if (!document) return;
    try {
      await setStatus(document.id, 'parsing', { error: null });
      const original = await blobs.get(originalKey(document.id));
      if (!original) throw new ParseError('The uploaded file is missing; upload it again.', 'corrupt');
      const bytes = await original.bytes();
      const parsed = await parseInWorker(
        bytes,
        document.mime as Parameters<typeof parseInWorker>[1],
        {
          maxPages: limits.maxPages,
          maxDecompressedBytes: limits.maxDecompressedBytes,
          maxChars: limits.maxChars,
          maxCsvRows: limits.maxCsvRows,
          ocr: limits.ocr,
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
      options.onIndexed?.(document.collectionId);
      logger.info({ documentId: document.id, chunks: chunks.length, pages: parsed.pages }, 'document indexed');
    } catch (error) {
      if (error instanceof ParseError) {
        await setStatus(document.id, 'failed', { error: error.message });
        return;
      }
      if (job.attempt < job.attempts) {
        logger.warn(
          { err: error, documentId: document.id, attempt: job.attempt, attempts: job.attempts },
          'indexing failed; it will be tried again',
        );
        await setStatus(document.id, 'queued').catch(() => undefined);
      }
      throw error;
    }
  }

  const handler: JobHandler<IngestJobData> = {
    run: indexDocument,
    async failed(job, error) {
      logger.error({ err: error, documentId: job.data.documentId, attempts: job.attempts }, 'indexing failed');
      if (await store.documents.get(job.data.documentId)) await setStatus(job.data.documentId, 'failed', { error: SERVER_FAILURE });
    },
  };

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
      try {
        await blobs.put(originalKey(document.id), bytes, { contentType: mime });
      } catch (error) {
        await store.documents.delete(document.id);
        throw error;
      }
      // The same name with new content replaces the earlier document.
      for (const other of await store.documents.listByCollection(collectionId)) {
        if (other.id !== document.id && other.name === name) await this.deleteDocument(other);
      }
      await queue.enqueue({ documentId: document.id });
      options.onProgress?.(document);
      return { document };
    },
    async deleteDocument(document) {
      await store.documents.delete(document.id);
      await blobs.delete(originalKey(document.id));
    },
    async start() {
      await queue.work(handler);
      if (options.embedder) {
        // A collection embedded with another model (or none) is re-indexed with this one.
        for (const collectionId of await store.collections.listNeedingEmbedding(options.embedder.model)) {
          const documents = (await store.documents.listByCollection(collectionId)).filter((d) => d.status === 'ready');
          for (const document of documents) await queue.enqueue({ documentId: document.id });
          await store.collections.setEmbedding(collectionId, options.embedder.model, null);
          logger.info(
            { collectionId, documents: documents.length, model: options.embedder.model },
            're-embedding a collection for a new embedding model',
          );
        }
      }
    },
    idle: () => queue.idle(),
    async stop() {
      await queue.close();
      await stopParseWorker();
    },
  };
}
