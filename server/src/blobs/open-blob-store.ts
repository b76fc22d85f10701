import { resolve } from 'node:path';
import type { Config } from '../config';
import type { BlobStore } from './blob-store';
import { createDataDirBlobStore } from './data-dir-blob-store';
import { type BlobPool, createPostgresBlobStore } from './postgres-blob-store';

/**
 * The blob store every replica reads, when the store is shared: PostgreSQL's `blobs` table when the
 * store is PostgreSQL (it carries its pool); undefined for the SQLite file.
 */
export function sharedBlobStore(store: object): BlobStore | undefined {
  const pool = 'pool' in store ? (store.pool as BlobPool | undefined) : undefined;
  return pool ? createPostgresBlobStore(pool) : undefined;
}

/** The blob store that goes with the store: the shared one, else the data directory. */
export function openBlobStore(config: Pick<Config, 'dataDir'>, store: object): BlobStore {
  return sharedBlobStore(store) ?? createDataDirBlobStore(resolve(config.dataDir));
}
