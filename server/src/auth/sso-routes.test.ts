import type { Problem, SessionInfo } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdentityProvider, type TestIdentityProvider } from '../testing/oidc-idp';
import { startTestServer, type TestServer } from '../testing/test-server';

let idp: TestIdentityProvider;
let t: TestServer;

beforeAll(async () => {
  idp = await startTestIdentityProvider();
  t = await startTestServer({
    overrides: {
      localAccounts: false,
      sso: [{ id: 'corp', name: 'Corp ID', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, allowHttp: true }],
    },
  });
  idp.allowRedirect(`${t.url}/api/auth/sso/corp/callback`);
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
});

describe('single sign-on routes', () => {
  it('offers only single sign-on when local accounts are off', async () => {
    const session = (await (await fetch(`${t.url}/api/auth/session`)).json()) as SessionInfo;
    expect(session.signIn).toEqual({ password: false, providers: [{ id: 'corp', name: 'Corp ID' }] });
    expect(session.needsSetup).toBe(false);
    for (const path of ['/api/auth/login', '/api/auth/setup']) {
      const response = await fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'a@example.com', password: 'a long password' }),
      });
      expect(response.status, path).toBe(403);
      expect(((await response.json()) as Problem).detail).toMatch(/single sign-on/);
    }
  });

  it('sends the browser to the provider with PKCE, state and nonce, and keeps the state in an HttpOnly cookie', async () => {
    const response = await fetch(`${t.url}/api/auth/sso/corp/start?returnTo=/c/123`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location') ?? '');
    expect(location.origin).toBe(idp.issuer);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(location.searchParams.get('redirect_uri')).toBe(`${t.url}/api/auth/sso/corp/callback`);
    const state = location.searchParams.get('state');
    expect(state?.length).toBeGreaterThan(20);
    expect(location.searchParams.get('nonce')?.length).toBeGreaterThan(20);
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('axon_sso_state=')) ?? '';
    expect(cookie).toContain(`axon_sso_state=${state}`);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
  });

  it('refuses redirects off the site and unknown providers', async () => {
    for (const returnTo of ['//evil.example/x', 'https://evil.example/', '/\\evil.example']) {
      const response = await fetch(`${t.url}/api/auth/sso/corp/start?returnTo=${encodeURIComponent(returnTo)}`, { redirect: 'manual' });
      expect(response.status, returnTo).toBe(400);
    }
    expect((await fetch(`${t.url}/api/auth/sso/nobody/start`, { redirect: 'manual' })).status).toBe(404);
  });

  it('sends a callback without a sign-in in progress back to the sign-in page, audited', async () => {
    const response = await fetch(`${t.url}/api/auth/sso/corp/callback?code=abc&state=def`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/?sso_error=state');
    const [event] = await t.server.store.audit.list({ limit: 1, action: 'auth.login_failed' });
    expect(event?.details).toMatch(/state cookie missing/);
  });

  it('answers 502 when the provider cannot be reached', async () => {
    const down = await startTestServer({
      overrides: { sso: [{ id: 'gone', name: 'Gone', issuer: 'http://127.0.0.1:9/', clientId: 'x', allowHttp: true }] },
    });
    try {
      const response = await fetch(`${down.url}/api/auth/sso/gone/start`, { redirect: 'manual' });
      expect(response.status).toBe(502);
      expect(((await response.json()) as Problem).code).toBe('idp_unavailable');
    } finally {
      await down.close();
    }
  });
});
