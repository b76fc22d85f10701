import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { extract } from 'tar';
import { AppError } from '../errors';
import { type ChainVerdict, verifyAuditChain } from '../observability/audit-chain';
import { openSqliteStore } from '../store';
import {
  type BackupManifest,
  BackupManifestSchema,
  countRows,
  DATABASE_MEMBER,
  FILES_MEMBER,
  fileStamp,
  integrityProblems,
  LATEST_SCHEMA_VERSION,
  MANIFEST_MEMBER,
  ORIGINAL_NAME,
  schemaVersionOf,
  sha256OfFile,
} from './backup-manifest';

export interface RestoreBackupOptions {
  /** The data directory to restore into. */
  dataDir: string;
  /** The archive `axon backup` wrote. */
  from: string;
  /** Restore even when the backup's audit trail does not verify (it is reported all the same). */
  allowBrokenAudit?: boolean;
  now?: () => Date;
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** The restored audit trail, verified as `axon audit verify` does. */
  audit: ChainVerdict;
  /** Schema migrations applied to bring an older backup up to this Axon. */
  migrated: number[];
  /** What was in the data directory before, renamed to `*.before-restore-<stamp>`. */
  movedAside: string[];
}

/** The data directory's members that a restore replaces. */
const REPLACED = ['axon.db', 'axon.db-wal', 'axon.db-shm', 'files'];

const damaged = (detail: string) => new AppError('validation_failed', { detail });

/**
 * Restores a backup into the data directory. Everything is checked on a copy first (checksums,
 * `PRAGMA integrity_check`, row counts, the audit chain); only then is the current database and
 * `files/` moved aside and the backup moved in. The server must be stopped: a database that
 * another process holds open is refused.
 */
export async function restoreBackup(options: RestoreBackupOptions): Promise<RestoreResult> {
  const now = options.now ?? (() => new Date());
  const archive = resolve(options.from);
  if (!existsSync(archive)) throw new AppError('not_found', { detail: `no backup at ${archive}` });
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const livePath = join(dataDir, 'axon.db');
  claimDatabase(livePath);

  // Inside the data directory, so that moving the restored files into place is a rename.
  const staging = await mkdtemp(join(dataDir, '.restore-'));
  try {
    const manifest = await unpack(archive, staging);
    await verifyMembers(manifest, staging);
    const stagedDb = join(staging, DATABASE_MEMBER);
    checkDatabase(stagedDb, manifest);

    // Brought up to this Axon's schema on the copy, so a failing migration leaves the data directory as it was.
    const store = openSqliteStore({ path: stagedDb, memoryIndex: false });
    let audit: ChainVerdict;
    try {
      audit = await verifyAuditChain(store.audit.all(), await store.audit.lastIssued());
    } finally {
      await store.close();
    }
    if (!audit.ok && !options.allowBrokenAudit)
      throw damaged(
        `the backup's audit trail is broken at row ${audit.seq}${audit.id ? ` (id ${audit.id})` : ''}: ${audit.reason}; nothing was changed (pass --allow-broken-audit to restore it anyway)`,
      );

    // A server may have started while the backup was checked.
    claimDatabase(livePath);
    const stamp = fileStamp(now());
    const movedAside: string[] = [];
    for (const name of REPLACED) {
      const current = join(dataDir, name);
      if (!existsSync(current)) continue;
      let aside = `${current}.before-restore-${stamp}`;
      for (let n = 2; existsSync(aside); n++) aside = `${current}.before-restore-${stamp}-${n}`;
      await rename(current, aside);
      movedAside.push(aside);
    }
    for (const name of [`${DATABASE_MEMBER}-wal`, `${DATABASE_MEMBER}-shm`]) await rm(join(staging, name), { force: true });
    await rename(stagedDb, livePath);
    await rename(join(staging, FILES_MEMBER), join(dataDir, 'files'));
    return { manifest, audit, migrated: store.migrated, movedAside };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Refuses a database that another process has open: in WAL mode every open connection holds a
 * shared lock on the file, so an exclusive lock is granted only when nobody else has it open.
 * Also folds the WAL into the file, so that the copy moved aside is complete on its own.
 */
function claimDatabase(path: string): void {
  if (!existsSync(path)) return;
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true, timeout: 0 });
  } catch {
    // Not a database one can open (damaged, say): nothing can be using it as one.
    return;
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (error) {
    if (String((error as { code?: string }).code).startsWith('SQLITE_BUSY'))
      throw new AppError('conflict', {
        detail: `${path} is in use (a running server or another axon command has it open): stop it, then restore`,
      });
  } finally {
    db.close();
  }
}

