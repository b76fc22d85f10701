import { Readable } from 'node:stream';
import type pg from 'pg';
import { type BlobStore, checkBlobKey } from './blob-store';

/** The part of a `pg` pool the store uses. */
export type BlobPool = Pick<pg.Pool, 'query' | 'connect'>;

export interface PostgresBlobStoreOptions {
  /**
   * Blobs larger than this are written and read in pieces of this size (default 4 MiB), so that
   * neither side holds a large file twice over as one hex-encoded query.
   */
  chunkBytes?: number;
}

const UPSERT = `ON CONFLICT (key) DO UPDATE SET bytes = EXCLUDED.bytes, size = EXCLUDED.size,
  content_type = EXCLUDED.content_type, created_at = EXCLUDED.created_at`;

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Blobs in the `blobs` table (key, bytes, size, content type), so that every replica reads what
 * any replica wrote. A large blob goes up in pieces into a temporary table and is joined in the
 * database in one statement; it is read back in slices (`substring`), one query per slice, as the
 * stream is pulled. A key is written once per document or dataset file, so slices of one read never
 * mix two versions in practice; a blob deleted while it is read ends the stream with an error.
 */
export function createPostgresBlobStore(pool: BlobPool, options: PostgresBlobStoreOptions = {}): BlobStore {
  const chunk = options.chunkBytes ?? 4 * 1_048_576;

  async function slice(key: string, from: number, length: number): Promise<Buffer> {
    // substring counts from 1.
    const { rows } = await pool.query<{ part: Buffer }>('SELECT substring(bytes FROM $2 FOR $3) AS part FROM blobs WHERE key = $1', [
      key,
      from + 1,
      length,
    ]);
    const part = rows[0]?.part;
    if (!part) throw new Error(`The blob ${key} was deleted while it was read.`);
    return part;
  }

  async function* pieces(key: string, size: number): AsyncGenerator<Buffer> {
    for (let at = 0; at < size; at += chunk) yield await slice(key, at, Math.min(chunk, size - at));
  }

  return {
    async put(key, bytes, putOptions = {}) {
      checkBlobKey(key);
      const contentType = putOptions.contentType ?? null;
      if (bytes.byteLength <= chunk) {
        await pool.query(`INSERT INTO blobs (key, bytes, size, content_type, created_at) VALUES ($1, $2, $3, $4, now()) ${UPSERT}`, [
          key,
          asBuffer(bytes),
          bytes.byteLength,
          contentType,
        ]);
        return;
      }
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('CREATE TEMP TABLE blob_parts (n INTEGER PRIMARY KEY, part BYTEA NOT NULL) ON COMMIT DROP');
        const buffer = asBuffer(bytes);
        for (let n = 0, at = 0; at < buffer.length; n++, at += chunk) {
          await client.query('INSERT INTO blob_parts (n, part) VALUES ($1, $2)', [n, buffer.subarray(at, at + chunk)]);
        }
        await client.query(
          `INSERT INTO blobs (key, bytes, size, content_type, created_at)
           SELECT $1, string_agg(part, ''::bytea ORDER BY n), $2, $3, now() FROM blob_parts ${UPSERT}`,
          [key, bytes.byteLength, contentType],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },

    async get(key) {
      checkBlobKey(key);
      const { rows } = await pool.query<{ size: number }>('SELECT length(bytes) AS size FROM blobs WHERE key = $1', [key]);
      const found = rows[0];
      if (!found) return undefined;
      const size = Number(found.size);
      return {
        size,
        stream: () => Readable.from(pieces(key, size), { objectMode: false }),
        async bytes() {
          if (size <= chunk) return new Uint8Array(await slice(key, 0, size));
          const all = Buffer.allocUnsafe(size);
          let at = 0;
          for await (const part of pieces(key, size)) {
            part.copy(all, at);
            at += part.length;
          }
          if (at !== size) throw new Error(`The blob ${key} changed while it was read.`);
          return new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
        },
      };
    },

    async delete(key) {
      checkBlobKey(key);
      await pool.query('DELETE FROM blobs WHERE key = $1', [key]);
    },
  };
}
