import type {
  Collection,
  CollectionAccess,
  CollectionRole,
  DocumentInfo,
  DocumentMetadata,
  DocumentStatus,
  SearchFilters,
} from '@axon/contracts';

export interface CollectionRecord extends Omit<Collection, 'access' | 'documentCount'> {}

export interface CollectionRepository {
  /** Creates a collection; `conflict` when the owner has one of that name. */
  create(input: {
    ownerId: string;
    name: string;
    description?: string | undefined;
    visibility?: Collection['visibility'] | undefined;
    organisationRole?: CollectionRole | undefined;
  }): Promise<CollectionRecord>;
  findByName(ownerId: string, name: string): Promise<CollectionRecord | undefined>;
  /** The collection with the caller's access to it; undefined when it does not exist or they may not read it. */
  getForUser(id: string, userId: string): Promise<Collection | undefined>;
  /** Every collection the user may read, with their access. */
  listForUser(userId: string): Promise<Collection[]>;
  update(
    id: string,
    patch: Partial<
      Pick<CollectionRecord, 'name' | 'description' | 'visibility' | 'organisationRole' | 'topK' | 'minScore' | 'mmr' | 'rerank'>
    >,
  ): Promise<void>;
  delete(id: string): Promise<void>;
  setMembers(id: string, members: Array<{ userId: string; role: CollectionRole }>): Promise<void>;
  listMembers(id: string): Promise<Array<{ userId: string; email: string; role: CollectionRole }>>;
  /** Of `ids`, those the user may read (the same rule the search applies in its query). */
  readableIds(userId: string, ids: string[]): Promise<string[]>;
  /** The embedding model and dimension the collection's vectors were made with. */
  getEmbedding(id: string): Promise<{ model: string | null; dimensions: number | null }>;
  setEmbedding(id: string, model: string | null, dimensions: number | null): Promise<void>;
  /** Collections with documents whose vectors were made with another model than `model` (or none). */
  listNeedingEmbedding(model: string): Promise<string[]>;
}

export interface DocumentRecord extends DocumentInfo {
  sha256: string;
  chars: number | null;
  createdBy: string | null;
}

export interface DocumentRepository {
  /** Adds a document, or returns the existing one when the collection already holds the same bytes. */
  create(input: {
    id?: string;
    collectionId: string;
    name: string;
    mime: string;
    size: number;
    sha256: string;
    createdBy: string | null;
  }): Promise<{ document: DocumentRecord; created: boolean }>;
  get(id: string): Promise<DocumentRecord | undefined>;
  listByCollection(collectionId: string): Promise<DocumentRecord[]>;
  /** A document's chunks in reading order, as passages (score 0). */
  listChunks(documentId: string): Promise<ScoredChunk[]>;
  setStatus(
    id: string,
    status: DocumentStatus,
    details?: { error?: string | null; pages?: number | null; chars?: number | null; chunkCount?: number },
  ): Promise<void>;
  /** Replaces the stored file content hash after a re-upload under the same name. */
  delete(id: string): Promise<void>;
  saveText(id: string, text: string): Promise<void>;
  /**
   * Sets a document's date (with where it came from) and/or replaces its metadata fields. A date
   * found at indexing time (`metadata`, `name`, `text`) does not replace one set by hand (`manual`).
   */
  describe(
    id: string,
    patch: {
      date?: { value: string | null; source: NonNullable<DocumentInfo['dateSource']> } | undefined;
      metadata?: DocumentMetadata | undefined;
    },
  ): Promise<void>;
  getText(id: string): Promise<string | undefined>;
}

export interface ChunkInput {
  ordinal: number;
  text: string;
  page?: number | undefined;
  section?: string | undefined;
  startOffset: number;
  endOffset: number;
  tokenCount: number;
}

export interface ScoredChunk {
  chunkId: string;
  documentId: string;
  documentName: string;
  collectionId: string;
  text: string;
  page: number | null;
  section: string | null;
  startOffset: number;
  endOffset: number;
  /** The document's date (YYYY-MM-DD), if it has one. */
  documentDate?: string | null;
  /** Higher is better; comparable within one result list. */
  score: number;
}

/** What every search takes: who asks, in which collections, how many, and which documents count. */
export interface SearchScope {
  userId: string;
  collectionIds: string[];
  k: number;
  /** Only chunks of documents passing these (dates, metadata fields) are ranked. */
  filter?: SearchFilters | undefined;
}

/** The search index seam: chunks in, permission-filtered ranked passages out. */
export interface SearchIndex {
  /** Replaces every chunk of a document (re-indexing). */
  replaceChunks(document: { id: string; collectionId: string }, chunks: ChunkInput[]): Promise<void>;
  deleteDocument(documentId: string): Promise<void>;
  /**
   * Full-text (BM25) search over the chunks of `collectionIds` that `userId` may read; the
   * permission rule is part of the query, so unreadable chunks are never ranked or returned.
   */
  searchText(query: string, options: SearchScope): Promise<ScoredChunk[]>;
  /** Stores one vector per chunk of a document, by chunk ordinal. */
  upsertVectors(documentId: string, vectors: number[][]): Promise<void>;
  /**
   * Nearest chunks by cosine similarity among the collections `userId` may read; the score is the
   * similarity (higher is better). Each readable collection is searched in its own partition.
   */
  searchVector(vector: number[], options: SearchScope): Promise<ScoredChunk[]>;
  /**
   * Full-text and vector rankings, each `depth` deep, fused by reciprocal rank; the details of the
   * k best only are read.
   */
  searchFused(query: string, vector: number[], options: SearchScope & { depth: number }): Promise<ScoredChunk[]>;
  /** Builds whatever the searches need in memory, so that the first query does not pay for it. */
  warm(): Promise<void>;
}

export interface IngestJob {
  id: string;
  documentId: string;
  attempts: number;
}

/** Who holds a running job, and for how long unless renewed. */
export interface IngestJobLease {
  /** The worker (one queue of one process) that runs the job. */
  workerId: string;
  /** How long from now the hold lasts; a job whose hold has lapsed is taken to be left by a dead worker. */
  leaseMs: number;
}

export interface IngestJobRepository {
  enqueue(documentId: string): Promise<void>;
  /**
   * Takes the oldest job that is queued, or running under a lease that has expired (its worker
   * died), marking it running under `lease`; undefined when there is none.
   */
  claimNext(lease: IngestJobLease): Promise<IngestJob | undefined>;
  /** Extends the lease on those of `ids` that `lease.workerId` still holds (a job another worker took over is left alone). */
  renew(ids: string[], lease: IngestJobLease): Promise<void>;
  finish(id: string, state: 'done' | 'failed'): Promise<void>;
  /**
   * Puts running jobs whose lease has expired (their worker died or stopped) back in the queue;
   * returns how many. Jobs under a live lease are left to the worker running them.
   */
  requeueExpired(): Promise<number>;
}

export type { CollectionAccess };
