import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService, type Principal } from '../auth/auth-service';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { createRateLimits } from './rate-limits';

const AXON = join(import.meta.dirname, '../../bin/axon.mjs');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A real redis-server on a free loopback port, keeping nothing on disk. */
async function startRedis(): Promise<{ url: string; stop: () => void }> {
  if (spawnSync('redis-server', ['--version']).error)
    throw new Error('These tests need redis-server: apt-get install -y redis-server (.ci/run installs it).');
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    if (
      spawnSync('redis-cli', ['-p', String(port), 'ping'])
        .stdout?.toString()
        .trim() === 'PONG'
    )
      break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

const chat = (url: string, key: string, body: Record<string, unknown> = {}) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 8, ...body }),
  });

async function keysFor(t: TestServer, email: string, count: number, options = {}) {
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  const user =
    (await t.server.store.users.findByEmail(email)) ?? (await auth.createUser({ email, password: 'a password 123', role: 'member' }));
  return Promise.all(Array.from({ length: count }, (_, i) => auth.createApiKey(user.id, `k${i}`, options).then((k) => k.key)));
}

describe('rate limits in memory', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      overrides: { limits: { userRpm: 10, userTpm: 0, userConcurrentStreams: 2 }, 'localModel.wordDelayMs': 30 },
    });
  });
  afterAll(() => t.close());

  it('holds requests per minute per user exactly under a burst from several clients', async () => {
    const keys = await keysFor(t, 'burst@example.com', 3);
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => chat(t.url, keys[i % 3] as string)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
    const refused = responses.find((r) => r.status === 429) as Response;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit-limit')).toBe('10');
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(refused.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toMatch(/10 requests per minute for your account; try again in \d+ s/);
    const ok = responses.find((r) => r.status === 200) as Response;
    expect(ok.headers.get('ratelimit-limit')).toBe('10');
  });

  it("holds a key's own requests per minute, and refuses other keys of the user nothing", async () => {
    const [limited, other] = await keysFor(t, 'keyed@example.com', 2);
    const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
    const user = await t.server.store.users.findByEmail('keyed@example.com');
    const tight = (await auth.createApiKey(user?.id as string, 'tight', { rpm: 3 })).key;
    const statuses = await Promise.all(Array.from({ length: 6 }, () => chat(t.url, tight).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    const again = await chat(t.url, tight);
    expect(((await again.json()) as { error: { message: string } }).error.message).toContain('requests per minute for this API key');
    expect((await chat(t.url, limited as string)).status).toBe(200);
    expect((await chat(t.url, other as string)).status).toBe(200);
  });

  it('limits answers streaming at once and gives the slot back when one ends', async () => {
    const [key] = await keysFor(t, 'streams@example.com', 1);
    const stream = { model: 'local/extractive', stream: true };
    const first = await chat(t.url, key as string, stream);
    const second = await chat(t.url, key as string, stream);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await chat(t.url, key as string, stream);
    expect(third.status).toBe(429);
    expect(((await third.json()) as { error: { message: string } }).error.message).toContain('answers streaming at once');
    await first.text(); // read to the end: the stream finishes
    await new Promise((r) => setTimeout(r, 50));
    const fourth = await chat(t.url, key as string, stream);
    expect(fourth.status).toBe(200);
    await Promise.all([second.text(), fourth.text()]);
  });

  it('refuses a web chat turn over the limit with problem+json and saves nothing of it', async () => {
    await keysFor(t, 'web@example.com', 0);
    const web = new WebClient(t.url);
    await web.login('web@example.com', 'a password 123');
    const { body: c } = await web.json<{ id: string }>('POST', '/api/conversations', { model: 'sim/sim-1' });
    const turn = (i: number) =>
      web.request('POST', `/api/conversations/${c.id}/chat`, {
        trigger: 'submit-message',
        message: { id: `u${i}`, text: `question ${i}` },
      });
    for (let i = 0; i < 10; i++) expect((await (await turn(i)).text()).length).toBeGreaterThan(0);
    const refused = await turn(99);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await refused.json()) as { code: string; retryAfterSeconds: number; limit: string };
    expect(problem).toMatchObject({ code: 'rate_limited', limit: 'requests per minute for your account' });
    expect(problem.retryAfterSeconds).toBeGreaterThan(0);
    const saved = await web.json<{ messages: Array<{ content: string }> }>('GET', `/api/conversations/${c.id}`);
    expect(saved.body.messages.map((m) => m.content)).not.toContain('question 99');
  });

  it('refuses expired keys and keys without the scope a route needs', async () => {
    const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000, now: () => new Date(Date.now() - 2 * 86_400_000) });
    const user = await t.server.store.users.findByEmail('burst@example.com');
    const expired = (await auth.createApiKey(user?.id as string, 'old', { expiresInDays: 1 })).key;
    const response = await chat(t.url, expired);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/expired on/);
    const embeddingsOnly = (
      await createAuthService({ store: t.server.store, sessionTtlMs: 1 }).createApiKey(user?.id as string, 'emb', {
        scopes: ['embeddings'],
      })
    ).key;
    const refused = await chat(t.url, embeddingsOnly);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('lacks the chat scope');
  });
});

