import { createServer, type Server } from 'node:http';
import type { Account, PasswordResetLink, Problem, SessionInfo, SessionSummary } from '@axon/contracts';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOME_ORG_ID } from '../store';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { createAuthService } from './auth-service';
import { createPasswordReset } from './password-reset';

const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'axon-api';

let t: TestServer;
let jwksServer: Server;
let signingKey: CryptoKey;
let admin: WebClient;
let auth: ReturnType<typeof createAuthService>;
let counter = 0;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signingKey = pair.privateKey;
  const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const port = (jwksServer.address() as { port: number }).port;
  t = await startTestServer({
    overrides: { jwt: { issuer: ISSUER, audience: AUDIENCE, jwksUrl: `http://127.0.0.1:${port}/jwks.json`, jwksCooldownSeconds: 0 } },
  });
  admin = new WebClient(t.url);
  await admin.setup('admin@example.com', 'admin password 1');
  auth = createAuthService({ store: t.server.store, sessionTtlMs: 3_600_000 });
});
afterAll(async () => {
  await t?.close();
  jwksServer?.close();
});

/** A fresh account in the first organisation, signed in, with an API key. */
async function buildMember(options: { role?: 'member' | 'admin'; orgId?: string } = {}) {
  counter += 1;
  const email = `person${counter}@example.com`;
  const password = `password number ${counter}`;
  const user = await auth.createUser({ email, password, role: options.role ?? 'member', orgId: options.orgId });
  const client = new WebClient(t.url);
  await client.login(email, password);
  const { key } = await auth.createApiKey(user.id, 'script');
  return { user, email, password, client, key };
}

const withKey = (key: string, path = '/v1/models') => fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
const signIn = (email: string, password: string) => new WebClient(t.url).json<Problem>('POST', '/api/auth/login', { email, password });
const auditActions = async () => (await t.server.store.audit.list({ limit: 500 })).map((e) => ({ action: e.action, target: e.target }));

