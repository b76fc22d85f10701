import type { Config } from '../config';
import { formatBytes } from './backup-manifest';
import { createBackup } from './create-backup';
import { restoreBackup } from './restore-backup';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `axon backup --to FILE`: prints one line; throws an AppError (exit status 1) on failure. */
export async function runBackupCommand(config: Config, opts: { to: string; force?: boolean }): Promise<void> {
  const { path, bytes, manifest } = await createBackup({ dataDir: config.dataDir, to: opts.to, force: opts.force ?? false });
  const tables = manifest.counts.tables;
  const missing = manifest.missingOriginals.length;
  console.log(
    `backup written to ${path} (${formatBytes(bytes)}): schema ${manifest.schemaVersion}, ${plural(tables.users ?? 0, 'user')}, ${plural(tables.documents ?? 0, 'document')}, ${plural(manifest.counts.originals, 'original')}, ${plural(tables.audit_events ?? 0, 'audit event')}${missing ? `; ${plural(missing, 'original')} could not be read (deleted while the backup ran?)` : ''}`,
  );
}

/** `axon restore FILE`: exit status 0 when restored with an intact audit trail, 1 otherwise. */
export async function runRestoreCommand(config: Config, file: string, opts: { allowBrokenAudit?: boolean }): Promise<void> {
  const result = await restoreBackup({ dataDir: config.dataDir, from: file, allowBrokenAudit: opts.allowBrokenAudit ?? false });
  const { manifest, audit, migrated, movedAside } = result;
  const tables = manifest.counts.tables;
  console.log(
    `restored the backup of ${manifest.createdAt} (Axon ${manifest.axonVersion}, schema ${manifest.schemaVersion}) into ${config.dataDir}: checksums match, integrity ok, ${plural(tables.users ?? 0, 'user')}, ${plural(manifest.counts.originals, 'original')}`,
  );
  if (migrated.length > 0) console.log(`applied migrations: ${migrated.join(', ')}`);
  console.log(movedAside.length > 0 ? `the previous data was kept as ${movedAside.join(', ')}` : 'the data directory was empty');
  if (audit.ok) console.log(`audit trail intact: ${audit.events} event(s), every hash matches`);
  else {
    console.error(`audit trail broken at row ${audit.seq}${audit.id ? ` (id ${audit.id})` : ''}: ${audit.reason}`);
    process.exitCode = 1;
  }
}
