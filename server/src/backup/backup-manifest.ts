import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { SQLITE_MIGRATIONS } from '../store/sqlite/migrations';

/** The archive's members besides the manifest: the database and the uploaded originals under `files/`. */
export const DATABASE_MEMBER = 'axon.db';
export const FILES_MEMBER = 'files';
export const MANIFEST_MEMBER = 'manifest.json';

/** A name an original may have inside `files/` (documents are stored under their id). */
export const ORIGINAL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const MemberSchema = z.object({
  /** Path inside the archive: `axon.db` or `files/<document id>`. */
  path: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** `manifest.json`: what a backup holds, and the checksums a restore verifies before it touches anything. */
export const BackupManifestSchema = z.object({
  format: z.literal('axon-backup'),
  formatVersion: z.literal(1),
  /** Version of the Axon that wrote the backup. */
  axonVersion: z.string(),
  /** The highest schema migration applied to the database. */
  schemaVersion: z.number().int().nonnegative(),
  createdAt: z.string(),
  counts: z.object({
    /** Rows per table of the database. */
    tables: z.record(z.string(), z.number().int().nonnegative()),
    /** Uploaded originals in `files/`. */
    originals: z.number().int().nonnegative(),
  }),
  /** Documents whose original could not be read while the backup ran (deleted meanwhile, or never written). */
  missingOriginals: z.array(z.string()).default([]),
  /** Every member but the manifest, with its size and SHA-256. */
  members: z.array(MemberSchema).min(1),
});
export type BackupManifest = z.infer<typeof BackupManifestSchema>;
export type BackupMember = z.infer<typeof MemberSchema>;

/** The newest schema this Axon knows; a backup with a newer one was made by a newer Axon. */
export const LATEST_SCHEMA_VERSION = Math.max(...SQLITE_MIGRATIONS.map((m) => m.version));

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function schemaVersionOf(db: Database.Database): number {
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!hasTable) return 0;
  return (db.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number | null) ?? 0;
}

/** Rows in every ordinary table (virtual tables are counted through their shadow tables). */
export function countRows(db: Database.Database): Record<string, number> {
  const tables = db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
    )
    .pluck()
    .all() as string[];
  const counts: Record<string, number> = {};
  for (const table of tables) {
    counts[table] = db
      .prepare(`SELECT count(*) FROM "${table.replaceAll('"', '""')}"`)
      .pluck()
      .get() as number;
  }
  return counts;
}

/** `PRAGMA integrity_check`'s findings; empty when the database is sound. */
export function integrityProblems(db: Database.Database): string[] {
  const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  return rows.map((r) => r.integrity_check).filter((line) => line !== 'ok');
}

/** A stamp for file names: `20250102T030405Z`. */
export const fileStamp = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
