import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { UploadResult } from '@axon/contracts';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { create as createTar, extract } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../observability/audit-chain';
import { HOME_ORG_ID } from '../store';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { type BackupManifest, BackupManifestSchema, countRows } from './backup-manifest';

const execFileAsync = promisify(execFile);
const AXON = join(import.meta.dirname, '../../bin/axon.mjs');

/** Runs the `axon` command on a data directory; never throws, so a test can assert on the exit status. */
async function axon(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [AXON, ...args], {
      env: { ...process.env, AXON_DATA_DIR: dataDir, AXON_CONFIG: '', AXON_FROM_SOURCE: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** The file names in a directory with the SHA-256 of each file, to see that nothing changed. */
function listing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile())
      out[join(entry.parentPath, entry.name).slice(dir.length)] = sha256(readFileSync(join(entry.parentPath, entry.name)));
  }
  return out;
}

async function readManifest(archive: string): Promise<BackupManifest> {
  const dir = mkdtempSync(join(tmpdir(), 'axon-manifest-'));
  try {
    await extract({ file: archive, cwd: dir, filter: (path) => path === 'manifest.json' });
    return BackupManifestSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let t: TestServer;
let admin: WebClient;
let collectionId: string;
const scratch = mkdtempSync(join(tmpdir(), 'axon-backup-test-'));
const archive = join(scratch, 'axon-backup.tar.gz');
const restoredDir = join(scratch, 'restored');

async function upload(name: string, bytes: Buffer): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], { type: 'text/markdown' }), name);
  const response = await fetch(`${t.url}/api/collections/${collectionId}/documents`, {
    method: 'POST',
    headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken ?? '' },
    body: form,
  });
  const body = (await response.json()) as UploadResult;
  const id = body.files[0]?.document?.id;
  if (response.status !== 202 || !id) throw new Error(`upload of ${name} failed: ${response.status} ${JSON.stringify(body)}`);
  return id;
}