describe('rate limits shared through Redis', () => {
  let redis: { url: string; stop: () => void };
  let t: TestServer;
  let second: ChildProcess;
  let secondUrl: string;

  beforeAll(async () => {
    redis = await startRedis();
    t = await startTestServer({ overrides: { limits: { userRpm: 12, userTpm: 0, userConcurrentStreams: 4 }, redisUrl: redis.url } });
    // A second server process on the same data directory and the same Redis.
    const port = await freePort();
    second = spawn(process.execPath, [AXON, 'serve', '--port', String(port), '--host', '127.0.0.1'], {
      env: {
        ...process.env,
        AXON_FROM_SOURCE: '1',
        AXON_DATA_DIR: t.dataDir,
        REDIS_URL: redis.url,
        AXON_USER_RPM: '12',
        LOG_LEVEL: 'silent',
        AXON_WEB_DIR: join(t.dataDir, 'no-web'),
      },
      stdio: 'ignore',
    });
    secondUrl = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 200; i++) {
      if ((await fetch(`${secondUrl}/readyz`).catch(() => undefined))?.ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 60_000);
  afterAll(async () => {
    second?.kill('SIGTERM');
    await t?.close();
    redis?.stop();
  });

  it('holds the limit exactly across two server processes', async () => {
    const keys = await keysFor(t, 'shared@example.com', 2);
    // The second process runs the local model only (no `sim` connection): both answer local/extractive.
    const body = { model: 'local/extractive' };
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => chat(i % 2 === 0 ? t.url : secondUrl, keys[i % 2] as string, body)),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(12);
    expect(statuses.filter((s) => s === 429)).toHaveLength(18);
    await Promise.all(responses.map((r) => r.text()));
  });
});

describe('tokens per minute', () => {
  const principal = (tpm: number | null = null, userId = 'u1'): Principal => ({
    user: { id: userId, email: `${userId}@example.com`, role: 'member', orgId: 'org_default', createdAt: '' },
    via: 'api_key',
    apiKey: { id: 'k1', scopes: ['chat'], rpm: null, tpm, prompt: null, model: null },
  });

  it('counts the estimate before the call and settles it with the provider’s usage after', async () => {
    await checkSettling(createRateLimits({ userRpm: 0, userTpm: 1000, userConcurrentStreams: 0 }));
  });

  it('does the same in Redis, with the corrections of concurrent requests applied together', async () => {
    const redis = await startRedis();
    const { Redis } = await import('ioredis');
    const client = new Redis(redis.url);
    await new Promise((resolve) => client.once('ready', resolve));
    const limits = createRateLimits(
      { userRpm: 0, userTpm: 1000, userConcurrentStreams: 0 },
      { redis: client, prefix: `tpm-${Date.now()}` },
    );
    try {
      await checkSettling(limits);
      // Twenty admissions of 50 estimated tokens fill the minute; all settled at 10, 800 come back in one go.
      const admitted = await Promise.all(
        Array.from({ length: 20 }, () => limits.admit(principal(null, 'u2'), { estimateTokens: () => 50, stream: false })),
      );
      await expect(limits.admit(principal(null, 'u2'), { estimateTokens: () => 1, stream: false })).rejects.toMatchObject({
        code: 'rate_limited',
      });
      await Promise.all(admitted.map((a) => a.settle(10)));
      const after = await limits.admit(principal(null, 'u2'), { estimateTokens: () => 350, stream: false });
      expect(after.headers['ratelimit-remaining']).toBe('450');
    } finally {
      await limits.close();
      redis.stop();
    }
  });

  async function checkSettling(limits: ReturnType<typeof createRateLimits>) {
    const first = await limits.admit(principal(), { estimateTokens: () => 600, stream: false });
    expect(first.headers['ratelimit-remaining']).toBe('400');
    await expect(limits.admit(principal(), { estimateTokens: () => 600, stream: false })).rejects.toMatchObject({
      code: 'rate_limited',
      extensions: { limit: 'tokens per minute for your account', limitValue: 1000 },
    });
    // The answer used 100 tokens, not 600: the other 500 come back.
    await first.settle(100);
    const second = await limits.admit(principal(), { estimateTokens: () => 600, stream: false });
    expect(second.headers['ratelimit-remaining']).toBe('300');
    // More than the limit in one request is refused outright, naming the size.
    await expect(limits.admit(principal(), { estimateTokens: () => 5000, stream: false })).rejects.toMatchObject({
      message: expect.stringMatching(/about 5000 tokens, more than the 1000/),
    });
  }

  it("applies a key's own tokens per minute on top, and counts tokens only when some such limit applies", async () => {
    const limits = createRateLimits({ userRpm: 100, userTpm: 0, userConcurrentStreams: 0 });
    let estimated = 0;
    const estimateTokens = () => {
      estimated++;
      return 300;
    };
    await limits.admit(principal(), { estimateTokens, stream: false });
    expect(estimated).toBe(0);
    await limits.admit(principal(500), { estimateTokens, stream: false });
    expect(estimated).toBe(1);
    await expect(limits.admit(principal(500), { estimateTokens, stream: false })).rejects.toMatchObject({
      extensions: { limit: 'tokens per minute for this API key' },
    });
  });
});
