import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { startTestServer, type TestServer } from '../testing/test-server';

const TOKEN = 'scraper-token-0123456789';
let t: TestServer;
let adminKey: string;
let memberKey: string;

beforeAll(async () => {
  t = await startTestServer({ overrides: { metricsToken: TOKEN, limits: { userRpm: 3, userTpm: 0, userConcurrentStreams: 4 } } });
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  const admin = await auth.createUser({ email: 'admin@example.com', password: 'admin password 1', role: 'admin' });
  const member = await auth.createUser({ email: 'member@example.com', password: 'member password 1', role: 'member' });
  adminKey = (await auth.createApiKey(admin.id, 'ops', { scopes: ['admin'] })).key;
  memberKey = (await auth.createApiKey(member.id, 'app')).key;
});
afterAll(() => t.close());

const scrape = (authorization?: string) => fetch(`${t.url}/metrics`, authorization ? { headers: { authorization } } : {});

describe('Prometheus metrics', () => {
  it('counts requests, tokens, time to first token, upstream errors and rate-limit refusals', async () => {
    const call = (body: Record<string, unknown>) =>
      fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${memberKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }], ...body }),
      });
    expect((await call({ stream: true })).status).toBe(200);
    t.upstream.set({ mode: 'fail-500' });
    expect((await call({})).status).toBeGreaterThanOrEqual(500);
    t.upstream.set({ mode: 'ok' });
    await (await call({})).text();
    expect((await call({})).status).toBe(429);

    const response = await scrape(`Bearer ${TOKEN}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/axon_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="200"\} [1-9]/);
    expect(text).toMatch(/axon_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="429"\} 1/);
    expect(text).toMatch(/axon_http_request_duration_seconds_bucket\{le="[^"]+",route="\/v1\/chat\/completions"/);
    expect(text).toMatch(/axon_tokens_total\{model="sim\/sim-1",org="org_default",kind="output"\} [1-9]/);
    expect(text).toMatch(/axon_time_to_first_token_seconds_count\{model="sim\/sim-1"\} [1-9]/);
    expect(text).toMatch(/axon_upstream_errors_total\{model="sim\/sim-1",kind="[a-z_]+"\} 1/);
    expect(text).toMatch(/axon_rate_limit_refusals_total\{limit="requests per minute for your account"\} 1/);
    expect(text).toMatch(/axon_active_streams 0/);
    expect(text).toContain('axon_process_resident_memory_bytes');
  });

  it('is read with the token or an admin key, and by no one else', async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape('Bearer not-the-token-at-all')).status).toBe(401);
    expect((await scrape(`Bearer ${memberKey}`)).status).toBe(403);
    expect((await scrape(`Bearer ${adminKey}`)).status).toBe(200);
  });
});