/** Unpacks the archive's expected members only, and reads the manifest. */
async function unpack(archive: string, staging: string): Promise<BackupManifest> {
  const unexpected: string[] = [];
  try {
    await extract({
      file: archive,
      cwd: staging,
      strict: true,
      filter: (path, entry) => {
        const name = path.replace(/^\.\//, '').replace(/\/$/, '');
        const type = 'type' in entry ? entry.type : undefined;
        const [top, inner, ...deeper] = name.split('/');
        const expected =
          (type === 'File' && (name === MANIFEST_MEMBER || name === DATABASE_MEMBER)) ||
          (type === 'Directory' && name === FILES_MEMBER) ||
          (type === 'File' && top === FILES_MEMBER && inner !== undefined && ORIGINAL_NAME.test(inner) && deeper.length === 0);
        if (!expected) unexpected.push(path);
        return expected;
      },
    });
  } catch (error) {
    throw damaged(`${archive} is not a readable Axon backup: ${(error as Error).message}`);
  }
  if (unexpected.length > 0) throw damaged(`${archive} holds entries an Axon backup does not: ${unexpected.slice(0, 5).join(', ')}`);
  let manifest: BackupManifest;
  try {
    const parsed = BackupManifestSchema.safeParse(JSON.parse(await readFile(join(staging, MANIFEST_MEMBER), 'utf8')));
    if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    manifest = parsed.data;
  } catch (error) {
    throw damaged(`${archive} has no valid ${MANIFEST_MEMBER}: ${(error as Error).message}`);
  }
  if (manifest.schemaVersion > LATEST_SCHEMA_VERSION)
    throw damaged(
      `the backup was made by a newer Axon (${manifest.axonVersion}, schema ${manifest.schemaVersion}; this one knows up to ${LATEST_SCHEMA_VERSION}): upgrade Axon, then restore`,
    );
  return manifest;
}

/** Every member present, none extra, each with the size and SHA-256 the manifest records. */
async function verifyMembers(manifest: BackupManifest, staging: string): Promise<void> {
  const filesDir = join(staging, FILES_MEMBER);
  await mkdir(filesDir, { recursive: true });
  const present = new Set([
    ...(existsSync(join(staging, DATABASE_MEMBER)) ? [DATABASE_MEMBER] : []),
    ...(await readdir(filesDir)).map((name) => `${FILES_MEMBER}/${name}`),
  ]);
  const listed = new Set(manifest.members.map((m) => m.path));
  const missing = [...listed].filter((p) => !present.has(p));
  if (missing.length > 0) throw damaged(`the backup lacks members its manifest lists: ${missing.slice(0, 5).join(', ')}`);
  const extra = [...present].filter((p) => !listed.has(p));
  if (extra.length > 0) throw damaged(`the backup holds members its manifest does not list: ${extra.slice(0, 5).join(', ')}`);
  if (!listed.has(DATABASE_MEMBER)) throw damaged(`the backup has no ${DATABASE_MEMBER}`);
  for (const member of manifest.members) {
    const path = join(staging, member.path);
    if ((await stat(path)).size !== member.bytes || (await sha256OfFile(path)) !== member.sha256)
      throw damaged(
        `${member.path} does not match its checksum in the manifest: the backup is damaged or was altered; nothing was changed`,
      );
  }
}

/** `PRAGMA integrity_check`, the schema version and the row count of every table, against the manifest. */
function checkDatabase(path: string, manifest: BackupManifest): void {
  const db = new Database(path, { fileMustExist: true });
  try {
    sqliteVec.load(db);
    const problems = integrityProblems(db);
    if (problems.length > 0) throw damaged(`the backup's database failed its integrity check: ${problems.slice(0, 3).join('; ')}`);
    const schemaVersion = schemaVersionOf(db);
    if (schemaVersion !== manifest.schemaVersion)
      throw damaged(`the backup's database is at schema ${schemaVersion}, its manifest says ${manifest.schemaVersion}`);
    const counts = countRows(db);
    const tables = new Set([...Object.keys(counts), ...Object.keys(manifest.counts.tables)]);
    for (const table of tables) {
      if (counts[table] !== manifest.counts.tables[table])
        throw damaged(`table ${table} holds ${counts[table] ?? 'no'} rows, the manifest says ${manifest.counts.tables[table] ?? 'none'}`);
    }
  } finally {
    db.close();
  }
}
