import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { create as createTar } from 'tar';
import serverPackage from '../../package.json' with { type: 'json' };
import { AppError } from '../errors';
import {
  type BackupManifest,
  type BackupMember,
  countRows,
  DATABASE_MEMBER,
  FILES_MEMBER,
  integrityProblems,
  MANIFEST_MEMBER,
  ORIGINAL_NAME,
  schemaVersionOf,
  sha256OfFile,
} from './backup-manifest';

export interface CreateBackupOptions {
  /** The data directory: `axon.db` and the uploaded originals in `files/`. */
  dataDir: string;
  /** The archive to write (a gzipped tar). */
  to: string;
  /** Replace `to` if it exists. */
  force?: boolean;
  now?: () => Date;
  /**
   * How long to keep retrying originals that a document row names but that are missing or not
   * completely written yet (an upload stores its row just before its bytes).
   */
  originalsWaitMs?: number;
}

export interface BackupResult {
  path: string;
  bytes: number;
  manifest: BackupManifest;
}

/**
 * Writes one archive holding a consistent copy of the database, the uploaded originals it refers
 * to and a manifest with their checksums. Safe while the server runs and writes: the database is
 * copied with SQLite's online backup API in one step, inside one read transaction, which in WAL
 * mode does not hold writers up.
 */
export async function createBackup(options: CreateBackupOptions): Promise<BackupResult> {
  const now = options.now ?? (() => new Date());
  const out = resolve(options.to);
  if (existsSync(out) && !options.force) throw new AppError('conflict', { detail: `${out} exists: pass --force to replace it` });
  const dbPath = resolve(options.dataDir, 'axon.db');
  if (!existsSync(dbPath)) throw new AppError('not_found', { detail: `no database at ${dbPath} (check AXON_DATA_DIR)` });
  const filesDir = resolve(options.dataDir, 'files');

  await mkdir(dirname(out), { recursive: true });
  // Next to the archive, so that the finished file is renamed into place on the same file system.
  const staging = await mkdtemp(join(dirname(out), '.axon-backup-'));
  try {
    const stagedDb = join(staging, DATABASE_MEMBER);
    const createdAt = now().toISOString();
    await snapshotDatabase(dbPath, stagedDb);
    const snapshot = inspectSnapshot(stagedDb);

    await mkdir(join(staging, FILES_MEMBER));
    const { copied, missing } = await copyOriginals(
      snapshot.documents,
      filesDir,
      join(staging, FILES_MEMBER),
      options.originalsWaitMs ?? 2000,
    );

    const members: BackupMember[] = [
      { path: DATABASE_MEMBER, bytes: (await stat(stagedDb)).size, sha256: await sha256OfFile(stagedDb) },
      ...copied.map((d) => ({ path: `${FILES_MEMBER}/${d.id}`, bytes: d.size, sha256: d.sha256 })),
    ];
    const manifest: BackupManifest = {
      format: 'axon-backup',
      formatVersion: 1,
      axonVersion: serverPackage.version,
      schemaVersion: snapshot.schemaVersion,
      createdAt,
      counts: { tables: snapshot.counts, originals: copied.length },
      missingOriginals: missing,
      members,
    };
    await writeFile(join(staging, MANIFEST_MEMBER), `${JSON.stringify(manifest, null, 2)}\n`);

    const partial = join(staging, 'backup.tar.gz');
    await createTar({ gzip: true, file: partial, cwd: staging, portable: true }, [MANIFEST_MEMBER, DATABASE_MEMBER, FILES_MEMBER]);
    if (options.force) await rename(partial, out);
    else {
      // A link fails if the name was taken in the meantime, where a rename would replace it.
      await link(partial, out).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST') throw new AppError('conflict', { detail: `${out} exists: pass --force to replace it` });
        throw error;
      });
    }
    return { path: out, bytes: (await stat(out)).size, manifest };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Copies the live database page by page in a single step, so the copy is one point in time. */
async function snapshotDatabase(dbPath: string, target: string): Promise<void> {
  // No migrations: the backup holds the schema as it is, whichever Axon wrote it.
  const source = new Database(dbPath, { fileMustExist: true, timeout: 5000 });
  try {
    // Every remaining page in the next step: a backup split into steps starts over whenever
    // another process writes between two of them, and might never finish under steady writes.
    await source.backup(target, { progress: () => 0x7fffffff });
  } finally {
    source.close();
  }
}

interface SnapshotDocument {
  id: string;
  size: number;
  sha256: string;
}

function inspectSnapshot(path: string) {
  const db = new Database(path, { fileMustExist: true });
  try {
    sqliteVec.load(db);
    // One self-contained file: no -wal beside it.
    db.pragma('journal_mode = DELETE');
    const problems = integrityProblems(db);
    if (problems.length > 0)
      throw new AppError('internal', { detail: `the database failed its integrity check: ${problems.slice(0, 3).join('; ')}` });
    const hasDocuments = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'documents'").get();
    const documents = hasDocuments ? (db.prepare('SELECT id, size, sha256 FROM documents ORDER BY id').all() as SnapshotDocument[]) : [];
    return { schemaVersion: schemaVersionOf(db), counts: countRows(db), documents };
  } finally {
    db.close();
  }
}

/**
 * Copies the original of every document in the snapshot, checking each copy against the SHA-256
 * its row records; a missing or partial one is retried until `waitMs` has passed.
 */
async function copyOriginals(documents: SnapshotDocument[], from: string, to: string, waitMs: number) {
  const copied: SnapshotDocument[] = [];
  let pending = documents.filter((d) => ORIGINAL_NAME.test(d.id));
  const deadline = Date.now() + waitMs;
  for (;;) {
    const retry: SnapshotDocument[] = [];
    for (const document of pending) {
      const target = join(to, document.id);
      try {
        await copyFile(join(from, document.id), target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        retry.push(document);
        continue;
      }
      if ((await sha256OfFile(target)) === document.sha256) copied.push(document);
      else retry.push(document);
    }
    pending = retry;
    if (pending.length === 0 || Date.now() >= deadline) break;
    await sleep(100);
  }
  for (const document of pending) await rm(join(to, document.id), { force: true });
  copied.sort((a, b) => a.id.localeCompare(b.id));
  return { copied, missing: pending.map((d) => d.id) };
}
