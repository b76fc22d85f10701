import type { Readable } from 'node:stream';
import { AppError } from '../errors';

/** A stored blob, read when asked. */
export interface StoredBlob {
  /** Its length in bytes. */
  size: number;
  /** Its bytes as a stream, read piece by piece as the consumer pulls (a download does not hold the whole file). */
  stream(): Readable;
  /** All its bytes at once. */
  bytes(): Promise<Uint8Array>;
}

/**
 * Where uploaded originals and dataset files are kept, by key (`files/<document id>`,
 * `datasets/<org>/<file>`). Implementations: the data directory (embedded) and PostgreSQL (every
 * replica reads what any replica wrote). An S3-compatible store is a third implementation of these
 * three members.
 */
export interface BlobStore {
  /** Stores `bytes` under `key`, replacing what was there; once it resolves, every reader of the store sees them. */
  put(key: string, bytes: Uint8Array, options?: { contentType?: string | undefined }): Promise<void>;
  /** The blob under `key`; undefined when there is none. */
  get(key: string): Promise<StoredBlob | undefined>;
  /** Removes the blob under `key`; nothing happens when there is none. */
  delete(key: string): Promise<void>;
}

/** Letters, digits, `.`, `_` and `-` in `/`-separated segments, none of them `.` or `..`. */
const KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

/** Refuses a key that could name something outside the store (an absolute path, `..`) or is empty. */
export function checkBlobKey(key: string): string {
  if (key.length === 0 || key.length > 512 || !KEY.test(key))
    throw new AppError('validation_failed', {
      detail: `"${key.slice(0, 80)}" is not a blob key (segments of letters, digits, ., _ and -).`,
    });
  return key;
}

/** The key of a document's uploaded original. */
export const originalKey = (documentId: string) => `files/${documentId}`;
