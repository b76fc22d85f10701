import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { BLOBS_TABLE_DDL } from '../testing/blobs-table';
import { createTestDatabase } from '../testing/postgres';
import { describeBlobStoreContract } from './blob-store-contract';
import { createDataDirBlobStore } from './data-dir-blob-store';
import { createPostgresBlobStore } from './postgres-blob-store';

// A file stream reads 64 KiB at a time.
describeBlobStoreContract('data directory', async () => {
  const root = mkdtempSync(join(tmpdir(), 'axon-blobs-'));
  return {
    stores: [createDataDirBlobStore(root), createDataDirBlobStore(root)],
    chunkBytes: 64 * 1024,
    close: async () => rmSync(root, { recursive: true, force: true }),
  };
});

describeBlobStoreContract('postgres', async () => {
  const database = await createTestDatabase();
  const pools = [new pg.Pool({ connectionString: database.url, max: 3 }), new pg.Pool({ connectionString: database.url, max: 3 })] as const;
  await pools[0].query(BLOBS_TABLE_DDL);
  const chunkBytes = 64 * 1024;
  return {
    stores: [createPostgresBlobStore(pools[0], { chunkBytes }), createPostgresBlobStore(pools[1], { chunkBytes })],
    chunkBytes,
    async close() {
      await Promise.all(pools.map((p) => p.end()));
      await database.drop();
    },
  };
});

describe('data directory blobs', () => {
  it('keeps originals where the data directory always had them (files/<id>), for backups', async () => {
    const root = mkdtempSync(join(tmpdir(), 'axon-blobs-'));
    try {
      await createDataDirBlobStore(root).put('files/doc-1', new TextEncoder().encode('original'));
      expect(readFileSync(join(root, 'files', 'doc-1'), 'utf8')).toBe('original');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('postgres blobs', () => {
  it('records the size and content type beside the bytes', async () => {
    const database = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    try {
      await pool.query(BLOBS_TABLE_DDL);
      const blobs = createPostgresBlobStore(pool, { chunkBytes: 1024 });
      await blobs.put('files/a', new Uint8Array(5000).fill(7), { contentType: 'text/plain' });
      const { rows } = await pool.query('SELECT size, content_type, length(bytes) AS length FROM blobs WHERE key = $1', ['files/a']);
      expect({ ...rows[0], size: Number(rows[0].size) }).toEqual({ size: 5000, content_type: 'text/plain', length: 5000 });
      expect((await (await blobs.get('files/a'))?.bytes())?.every((b) => b === 7)).toBe(true);
    } finally {
      await pool.end();
      await database.drop();
    }
  });
});
