import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

const run = promisify(execFile);
const AXON = join(import.meta.dirname, '../../bin/axon.mjs');

let t: TestServer;
let admin: WebClient;
let auditor: WebClient;
let member: WebClient;

beforeAll(async () => {
  t = await startTestServer();
  admin = new WebClient(t.url);
  await admin.setup('admin@example.com', 'admin password 1');
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  await auth.createUser({ email: 'auditor@example.com', password: 'auditor password 1', role: 'auditor' });
  await auth.createUser({ email: 'member@example.com', password: 'member password 1', role: 'member' });
  auditor = new WebClient(t.url);
  await auditor.login('auditor@example.com', 'auditor password 1');
  member = new WebClient(t.url);
  await member.login('member@example.com', 'member password 1');
});
afterAll(() => t.close());

/** `axon audit verify` on the test server's data directory. */
async function verify(): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [AXON, 'audit', 'verify'], {
      env: { ...process.env, AXON_DATA_DIR: t.dataDir, AXON_FROM_SOURCE: '1' },
    });
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, out: e.stderr };
  }
}

type Event = {
  seq: number;
  id: string;
  action: string;
  actorEmail: string | null;
  target: string | null;
  details: Record<string, unknown>;
};

describe('audit trail', () => {
  it('records security events with actor, target and address, newest first', async () => {
    expect(
      (await new WebClient(t.url).json('POST', '/api/auth/login', { email: 'member@example.com', password: 'wrong password!' })).status,
    ).toBe(401);
    const key = await member.json<{ apiKey: { id: string } }>('POST', '/api/keys', { name: 'ci' });
    await member.json('DELETE', `/api/keys/${key.body.apiKey.id}`);
    const users = await admin.json<{ items: Array<{ id: string; email: string }> }>('GET', '/api/admin/users');
    const memberId = users.body.items.find((u) => u.email === 'member@example.com')?.id;
    await admin.json('PATCH', `/api/admin/users/${memberId}`, { role: 'builder' });

    const { status, body } = await auditor.json<{ items: Event[] }>('GET', '/api/admin/audit?limit=50');
    expect(status).toBe(200);
    const actions = body.items.map((e) => e.action);
    expect(actions.slice(0, 4)).toEqual(['user.role_changed', 'key.revoked', 'key.created', 'auth.login_failed']);
    expect(actions).toEqual(expect.arrayContaining(['auth.setup', 'auth.login']));
    const failed = body.items.find((e) => e.action === 'auth.login_failed');
    expect(failed).toMatchObject({ actorEmail: 'member@example.com', details: { reason: 'invalid_credentials' } });
    expect(body.items[0]).toMatchObject({
      actorEmail: 'admin@example.com',
      target: `user:${memberId}`,
      details: { from: 'member', to: 'builder' },
    });
    expect(body.items.every((e, i) => i === 0 || e.seq < (body.items[i - 1] as Event).seq)).toBe(true);
    const filtered = await auditor.json<{ items: Event[] }>('GET', '/api/admin/audit?action=key.created');
    expect(filtered.body.items.map((e) => e.action)).toEqual(['key.created']);
    expect((await auditor.json('GET', '/api/admin/audit?limit=0')).status).toBe(400);
  });

  it('lets auditors read and export it, and only them and admins', async () => {
    expect((await member.json('GET', '/api/admin/audit')).status).toBe(403);
    const exported = await auditor.request('GET', '/api/admin/audit/export');
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toMatch(/^text\/csv/);
    const csv = await exported.text();
    expect(csv.split('\n')[0]).toBe('seq,id,at,action,actor_id,actor_email,target,ip,details,org_id,prev_hash,hash');
    expect(csv).toContain('user.role_changed');
    const latest = await admin.json<{ items: Event[] }>('GET', '/api/admin/audit?limit=1');
    expect(latest.body.items[0]).toMatchObject({ action: 'audit.exported', actorEmail: 'auditor@example.com' });
    expect((await auditor.json('GET', '/api/admin/audit/verify')).body).toMatchObject({ ok: true });
  });

  it('`axon audit verify` finds an edited, a deleted and a reordered row by its id', async () => {
    const intact = await verify();
    expect(intact.code).toBe(0);
    expect(intact.out).toMatch(/audit trail intact: \d+ event/);

    const db = new Database(join(t.dataDir, 'axon.db'));
    const rows = db.prepare('SELECT seq, id, details, action FROM audit_events ORDER BY seq').all() as Array<{
      seq: number;
      id: string;
      details: string;
      action: string;
    }>;
    const [, second, third, fourth] = rows as [unknown, (typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
    const restore = db.prepare('UPDATE audit_events SET details = ? WHERE seq = ?');

    // Edited: the details of one row changed.
    restore.run('{"reason":"nothing to see"}', third.seq);
    let result = await verify();
    expect(result.code).toBe(1);
    expect(result.out).toContain(`row ${third.seq} (id ${third.id})`);
    expect(result.out).toContain('edited');
    restore.run(third.details, third.seq);
    expect((await verify()).code).toBe(0);

    // Reordered: two rows swap places (their contents, the sequence numbers stay).
    const swap = db.prepare('UPDATE audit_events SET action = ? WHERE seq = ?');
    swap.run(fourth.action, third.seq);
    swap.run(third.action, fourth.seq);
    result = await verify();
    expect(result.code).toBe(1);
    expect(result.out).toContain(`row ${third.seq} (id ${third.id})`);
    swap.run(third.action, third.seq);
    swap.run(fourth.action, fourth.seq);

    // Deleted: a row in the middle, then the last one.
    db.prepare('DELETE FROM audit_events WHERE seq = ?').run(second.seq);
    result = await verify();
    expect(result.code).toBe(1);
    expect(result.out).toContain(`row ${third.seq} (id ${third.id})`);
    expect(result.out).toContain('missing');
    db.close();
  });
});