beforeAll(async () => {
  t = await startTestServer();
  admin = new WebClient(t.url);
  await admin.setup('admin@example.com', 'admin password 1');
  const created = await admin.json<{ id: string }>('POST', '/api/collections', { name: 'Handbook' });
  collectionId = created.body.id;
});
afterAll(async () => {
  await t.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('axon backup and axon restore', () => {
  const handbook = Buffer.from('# Handbook\n\nUmlauts stay intact: äöü ß — “quotes”. Refunds are paid within 14 days.\n');
  let handbookId: string;
  let manifest: BackupManifest;

  it('backs up a database that is being written to, and restores it intact into a fresh data directory', async () => {
    handbookId = await upload('handbook.md', handbook);
    const store = t.server.store;

    // Writers that keep going while the backup runs: audit events and accounts through the store,
    // uploads over HTTP. Both are bounded.
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      for (let i = 0; writing && i < 50_000; i++) {
        await store.audit.append({ action: 'auth.login', actorEmail: `writer-${i}@example.com`, ip: '127.0.0.1' });
        if (i % 4 === 0)
          await store.users.create({ email: `writer-${i}@example.com`, passwordHash: null, role: 'member', orgId: HOME_ORG_ID });
        writes++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    let uploads = 0;
    const uploader = (async () => {
      for (let i = 0; writing && i < 200; i++) {
        await upload(`note-${i}.md`, Buffer.from(`# Note ${i}\n\nThe number of this note is ${i}.\n`));
        uploads++;
      }
    })();

    const auditBefore = await store.audit.lastIssued();
    const usersBefore = await store.users.count();
    const writesBefore = writes;
    const backup = await axon(t.dataDir, 'backup', '--to', archive);
    const writesDuring = writes - writesBefore;
    const auditAfter = await store.audit.lastIssued();
    const usersAfter = await store.users.count();
    writing = false;
    await Promise.all([writer, uploader]);

    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.stdout.trim().split('\n')).toHaveLength(1);
    expect(backup.stdout).toMatch(/^backup written to .*axon-backup\.tar\.gz \([\d.]+ (B|KiB|MiB)\): schema \d+, \d+ users, \d+ documents/);
    // The copy was taken while writes went on, and is one point in time between the first and the last of them.
    expect(writesDuring).toBeGreaterThan(10);
    expect(uploads).toBeGreaterThan(0);
    manifest = await readManifest(archive);
    const tables = manifest.counts.tables;
    expect(tables.audit_events).toBeGreaterThan(auditBefore);
    expect(tables.audit_events).toBeLessThanOrEqual(auditAfter);
    expect(tables.users).toBeGreaterThanOrEqual(usersBefore);
    expect(tables.users).toBeLessThanOrEqual(usersAfter);
    expect(manifest.members.map((m) => m.path)).toContain(`files/${handbookId}`);
    expect(manifest.counts.originals).toBe((tables.documents ?? 0) - manifest.missingOriginals.length);
    expect(manifest.missingOriginals).toEqual([]);

    // A restore into a data directory that does not exist yet.
    const restore = await axon(restoredDir, 'restore', archive);
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    expect(restore.stdout).toContain('checksums match, integrity ok');
    expect(restore.stdout).toContain(`audit trail intact: ${tables.audit_events} event(s)`);

    const db = new Database(join(restoredDir, 'axon.db'), { readonly: true });
    try {
      sqliteVec.load(db);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(countRows(db)).toEqual(tables);
      const events = (db.prepare('SELECT * FROM audit_events ORDER BY seq').all() as Array<Record<string, unknown>>).map((r) => ({
        seq: r.seq as number,
        id: r.id as string,
        at: r.at as string,
        action: r.action as string,
        actorId: (r.actor_id as string | null) ?? null,
        actorEmail: (r.actor_email as string | null) ?? null,
        target: (r.target as string | null) ?? null,
        ip: (r.ip as string | null) ?? null,
        details: r.details as string,
        orgId: (r.org_id as string | null) ?? null,
        prevHash: r.prev_hash as string,
        hash: r.hash as string,
      }));
      const lastIssued = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'").pluck().get() as number;
      expect(await verifyAuditChain(events, lastIssued)).toEqual({ ok: true, events: tables.audit_events });
      // Every original restored is the one its document row describes, byte for byte.
      const documents = db.prepare('SELECT id, sha256 FROM documents').all() as Array<{ id: string; sha256: string }>;
      expect(readdirSync(join(restoredDir, 'files')).sort()).toEqual(documents.map((d) => d.id).sort());
      for (const d of documents) expect(sha256(readFileSync(join(restoredDir, 'files', d.id)))).toBe(d.sha256);
    } finally {
      db.close();
    }
    expect(readFileSync(join(restoredDir, 'files', handbookId)).equals(handbook)).toBe(true);
    const verify = await axon(restoredDir, 'audit', 'verify');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`audit trail intact: ${tables.audit_events} event(s)`);
  }, 120_000);

  it('refuses to replace an existing archive unless --force is given', async () => {
    const before = sha256(readFileSync(archive));
    const refused = await axon(t.dataDir, 'backup', '--to', archive);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('exists: pass --force to replace it');
    expect(sha256(readFileSync(archive))).toBe(before);
    const forced = await axon(t.dataDir, 'backup', '--to', archive, '--force');
    expect(forced.code).toBe(0);
    expect(sha256(readFileSync(archive))).not.toBe(before);
    manifest = await readManifest(archive);
  }, 60_000);

  it('refuses to restore into a data directory that a running server has open', async () => {
    // Names only: reading the live database file from this process would drop the server's locks on it
    // (closing any descriptor of a file releases all of a process's POSIX locks on that file).
    const before = readdirSync(t.dataDir).sort();
    const refused = await axon(t.dataDir, 'restore', archive);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/axon\.db is in use .*stop it, then restore/);
    expect(readdirSync(t.dataDir).sort()).toEqual(before);
    expect(before).toContain('axon.db');
    expect((await admin.json('GET', '/api/collections')).status).toBe(200);
  }, 60_000);

  it('refuses a backup with one byte changed, and leaves the data directory as it was', async () => {
    const before = listing(restoredDir);
    const expectRefused = async (tampered: string, message: string | RegExp) => {
      const result = await axon(restoredDir, 'restore', tampered);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(listing(restoredDir)).toEqual(before);
      expect(readdirSync(restoredDir).filter((name) => name.startsWith('.restore-'))).toEqual([]);
    };

    // One byte of the compressed archive.
    const bytes = readFileSync(archive);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] as number) ^ 0x01;
    const flipped = join(scratch, 'flipped.tar.gz');
    writeFileSync(flipped, bytes);
    await expectRefused(flipped, /not a readable Axon backup|does not match its checksum/);

    // One byte of a member, packed again into a well-formed archive: only the checksums can tell.
    const repack = async (member: string, name: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'axon-repack-'));
      await extract({ file: archive, cwd: dir });
      const content = readFileSync(join(dir, member));
      const at = Math.min(5000, content.length - 1);
      content[at] = (content[at] as number) ^ 0x01;
      writeFileSync(join(dir, member), content);
      const out = join(scratch, name);
      await createTar({ gzip: true, file: out, cwd: dir, portable: true }, ['manifest.json', 'axon.db', 'files']);
      rmSync(dir, { recursive: true, force: true });
      return out;
    };
    await expectRefused(await repack('axon.db', 'db-changed.tar.gz'), 'axon.db does not match its checksum in the manifest');
    await expectRefused(await repack(`files/${handbookId}`, 'original-changed.tar.gz'), `files/${handbookId} does not match its checksum`);

    // The untouched archive still restores, keeping what was there before aside.
    const good = await axon(restoredDir, 'restore', archive);
    expect(good.code).toBe(0);
    const aside = readdirSync(restoredDir).filter((name) => name.includes('.before-restore-'));
    expect(aside.some((name) => name.startsWith('axon.db.before-restore-'))).toBe(true);
    expect(aside.some((name) => name.startsWith('files.before-restore-'))).toBe(true);
    const keptDb = aside.find((name) => name.startsWith('axon.db.before-restore-')) as string;
    expect(sha256(readFileSync(join(restoredDir, keptDb)))).toBe(before['/axon.db']);
    expect(existsSync(join(restoredDir, 'files', handbookId))).toBe(true);
  }, 120_000);

  it('refuses a backup whose audit trail was edited, even with matching checksums, unless told to restore it anyway', async () => {
    // An edited audit row, with the manifest's checksum brought in line: the chain is what tells.
    const dir = mkdtempSync(join(tmpdir(), 'axon-edited-'));
    await extract({ file: archive, cwd: dir });
    const db = new Database(join(dir, 'axon.db'));
    const edited = db.prepare('SELECT seq, id FROM audit_events ORDER BY seq LIMIT 1 OFFSET 2').get() as { seq: number; id: string };
    db.prepare('UPDATE audit_events SET details = \'{"reason":"nothing to see"}\' WHERE seq = ?').run(edited.seq);
    db.pragma('journal_mode = DELETE');
    db.close();
    const members = manifest.members.map((m) =>
      m.path === 'axon.db'
        ? { ...m, bytes: readFileSync(join(dir, 'axon.db')).length, sha256: sha256(readFileSync(join(dir, 'axon.db'))) }
        : m,
    );
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, members }));
    const tampered = join(scratch, 'audit-edited.tar.gz');
    await createTar({ gzip: true, file: tampered, cwd: dir, portable: true }, ['manifest.json', 'axon.db', 'files']);
    rmSync(dir, { recursive: true, force: true });

    const target = join(scratch, 'audit-target');
    const refused = await axon(target, 'restore', tampered);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`audit trail is broken at row ${edited.seq} (id ${edited.id})`);
    expect(existsSync(join(target, 'axon.db'))).toBe(false);

    const anyway = await axon(target, 'restore', tampered, '--allow-broken-audit');
    expect(anyway.code).toBe(1);
    expect(anyway.stdout).toContain('checksums match, integrity ok');
    expect(anyway.stderr).toContain(
      `audit trail broken at row ${edited.seq} (id ${edited.id}): its contents do not match its hash (edited)`,
    );
    expect(existsSync(join(target, 'axon.db'))).toBe(true);
    expect((await axon(target, 'audit', 'verify')).code).toBe(1);
  }, 120_000);
});
