import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tokenText } from '@axon/bench/simulated-upstream';
import type { ConversationWithMessages } from '@axon/contracts';
import { describe, expect, it } from 'vitest';
import { HOME_ORG_ID, openSqliteStore } from './store';
import { WebClient } from './testing/http-client';
import { startTestServer } from './testing/test-server';

const run = promisify(execFile);
const AXON = join(import.meta.dirname, '../bin/axon.mjs');

describe('health and shutdown', () => {
  it('reports alive and ready', async () => {
    const t = await startTestServer();
    try {
      expect(await (await fetch(`${t.url}/healthz`)).json()).toEqual({ status: 'ok' });
      expect(await (await fetch(`${t.url}/readyz`)).json()).toMatchObject({ status: 'ready', store: 'ok' });
    } finally {
      await t.close();
    }
  });

  it('on shutdown lets a stream run for the grace period, then stops and saves it', async () => {
    const t = await startTestServer({ overrides: { shutdownGraceMs: 300 } });
    t.upstream.set({ tokens: 10_000, tokenDelayMs: 5 });
    const web = new WebClient(t.url);
    await web.setup('admin@example.com', 'admin password 1');
    const { body: c } = await web.json<{ id: string }>('POST', '/api/conversations', { model: 'sim/sim-1' });
    const response = await web.request('POST', `/api/conversations/${c.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'u', text: 'go' },
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = '';
    while (!received.includes(tokenText(2))) received += new TextDecoder().decode((await reader.read()).value);
    const started = Date.now();
    const shutdown = t.server.shutdown();
    // New connections are refused while the stream drains.
    await expect(fetch(`${t.url}/healthz`).then((r) => r.status))
      .resolves.not.toBe(200)
      .catch(() => undefined);
    await shutdown;
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(3000);
    for (;;) if ((await reader.read()).done) break;
    const store = openSqliteStore({ path: join(t.dataDir, 'axon.db') });
    const messages = await store.messages.listByConversation(c.id);
    await store.close();
    expect(messages[1]?.status).toBe('stopped');
    expect(messages[1]?.content.startsWith(`${tokenText(0)}${tokenText(1)}${tokenText(2)}`)).toBe(true);
    await t.upstream.close();
  });

  it('marks answers left streaming by a crash as failed at the next start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'axon-crash-'));
    const store = openSqliteStore({ path: join(dataDir, 'axon.db') });
    const user = await store.users.create({ email: 'a@example.com', passwordHash: null, role: 'admin', orgId: HOME_ORG_ID });
    const c = await store.conversations.create({ userId: user.id, title: 't', model: null });
    const m = await store.messages.append({ conversationId: c.id, role: 'assistant', content: 'half', status: 'streaming', model: null });
    await store.close();
    const t = await startTestServer({ overrides: { dataDir } });
    const messages: ConversationWithMessages['messages'] = await t.server.store.messages.listByConversation(c.id);
    expect(messages.find((x) => x.id === m.id)).toMatchObject({ status: 'error', content: 'half' });
    await t.close();
  });
});

describe('CLI', () => {
  it('creates users and keys against the same data directory, the key alone on the last line', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'axon-cli-'));
    const env = { ...process.env, AXON_DATA_DIR: dataDir, AXON_CONFIG: '' };
    await run('node', [AXON, 'migrate'], { env });
    await run('node', [AXON, 'user', 'create', '--email', 'ops@example.com', '--password', 'ops password 1', '--role', 'admin'], { env });
    const created = await run('node', [AXON, 'keys', 'create', '--user', 'ops@example.com', '--name', 'ci'], { env });
    const key = created.stdout.trim().split('\n').at(-1);
    expect(key).toMatch(/^axn_[A-Za-z0-9_-]{43}$/);
    const users = await run('node', [AXON, 'user', 'list'], { env });
    expect(users.stdout).toMatch(/ops@example\.com\s+admin/);
    await run('node', [AXON, 'user', 'set-role', '--email', 'ops@example.com', '--role', 'member'], { env });
    const listed = await run('node', [AXON, 'keys', 'list'], { env });
    expect(listed.stdout).toMatch(/ci\s+axn_/);
    const id = listed.stdout.split('\n')[1]?.split(/\s+/)[0] as string;
    expect((await run('node', [AXON, 'keys', 'revoke', id], { env })).stdout).toContain(`revoked ${id}`);
    await expect(run('node', [AXON, 'user', 'create', '--email', 'bad', '--password', 'x'], { env })).rejects.toMatchObject({
      stderr: expect.stringMatching(/--email/),
    });
    const store = openSqliteStore({ path: join(dataDir, 'axon.db') });
    expect((await store.users.findByEmail('ops@example.com'))?.role).toBe('member');
    await store.close();
  });

  it('ingests files and folders into a collection, creating it, with same-named files kept apart', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const dataDir = mkdtempSync(join(tmpdir(), 'axon-ingest-'));
    const docs = mkdtempSync(join(tmpdir(), 'axon-docs-'));
    for (const folder of ['a', 'b']) {
      mkdirSync(join(docs, folder));
      writeFileSync(join(docs, folder, 'notes.md'), `# Notes ${folder}\n\nThe ${folder} folder talks about yields.`);
    }
    writeFileSync(join(docs, 'a', 'broken.pdf'), 'not a pdf');
    const env = { ...process.env, AXON_DATA_DIR: dataDir, AXON_CONFIG: '' };
    await run('node', [AXON, 'user', 'create', '--email', 'ops@example.com', '--password', 'ops password 1', '--role', 'admin'], { env });
    const result = await run('node', [AXON, 'ingest', join(docs, 'a'), join(docs, 'b'), '--collection', 'Notes'], { env }).catch((e) => e);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/\+ .*a\/notes\.md: 1 passages/);
    expect(result.stdout).toMatch(/! .*broken\.pdf: This file is named \.pdf but its content is text/);
    expect(result.stdout).toMatch(/2 of 3 file\(s\) indexed into "Notes" \(owner ops@example\.com\); 1 failed/);
    const store = openSqliteStore({ path: join(dataDir, 'axon.db') });
    const owner = await store.users.findByEmail('ops@example.com');
    const collection = await store.collections.findByName(owner?.id as string, 'Notes');
    expect((await store.documents.listByCollection(collection?.id as string)).map((d) => d.name).sort()).toEqual([
      'a/notes.md',
      'b/notes.md',
    ]);
    await store.close();
  });

  it('refuses to start with a wrong setting, naming it', async () => {
    await expect(run('node', [AXON, 'serve'], { env: { ...process.env, PORT: 'abc' } })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/PORT \(port\)/),
    });
  });
});