describe('disabling and enabling accounts', () => {
  it('ends the account’s session and API key at once and refuses its sign-ins with account_disabled', async () => {
    const m = await buildMember();
    expect((await m.client.request('GET', '/api/conversations')).status).toBe(200);
    expect((await withKey(m.key)).status).toBe(200);

    const disabled = await admin.json<Account>('POST', `/api/admin/users/${m.user.id}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ id: m.user.id, email: m.email });
    expect(disabled.body.disabledAt).toEqual(expect.any(String));
    expect(disabled.body).not.toHaveProperty('passwordHash');

    expect((await m.client.request('GET', '/api/conversations')).status).toBe(401);
    expect((await m.client.json<SessionInfo>('GET', '/api/auth/session')).body.user).toBeNull();
    expect((await withKey(m.key)).status).toBe(401);
    expect((await withKey(m.key, '/api/conversations')).status).toBe(401);

    const refused = await signIn(m.email, m.password);
    expect(refused.status).toBe(403);
    expect(refused.response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(refused.body.code).toBe('account_disabled');
    // Without the right password nothing tells that the account exists or is disabled.
    expect((await signIn(m.email, 'a wrong password')).body.code).toBe('invalid_credentials');

    const listed = await admin.json<{ items: Account[] }>('GET', '/api/admin/users');
    expect(listed.body.items.find((u) => u.id === m.user.id)?.disabledAt).toEqual(disabled.body.disabledAt);
    expect(listed.body.items.find((u) => u.email === 'admin@example.com')?.disabledAt).toBeNull();
    expect(await auditActions()).toContainEqual({ action: 'user.disabled', target: `user:${m.user.id}` });
  });

  it('is seen by another process on the same store: sessions at once, cached keys within keyCacheMs', async () => {
    const m = await buildMember();
    let clock = Date.now();
    const replica = createAuthService({ store: t.server.store, sessionTtlMs: 60_000, keyCacheMs: 5000, now: () => new Date(clock) });
    const session = await replica.openSession(m.user);
    const sessionToken = session.token;
    expect(await replica.authenticate({ bearer: m.key })).toMatchObject({ via: 'api_key' });
    expect(await replica.authenticate({ sessionToken })).toMatchObject({ via: 'session' });

    expect((await admin.request('POST', `/api/admin/users/${m.user.id}/disable`)).status).toBe(200);
    expect(await replica.authenticate({ sessionToken })).toBeUndefined();
    // A fresh replica (nothing cached) refuses the key at once; one that looked it up just before may
    // trust its cached lookup for keyCacheMs, and no longer.
    const fresh = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
    await expect(fresh.authenticate({ bearer: m.key })).rejects.toMatchObject({ code: 'unauthenticated' });
    clock += 5001;
    await expect(replica.authenticate({ bearer: m.key })).rejects.toMatchObject({ code: 'unauthenticated' });
  });

  it('refuses a disabled account’s bearer JWT and single sign-on', async () => {
    const m = await buildMember();
    const token = await new SignJWT({ email: m.email })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(signingKey);
    expect((await withKey(token, '/api/conversations')).status).toBe(200);
    await admin.request('POST', `/api/admin/users/${m.user.id}/disable`);
    const refused = await withKey(token, '/api/conversations');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as Problem).code).toBe('account_disabled');
    // Single sign-on provisions through the same check.
    await expect(auth.provision({ provider: 'corp', subject: 'sub-1', email: m.email, role: 'member' })).rejects.toMatchObject({
      code: 'account_disabled',
    });
  });

  it('enables an account again: it signs in, its old key stays revoked', async () => {
    const m = await buildMember();
    await admin.request('POST', `/api/admin/users/${m.user.id}/disable`);
    const enabled = await admin.json<Account>('POST', `/api/admin/users/${m.user.id}/enable`);
    expect(enabled.status).toBe(200);
    expect(enabled.body.disabledAt).toBeNull();
    expect((await signIn(m.email, m.password)).status).toBe(200);
    expect((await withKey(m.key)).status).toBe(401);
    expect(await auditActions()).toContainEqual({ action: 'user.enabled', target: `user:${m.user.id}` });
  });

  it('refuses disabling or deleting oneself, and answers 404 for unknown ids and other organisations’ accounts', async () => {
    const self = (await admin.json<SessionInfo>('GET', '/api/auth/session')).body.user?.id;
    for (const [method, path] of [
      ['POST', `/api/admin/users/${self}/disable`],
      ['DELETE', `/api/admin/users/${self}`],
    ] as const) {
      const refused = await admin.json<Problem>(method, path);
      expect(refused.status, path).toBe(409);
      expect(refused.body.code).toBe('conflict');
    }
    const acme = await t.server.store.organizations.create({ slug: 'acme', name: 'Acme', limits: {}, promptLogMode: null });
    const tenantAdmin = await buildMember({ role: 'admin', orgId: acme.id });
    const home = await buildMember();
    for (const suffix of ['/disable', '/enable', '', '/password-reset']) {
      const method = suffix === '' ? 'DELETE' : 'POST';
      expect((await tenantAdmin.client.request(method, `/api/admin/users/${home.user.id}${suffix}`)).status, suffix).toBe(404);
      expect((await admin.request(method, `/api/admin/users/${tenantAdmin.user.id}${suffix}`)).status, suffix).toBe(404);
      expect((await admin.request(method, `/api/admin/users/no-such-user${suffix}`)).status, suffix).toBe(404);
    }
    expect((await home.client.request('GET', '/api/conversations')).status).toBe(200);
    expect((await tenantAdmin.client.request('GET', '/api/conversations')).status).toBe(200);
  });

  it('never leaves the first organisation without an active admin, even when two admins disable each other', async () => {
    const store = t.server.store;
    const first = await store.users.findByEmail('admin@example.com');
    const second = await buildMember({ role: 'admin' });
    const others = (await store.users.list(HOME_ORG_ID)).filter(
      (u) => u.role === 'admin' && u.disabledAt === null && u.id !== first?.id && u.id !== second.user.id,
    );
    for (const other of others) await store.users.disable(other.id, HOME_ORG_ID, new Date());
    expect(await store.users.disable(second.user.id, HOME_ORG_ID, new Date())).toBe('done');
    expect(await store.users.disable(first?.id as string, HOME_ORG_ID, new Date())).toBe('last_admin');
    expect(await store.users.delete(first?.id as string, HOME_ORG_ID, new Date())).toBe('last_admin');
    expect((await store.users.findById(first?.id as string))?.disabledAt).toBeNull();
    expect((await admin.request('GET', '/api/conversations')).status).toBe(200);
    expect(await store.users.enable(second.user.id, HOME_ORG_ID)).toBe(true);
  });
});

describe('deleting accounts', () => {
  it('removes personal data, sessions and keys, keeps organisation-wide collections and the audit trail, frees the email', async () => {
    const m = await buildMember();
    const colleague = await buildMember();
    const conversation = await m.client.json<{ id: string }>('POST', '/api/conversations', {});
    const personal = await m.client.json<{ id: string }>('POST', '/api/collections', { name: 'mine' });
    const shared = await m.client.json<{ id: string }>('POST', '/api/collections', { name: 'team', visibility: 'organisation' });
    expect([conversation.status, personal.status, shared.status]).toEqual([201, 201, 201]);

    expect((await admin.request('DELETE', `/api/admin/users/${m.user.id}`)).status).toBe(204);

    expect((await m.client.request('GET', '/api/conversations')).status).toBe(401);
    expect((await withKey(m.key)).status).toBe(401);
    expect((await signIn(m.email, m.password)).body.code).toBe('invalid_credentials');
    const listed = await admin.json<{ items: Account[] }>('GET', '/api/admin/users');
    expect(listed.body.items.map((u) => u.id)).not.toContain(m.user.id);
    expect((await admin.request('PATCH', `/api/admin/users/${m.user.id}`, { role: 'builder' })).status).toBe(404);
    expect((await admin.request('DELETE', `/api/admin/users/${m.user.id}`)).status).toBe(404);

    const db = (t.server.store as unknown as { db: import('better-sqlite3').Database }).db;
    const count = (sql: string) => (db.prepare(sql).get(m.user.id) as { n: number }).n;
    expect(count('SELECT count(*) AS n FROM conversations WHERE user_id = ?')).toBe(0);
    expect(count('SELECT count(*) AS n FROM sessions WHERE user_id = ?')).toBe(0);
    expect(count('SELECT count(*) AS n FROM api_keys WHERE user_id = ?')).toBe(0);
    expect(count("SELECT count(*) AS n FROM users WHERE id = ? AND email LIKE '%@deleted.invalid' AND password_hash IS NULL")).toBe(1);
    expect(await t.server.store.collections.getForUser(personal.body.id, colleague.user.id)).toBeUndefined();
    expect(count('SELECT count(*) AS n FROM collections WHERE owner_id = ?')).toBe(1);
    expect((await colleague.client.request('GET', `/api/collections/${shared.body.id}`)).status).toBe(200);

    const event = (await t.server.store.audit.list({ limit: 50, action: 'user.deleted' }))[0];
    expect(event?.target).toBe(`user:${m.user.id}`);
    expect(JSON.parse(event?.details ?? '{}')).toMatchObject({
      email: m.email,
      collectionsDeleted: [personal.body.id],
      collectionsKept: [shared.body.id],
    });
    expect((await t.server.store.audit.list({ limit: 500 })).some((e) => e.actorId === m.user.id)).toBe(true);

    const again = await admin.json<Account>('POST', '/api/admin/users', { email: m.email, password: 'a brand new password' });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(m.user.id);
  });
});

describe('password reset links', () => {
  const reset = (body: unknown) => new WebClient(t.url).json<Problem>('POST', '/api/auth/password-reset', body);
  const tokenOf = (link: PasswordResetLink) => new URL(link.url).hash.replace('#token=', '');

  it('sets a new password once and ends every session of the account', async () => {
    const m = await buildMember();
    const second = new WebClient(t.url);
    await second.login(m.email, m.password);
    const created = await admin.json<PasswordResetLink>('POST', `/api/admin/users/${m.user.id}/password-reset`);
    expect(created.status).toBe(201);
    expect(created.response.headers.get('cache-control')).toBe('no-store');
    expect(created.body.url).toMatch(new RegExp(`^${t.url}/reset-password#token=[A-Za-z0-9_-]{43}$`));
    expect(Date.parse(created.body.expiresAt) - Date.now()).toBeGreaterThan(59 * 60_000);
    expect(Date.parse(created.body.expiresAt) - Date.now()).toBeLessThanOrEqual(60 * 60_000);
    const token = tokenOf(created.body);
    // Only the hash is stored.
    const db = (t.server.store as unknown as { db: import('better-sqlite3').Database }).db;
    expect(JSON.stringify(db.prepare('SELECT * FROM password_resets').all())).not.toContain(token);

    // A too-short password is refused without using the link up.
    expect((await reset({ token, password: 'short' })).status).toBe(400);
    const done = await new WebClient(t.url).request('POST', '/api/auth/password-reset', { token, password: 'my new password 1' });
    expect(done.status).toBe(204);

    for (const client of [m.client, second]) expect((await client.request('GET', '/api/conversations')).status).toBe(401);
    expect((await signIn(m.email, m.password)).status).toBe(401);
    expect((await signIn(m.email, 'my new password 1')).status).toBe(200);
    expect((await withKey(m.key)).status).toBe(200);

    const reused = await reset({ token, password: 'another new password' });
    expect(reused.status).toBe(400);
    expect(reused.body.code).toBe('invalid_reset_token');
    expect(await auditActions()).toEqual(
      expect.arrayContaining([
        { action: 'user.password_reset_created', target: `user:${m.user.id}` },
        { action: 'user.password_reset', target: `user:${m.user.id}` },
      ]),
    );
  });

  it('refuses null, empty, array, wrong-typed, unknown, expired, replaced and disabled-account tokens with 4xx', async () => {
    const m = await buildMember();
    const expired = await createPasswordReset(t.server.store, {
      userId: m.user.id,
      createdBy: null,
      now: new Date(Date.now() - 2 * 3_600_000),
    });
    const password = 'a valid new password';
    const cases: Array<[label: string, body: unknown, status: number, code: string]> = [
      ['no body', undefined, 400, 'validation_failed'],
      ['null', 'null', 400, 'validation_failed'],
      ['empty object', {}, 400, 'validation_failed'],
      ['array', [], 400, 'validation_failed'],
      ['token null', { token: null, password }, 400, 'validation_failed'],
      ['token number', { token: 12345, password }, 400, 'validation_failed'],
      ['token array', { token: ['x'], password }, 400, 'validation_failed'],
      ['token object', { token: { $ne: '' }, password }, 400, 'validation_failed'],
      ['token empty', { token: '', password }, 400, 'validation_failed'],
      ['token too long', { token: 'x'.repeat(5000), password }, 400, 'validation_failed'],
      ['unknown field', { token: 'abc', password, email: m.email }, 400, 'validation_failed'],
      ['unknown token', { token: 'a'.repeat(43), password }, 400, 'invalid_reset_token'],
      ['expired token', { token: expired.token, password }, 400, 'invalid_reset_token'],
    ];
    for (const [label, body, status, code] of cases) {
      const answer = await reset(body);
      expect(answer.status, label).toBe(status);
      expect(answer.body.code, label).toBe(code);
      expect(answer.response.headers.get('content-type'), label).toMatch(/application\/problem\+json/);
    }
    const broken = await fetch(`${t.url}/api/auth/password-reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"token":',
    });
    expect(broken.status).toBe(400);

    // A newer link replaces the older one.
    const older = tokenOf((await admin.json<PasswordResetLink>('POST', `/api/admin/users/${m.user.id}/password-reset`)).body);
    const newer = tokenOf((await admin.json<PasswordResetLink>('POST', `/api/admin/users/${m.user.id}/password-reset`)).body);
    expect((await reset({ token: older, password })).body.code).toBe('invalid_reset_token');
    // Disabling drops pending links, and a disabled account gets none.
    await admin.request('POST', `/api/admin/users/${m.user.id}/disable`);
    expect((await reset({ token: newer, password })).body.code).toBe('invalid_reset_token');
    expect((await admin.json<Problem>('POST', `/api/admin/users/${m.user.id}/password-reset`)).status).toBe(409);
    expect((await signIn(m.email, m.password)).body.code).toBe('account_disabled');
  });
});

describe('one’s own sessions', () => {
  it('lists them without secrets, marks the current one, and revokes one by id', async () => {
    const m = await buildMember();
    const laptop = new WebClient(t.url);
    const login = await laptop.request(
      'POST',
      '/api/auth/login',
      { email: m.email, password: m.password },
      { headers: { 'user-agent': 'LaptopBrowser/1.0' } },
    );
    laptop.csrfToken = ((await login.json()) as SessionInfo).csrfToken;
    expect((await laptop.request('GET', '/api/conversations')).status).toBe(200);

    const listed = await laptop.json<{ items: SessionSummary[] }>('GET', '/api/auth/sessions');
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(2);
    const current = listed.body.items.find((s) => s.current);
    const other = listed.body.items.find((s) => !s.current);
    expect(current).toMatchObject({ userAgent: 'LaptopBrowser/1.0', ip: '127.0.0.1' });
    expect(current?.lastSeenAt).toEqual(expect.any(String));
    expect(Object.keys(current ?? {}).sort()).toEqual(['createdAt', 'current', 'expiresAt', 'id', 'ip', 'lastSeenAt', 'userAgent']);
    const text = JSON.stringify(listed.body);
    for (const secret of [laptop.cookie.split('=')[1], m.client.cookie.split('=')[1], laptop.csrfToken, m.client.csrfToken])
      expect(text).not.toContain(secret as string);
    // The id names the session; it does not sign anyone in.
    const asCookie = await fetch(`${t.url}/api/auth/session`, { headers: { cookie: `axon_session=${other?.id}` } });
    expect(((await asCookie.json()) as SessionInfo).user).toBeNull();

    expect((await laptop.request('DELETE', `/api/auth/sessions/${other?.id}`)).status).toBe(204);
    expect((await m.client.request('GET', '/api/conversations')).status).toBe(401);
    expect((await laptop.request('GET', '/api/conversations')).status).toBe(200);
    expect((await laptop.request('DELETE', `/api/auth/sessions/${other?.id}`)).status).toBe(404);
    expect(await auditActions()).toContainEqual({ action: 'auth.session_revoked', target: `session:${other?.id}` });

    const revokeCurrent = await laptop.request('DELETE', `/api/auth/sessions/${current?.id}`);
    expect(revokeCurrent.status).toBe(204);
    expect(revokeCurrent.headers.getSetCookie().join()).toMatch(/axon_session=;/);
    expect((await laptop.request('GET', '/api/conversations')).status).toBe(401);
  });

  it('answers 404 for another person’s session and leaves it working', async () => {
    const owner = await buildMember();
    const intruder = await buildMember();
    const ownSessions = await owner.client.json<{ items: SessionSummary[] }>('GET', '/api/auth/sessions');
    const id = ownSessions.body.items[0]?.id as string;
    const intruders = await intruder.client.json<{ items: SessionSummary[] }>('GET', '/api/auth/sessions');
    expect(intruders.body.items.map((s) => s.id)).not.toContain(id);
    const refused = await intruder.client.json<Problem>('DELETE', `/api/auth/sessions/${id}`);
    expect(refused.status).toBe(404);
    expect(refused.body.code).toBe('not_found');
    expect((await admin.request('DELETE', `/api/auth/sessions/${id}`)).status).toBe(404);
    expect((await owner.client.request('GET', '/api/conversations')).status).toBe(200);
    // Account routes take keys with the admin scope only, as every non-chat route does.
    const byKey = await fetch(`${t.url}/api/auth/sessions`, { headers: { authorization: `Bearer ${owner.key}` } });
    expect(byKey.status).toBe(403);
  });
});
