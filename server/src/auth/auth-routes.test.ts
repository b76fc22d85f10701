import type { ApiKey, CreatedApiKey, Problem, SessionInfo } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { hashPassword, verifyPassword } from './password';

describe('passwords', () => {
  it('hashes with argon2id and verifies only the right password', async () => {
    const hash = await hashPassword('correct horse battery');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(hash, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(hash, 'wrong')).toBe(false);
    expect(await verifyPassword(null, 'anything')).toBe(false);
    expect(await verifyPassword('not-a-hash', 'anything')).toBe(false);
  });
});

describe('sign-in, sessions, CSRF and API keys over HTTP', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  it('runs first-run set-up once, making the first account admin', async () => {
    const anonymous = new WebClient(t.url);
    expect((await anonymous.json<SessionInfo>('GET', '/api/auth/session')).body).toEqual({
      user: null,
      csrfToken: null,
      needsSetup: true,
      organization: null,
      signIn: { password: true, providers: [] },
      permissions: [],
    });
    const admin = new WebClient(t.url);
    const info = await admin.setup('Admin@Example.com', 'a long admin password');
    expect(info.user).toMatchObject({ email: 'admin@example.com', role: 'admin', orgId: 'org_default' });
    expect(info.organization).toMatchObject({ slug: 'default' });
    expect(info.permissions).toContain('orgs:manage');
    const cookie = (await admin.request('GET', '/api/auth/session')).status;
    expect(cookie).toBe(200);
    const again = await new WebClient(t.url).json<Problem>('POST', '/api/auth/setup', {
      email: 'x@example.com',
      password: 'another password',
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('setup_complete');
    expect((await anonymous.json<SessionInfo>('GET', '/api/auth/session')).body.needsSetup).toBe(false);
  });

  it('sets an HttpOnly SameSite session cookie and signs out', async () => {
    const client = new WebClient(t.url);
    const response = await client.request('POST', '/api/auth/login', { email: 'admin@example.com', password: 'a long admin password' });
    expect(response.status).toBe(200);
    const cookie = response.headers.getSetCookie()[0] ?? '';
    expect(cookie).toMatch(/axon_session=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    client.csrfToken = ((await response.json()) as SessionInfo).csrfToken;
    expect((await client.request('POST', '/api/auth/logout')).status).toBe(204);
    expect((await client.json<SessionInfo>('GET', '/api/auth/session')).body.user).toBeNull();
  });

  it('refuses cookie-authenticated writes without the CSRF token', async () => {
    const client = new WebClient(t.url);
    await client.login('admin@example.com', 'a long admin password');
    const token = client.csrfToken;
    client.csrfToken = null;
    const refused = await client.json<Problem>('POST', '/api/conversations', {});
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('csrf_failed');
    client.csrfToken = 'x'.repeat(token?.length ?? 10);
    expect((await client.json('POST', '/api/conversations', {})).status).toBe(403);
    client.csrfToken = token;
    expect((await client.json('POST', '/api/conversations', {})).status).toBe(201);
  });

  it('throttles repeated failed sign-ins with 429 and Retry-After', async () => {
    const client = new WebClient(t.url);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 7; i++) {
      last = await client.request('POST', '/api/auth/login', { email: 'admin@example.com', password: `wrong-${i}` });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    // Even the right password waits out the window for this account and address.
    expect(
      (await client.request('POST', '/api/auth/login', { email: 'admin@example.com', password: 'a long admin password' })).status,
    ).toBe(429);
  });

  it('creates an API key shown once, stored hashed, usable as a bearer token, and revocable', async () => {
    const admin = new WebClient(t.url);
    // The account above is throttled now; use a second one.
    const { createAuthService } = await import('./auth-service');
    await createAuthService({ store: t.server.store, sessionTtlMs: 1 }).createUser({
      email: 'keys@example.com',
      password: 'keys password 1',
      role: 'member',
    });
    await admin.login('keys@example.com', 'keys password 1');
    const created = await admin.json<CreatedApiKey>('POST', '/api/keys', { name: 'laptop' });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^axn_[A-Za-z0-9_-]{43}$/);
    const listed = await admin.json<{ items: ApiKey[] }>('GET', '/api/keys');
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);
    expect(listed.body.items[0]).toMatchObject({ name: 'laptop', prefix: created.body.key.slice(0, 10), revokedAt: null });
    const row = (t.server.store as unknown as { db: { prepare(s: string): { get(): Record<string, string> } } }).db
      .prepare('SELECT key_hash FROM api_keys')
      .get();
    expect(row.key_hash).not.toContain(created.body.key.slice(4));

    const withKey = await fetch(`${t.url}/api/conversations`, { headers: { authorization: `Bearer ${created.body.key}` } });
    expect(withKey.status).toBe(200);
    // Bearer calls need no CSRF token.
    const write = await fetch(`${t.url}/api/conversations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${created.body.key}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(write.status).toBe(201);

    expect((await admin.request('DELETE', `/api/keys/${created.body.apiKey.id}`)).status).toBe(204);
    const revoked = await fetch(`${t.url}/api/conversations`, { headers: { authorization: `Bearer ${created.body.key}` } });
    expect(revoked.status).toBe(401);
    expect((await admin.request('DELETE', `/api/keys/${created.body.apiKey.id}`)).status).toBe(404);
  });

  it('keeps members out of admin routes', async () => {
    const member = new WebClient(t.url);
    await member.login('keys@example.com', 'keys password 1');
    const response = await member.json<Problem>('GET', '/api/admin/users');
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('forbidden');
  });

  it('never writes passwords, keys, cookies or CSRF tokens to the logs', () => {
    const logs = t.logs.join('');
    for (const secret of ['a long admin password', 'keys password 1', 'axn_', 'axon_session=']) expect(logs).not.toContain(secret);
    expect(logs).toContain('"route":"/api/auth/login"');
  });
});
