import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import pino from 'pino';
import type { BlobStore } from '../blobs/blob-store';
import { openBlobStore } from '../blobs/open-blob-store';
import type { Config } from '../config';
import { AppError } from '../errors';
import { createIngestionService } from '../rag/ingest/ingestion-service';
import { ingestionLimits } from '../server';
import { HOME_ORG_ID, type Store } from '../store';

/**
 * Every file under the given paths (folders are walked, hidden entries skipped), with the name it
 * gets in the collection: its path from the folder given, folder name included (`minutes/2021.txt`),
 * so that same-named files of different folders stay apart.
 */
async function collectFiles(paths: string[]): Promise<Array<{ path: string; name: string }>> {
  const files: Array<{ path: string; name: string }> = [];
  const walk = async (path: string, name: string) => {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new AppError('not_found', { detail: `${path} does not exist` });
    if (info.isDirectory()) {
      for (const entry of (await readdir(path)).sort()) if (!entry.startsWith('.')) await walk(join(path, entry), `${name}/${entry}`);
    } else if (info.isFile()) files.push({ path, name });
  };
  for (const path of paths) await walk(resolve(path), basename(resolve(path)));
  return files;
}

function bar(done: number, total: number, width = 24): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
}

export interface IngestCommandOptions {
  collection: string;
  user?: string | undefined;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where the originals go (by default the store's: PostgreSQL, or the data directory's `files/`). */
  blobs?: BlobStore | undefined;
}

/**
 * `axon ingest PATH... --collection NAME [--user EMAIL]`: adds files and folders to a collection
 * (created when missing, owned by the user or else the first admin) and indexes them here, with a
 * progress bar. Returns how many files failed.
 */
export async function runIngest(config: Config, store: Store, paths: string[], options: IngestCommandOptions): Promise<number> {
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  const users = await store.users.list(HOME_ORG_ID);
  const owner = options.user ? await store.users.findByEmail(options.user) : users.find((u) => u.role === 'admin');
  if (!owner)
    throw new AppError('not_found', {
      detail: options.user
        ? `No account for ${options.user}`
        : 'No admin account exists yet; create one first (axon user create --role admin).',
    });
  const collection =
    (await store.collections.findByName(owner.id, options.collection)) ??
    (await store.collections.create({ ownerId: owner.id, name: options.collection }));
  const files = await collectFiles(paths);
  const ingestion = createIngestionService({
    store,
    blobs: options.blobs ?? openBlobStore(config, store),
    limits: ingestionLimits(config),
    chunking: { maxTokens: config.rag.chunkTokens, overlapTokens: config.rag.chunkOverlapTokens },
    logger: pino({ level: 'silent' }),
  });
  const tracked = new Map<string, string>();
  const failures: Array<[string, string]> = [];
  let added = 0;
  for (const { path: file, name } of files) {
    const result = await ingestion.addFile({
      collectionId: collection.id,
      userId: owner.id,
      name,
      bytes: new Uint8Array(await readFile(file)),
    });
    if ('error' in result) failures.push([file, result.error]);
    else if (result.duplicateOf) out.write(`= ${file}: already in the collection\n`);
    else {
      tracked.set(result.document.id, file);
      added++;
    }
  }
  await ingestion.start();
  const render = (done: number, current: string) => {
    if (err.isTTY) err.write(`\r${bar(done, tracked.size)} ${current.slice(0, 60).padEnd(60)}`);
  };
  for (;;) {
    let done = 0;
    let current = '';
    for (const id of tracked.keys()) {
      const document = await store.documents.get(id);
      if (!document || document.status === 'ready' || document.status === 'failed') done++;
      else current ||= `${document.name}: ${document.status}`;
    }
    render(done, current);
    if (done === tracked.size) break;
    await new Promise((r) => setTimeout(r, 150));
  }
  await ingestion.stop();
  if (err.isTTY) err.write('\n');
  for (const [id, file] of tracked) {
    const document = await store.documents.get(id);
    if (document?.status === 'failed') failures.push([file, document.error ?? 'failed']);
    else if (document) out.write(`+ ${file}: ${document.chunkCount} passages${document.pages ? `, ${document.pages} pages` : ''}\n`);
  }
  for (const [file, reason] of failures) out.write(`! ${file}: ${reason}\n`);
  out.write(
    `${added - failures.filter(([f]) => [...tracked.values()].includes(f)).length} of ${files.length} file(s) indexed into "${collection.name}" (owner ${owner.email}); ${failures.length} failed.\n`,
  );
  return failures.length;
}
