import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BlobStore } from '../../blobs/blob-store';
import { AppError } from '../../errors';
import type { InvalidationBus } from '../../invalidation/invalidation-bus';

/**
 * The SQLite files of the agents' datasets. A dataset is built in a local folder; with a shared
 * blob store it is also stored there, and another replica copies it into its own folder the first
 * time a query needs it. A file name is new at every load, so a replaced dataset is a new file: a
 * cached copy is never stale, and the replaced one is dropped from every replica's folder.
 */
export interface DatasetFiles {
  /** The local folder files are built in (`<dir>/<file>`) and cached in. */
  readonly dir: string;
  /** Shares the file just built at `<dir>/<file>` with the other replicas (nothing to do without a shared store). */
  publish(file: string): Promise<void>;
  /** Where `file` can be opened on this machine; copied from the shared store on first use. */
  localPath(file: string): Promise<string>;
  /** Removes `file` here, from the shared store and from the other replicas' folders. */
  remove(file: string): Promise<void>;
}

export interface DatasetFilesOptions {
  dir: string;
  /** The store every replica reads (PostgreSQL); without it the files live only in `dir`. */
  blobs?: BlobStore | undefined;
  /** Tells the other replicas to drop a removed file from their folders. */
  bus?: InvalidationBus | undefined;
}

const blobKey = (file: string) => `datasets/${file}`;

export function createDatasetFiles(options: DatasetFilesOptions): DatasetFiles {
  const { dir, blobs, bus } = options;
  const pathOf = (file: string) => {
    if (file.split(/[\\/]/).some((part) => part === '..' || part === ''))
      throw new AppError('validation_failed', { detail: 'Not a dataset file.' });
    return join(dir, file);
  };
  const fetching = new Map<string, Promise<string>>();

  async function fetchCopy(file: string, path: string): Promise<string> {
    const blob = await blobs?.get(blobKey(file));
    if (!blob) throw new AppError('not_found', { detail: 'The dataset file is missing; load the dataset again.' });
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.${randomBytes(4).toString('hex')}.partial`;
    try {
      await writeFile(partial, await blob.bytes());
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return path;
  }

  if (blobs) bus?.subscribe('dataset-files', (file) => file !== undefined && void rm(pathOf(file), { force: true }).catch(() => undefined));

  return {
    dir,
    async publish(file) {
      if (blobs) await blobs.put(blobKey(file), new Uint8Array(await readFile(pathOf(file))), { contentType: 'application/vnd.sqlite3' });
    },
    async localPath(file) {
      const path = pathOf(file);
      if (!blobs || existsSync(path)) return path;
      let pending = fetching.get(file);
      if (!pending) {
        pending = fetchCopy(file, path).finally(() => fetching.delete(file));
        fetching.set(file, pending);
      }
      return pending;
    },
    async remove(file) {
      await rm(pathOf(file), { force: true });
      if (blobs) {
        await blobs.delete(blobKey(file));
        bus?.publish('dataset-files', file);
      }
    },
  };
}
