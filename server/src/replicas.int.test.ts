import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SimulatedUpstream, startSimulatedUpstream } from '@axon/bench/simulated-upstream';
import type { Account, Collection, CreatedApiKey, DocumentInfo, UploadResult } from '@axon/contracts';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import { createLogger } from './observability/logger';
import { type AxonServer, createServer } from './server';
import { HOME_ORG_ID } from './store';
import { WebClient } from './testing/http-client';
import { connectTestRedis, deleteTestKeys, TEST_REDIS_URL, testRedisPrefix } from './testing/test-redis';

// Two replicas in one process: one data directory (the SQLite file stands in for the shared
// database) and one Redis, as a scale-out deployment shares them.

const ADMIN = { email: 'admin@example.com', password: 'admin password 1' };
const dataDir = mkdtempSync(join(tmpdir(), 'axon-replicas-'));
const prefix = testRedisPrefix();
let admin: Redis;
let upstream: SimulatedUpstream;
let a: { server: AxonServer; url: string };
let b: { server: AxonServer; url: string };

async function startReplica(): Promise<{ server: AxonServer; url: string }> {
  const config = loadConfig({
    env: {},
    cwd: dataDir,
    overrides: {
      port: 0,
      host: '127.0.0.1',
      dataDir,
      webDir: join(dataDir, 'no-web'),
      redisUrl: TEST_REDIS_URL,
      redisPrefix: prefix,
      admin: ADMIN,
      'localModel.wordDelayMs': 0,
      'ingestQueue.lockMs': 1000,
      'ingestQueue.stallCheckMs': 500,
      // A model server whose listing stays fresh for ten minutes unless a replica announces a change.
      connections: [{ name: 'sim', baseURL: upstream.url }],
      modelsCacheTtlMs: 600_000,
    },
  });
  const server = await createServer(config, { logger: createLogger({ level: 'silent' }) });
  return { server, url: await server.listen() };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const models = (url: string, key: string) => fetch(`${url}/v1/models`, { headers: bearer(key) }).then((r) => r.status);
const chat = (url: string, key: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...bearer(key), 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'local/extractive', messages: [{ role: 'user', content: 'hello' }] }),
  }).then(async (r) => ({ status: r.status, body: await r.text() }));

beforeAll(async () => {
  upstream = await startSimulatedUpstream({ models: ['sim-1'] });
  admin = await connectTestRedis();
  a = await startReplica();
  b = await startReplica();
});

