import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type BlobStore, checkBlobKey } from './blob-store';

/**
 * Blobs as files under a folder (the data directory), a key's segments as folders: `files/<id>` is
 * `<dataDir>/files/<id>`, where backups look for originals. A put writes beside the file and renames
 * it into place, so a reader never sees half a file.
 */
export function createDataDirBlobStore(root: string): BlobStore {
  const pathOf = (key: string) => join(root, ...checkBlobKey(key).split('/'));
  return {
    async put(key, bytes) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      const partial = `${path}.${randomBytes(4).toString('hex')}.partial`;
      try {
        await writeFile(partial, bytes);
        await rename(partial, path);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
    },
    async get(key) {
      const path = pathOf(key);
      const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (!info?.isFile()) return undefined;
      return {
        size: info.size,
        stream: () => createReadStream(path),
        bytes: async () => new Uint8Array(await readFile(path)),
      };
    },
    async delete(key) {
      await rm(pathOf(key), { force: true });
    },
  };
}