afterAll(async () => {
  await Promise.all([a?.server.shutdown(), b?.server.shutdown()]);
  await deleteTestKeys(admin, prefix);
  await admin.quit();
  await upstream.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('two replicas sharing a store and Redis', () => {
  it('a key revoked through one replica is refused by the other at once', async () => {
    const web = new WebClient(a.url);
    await web.login(ADMIN.email, ADMIN.password);
    const { body: created } = await web.json<CreatedApiKey>('POST', '/api/keys', { name: 'ci' });
    expect(await models(b.url, created.key)).toBe(200);
    expect((await web.request('DELETE', `/api/keys/${created.apiKey.id}`)).status).toBe(204);
    // B looked the key up a moment ago; its cache would trust it for a minute without the message,
    // which reaches B within the time a pub/sub delivery takes.
    await expect.poll(() => models(b.url, created.key), { timeout: 2000, interval: 20 }).toBe(401);
  });

  it('a model list refreshed through one replica is listed again by the other at once', async () => {
    const web = new WebClient(a.url);
    await web.login(ADMIN.email, ADMIN.password);
    const { body: created } = await web.json<CreatedApiKey>('POST', '/api/keys', { name: 'models' });
    const listed = async (url: string) =>
      ((await (await fetch(`${url}/v1/models`, { headers: bearer(created.key) })).json()) as { data: Array<{ id: string }> }).data.map(
        (m) => m.id,
      );
    expect(await listed(b.url)).toContain('sim/sim-1');
    // A model deployed on the server: both replicas' listings are fresh for ten minutes yet.
    upstream.models.push('sim-new');
    expect(await listed(b.url)).not.toContain('sim/sim-new');
    const refreshed = await web.json<{ models: Array<{ id: string }> }>('POST', '/api/models/refresh');
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.models.map((m) => m.id)).toContain('sim/sim-new');
    await expect.poll(() => listed(b.url), { timeout: 2000, interval: 20 }).toContain('sim/sim-new');
    // Only those who manage models may.
    const member = new WebClient(a.url);
    await web.json('POST', '/api/admin/users', { email: 'member@example.com', password: 'member password 1', role: 'member' });
    await member.login('member@example.com', 'member password 1');
    expect((await member.request('POST', '/api/models/refresh')).status).toBe(403);
  });

  it('an account disabled through one replica loses its keys on the other at once', async () => {
    const web = new WebClient(a.url);
    await web.login(ADMIN.email, ADMIN.password);
    const { body: user } = await web.json<Account>('POST', '/api/admin/users', {
      email: 'lee@example.com',
      password: 'lee password 12',
      role: 'member',
    });
    const lee = new WebClient(a.url);
    await lee.login('lee@example.com', 'lee password 12');
    const { body: created } = await lee.json<CreatedApiKey>('POST', '/api/keys', { name: 'script' });
    expect(await models(b.url, created.key)).toBe(200);
    expect((await web.request('POST', `/api/admin/users/${user.id}/disable`)).status).toBeLessThan(300);
    await expect.poll(() => models(b.url, created.key), { timeout: 2000, interval: 20 }).toBe(401);
  });

  it('an organisation limit set through one replica is enforced by the other at once', async () => {
    const web = new WebClient(a.url);
    await web.login(ADMIN.email, ADMIN.password);
    const { body: created } = await web.json<CreatedApiKey>('POST', '/api/keys', { name: 'limits' });
    // B reads the organisation (no limits yet) and keeps it.
    expect((await chat(b.url, created.key)).status).toBe(200);
    const patched = await web.json('PATCH', `/api/admin/orgs/${HOME_ORG_ID}`, { limits: { rpm: 1 } });
    expect(patched.status).toBe(200);
    // B's cached copy would hold the old limits for its 5 s TTL without the message, which reaches
    // B within the time a pub/sub delivery takes (longer on a loaded machine than one request).
    let refused = { status: 0, body: '' };
    await expect
      .poll(
        async () => {
          refused = await chat(b.url, created.key);
          return refused.status;
        },
        { timeout: 2000, interval: 20 },
      )
      .toBe(429);
    expect(refused.body).toContain('organisation');
    await web.json('PATCH', `/api/admin/orgs/${HOME_ORG_ID}`, { limits: {} });
  });

  it('a document uploaded through one replica is indexed by the replicas’ workers and downloadable from the other', async () => {
    const web = new WebClient(a.url);
    await web.login(ADMIN.email, ADMIN.password);
    const { body: collection } = await web.json<Collection>('POST', '/api/collections', { name: 'shared' });
    const text = 'The replicas share one queue: whichever worker is free indexes the upload.';
    const form = new FormData();
    form.append('file', new Blob([text], { type: 'text/plain' }), 'queue.txt');
    const uploaded = await fetch(`${a.url}/api/collections/${collection.id}/documents`, {
      method: 'POST',
      headers: { cookie: web.cookie, 'x-csrf-token': web.csrfToken ?? '' },
      body: form,
    });
    expect(uploaded.status).toBe(202);
    const document = ((await uploaded.json()) as UploadResult).files[0]?.document as DocumentInfo;
    const onB = new WebClient(b.url);
    await onB.login(ADMIN.email, ADMIN.password);
    await expect
      .poll(async () => (await onB.json<DocumentInfo>('GET', `/api/documents/${document.id}`)).body.status, {
        timeout: 15_000,
        interval: 100,
      })
      .toBe('ready');
    const download = await onB.request('GET', `/api/documents/${document.id}/file`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
    expect(await download.text()).toBe(text);
    // The queue is in Redis, under the installation's prefix.
    expect((await admin.keys(`${prefix}:ingest:*`)).length).toBeGreaterThan(0);
  });
});
