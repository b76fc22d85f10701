import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdentityProvider, type TestIdentityProvider } from '../server/src/testing/oidc-idp';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, WEB_DIST } from './browser';

let idp: TestIdentityProvider;
let t: TestServer;
let browser: Browser;

const CALLBACK = '/api/auth/sso/corp/callback';

beforeAll(async () => {
  idp = await startTestIdentityProvider();
  t = await startTestServer({
    webDir: WEB_DIST,
    overrides: {
      sso: [
        {
          id: 'corp',
          name: 'Corp ID',
          issuer: idp.issuer,
          clientId: idp.clientId,
          clientSecret: idp.clientSecret,
          allowHttp: true,
          roleMap: { 'axon-admins': 'admin', 'axon-builders': 'builder', auditors: 'auditor' },
          defaultRole: 'member',
          organization: 'acme',
        },
      ],
    },
  });
  idp.allowRedirect(`${t.url}${CALLBACK}`);
  await t.server.store.organizations.create({ slug: 'acme', name: 'Acme Corp', limits: {}, promptLogMode: null });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
  await idp?.close();
});

/** Clicks "Sign in with Corp ID" and, when the provider asks, signs in as `login` and consents. */
async function signInThroughProvider(page: Page, login: string): Promise<void> {
  await page.getByRole('link', { name: 'Sign in with Corp ID' }).click();
  await page.waitForURL((url) => url.origin === idp.issuer || url.origin === t.url);
  if (new URL(page.url()).origin === idp.issuer) {
    if (await page.locator('input[name="login"]').count()) {
      await page.locator('input[name="login"]').fill(login);
      await page.locator('input[name="password"]').fill('any password');
      await page.locator('button[type="submit"]').click();
    }
    await page.waitForURL((url) => url.origin === t.url || url.pathname.includes('/interaction/'));
    if (new URL(page.url()).origin === idp.issuer) await page.getByRole('button', { name: 'Continue' }).click();
  }
  await page.waitForURL((url) => url.origin === t.url && !url.pathname.startsWith('/api/'));
}

const sessionUser = async (page: Page) =>
  (await (await page.request.get(`${t.url}/api/auth/session`)).json()) as {
    user: { email: string; role: string; orgId: string } | null;
    organization: { slug: string } | null;
  };

async function freshPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(t.url);
  await page.getByRole('link', { name: 'Sign in with Corp ID' }).waitFor();
  return { context, page };
}

const lastFailure = async () => (await t.server.store.audit.list({ limit: 1, action: 'auth.login_failed' }))[0];

describe('single sign-on through an OpenID Connect provider', () => {
  let codeUsed: string | undefined;
  let callbackUsed: string | undefined;

  it('signs a new person in, creates their account in the provider’s organisation with the mapped role', async () => {
    const { context, page } = await freshPage();
    page.on('request', (request) => {
      if (request.url().includes(CALLBACK)) callbackUsed = request.url();
    });
    await signInThroughProvider(page, 'ada');
    await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
    await page.getByText('ada@acme.test').waitFor();
    const session = await sessionUser(page);
    expect(session.user).toMatchObject({ email: 'ada@acme.test', role: 'admin' });
    expect(session.organization?.slug).toBe('acme');
    codeUsed = new URL(callbackUsed as string).searchParams.get('code') ?? undefined;
    expect(codeUsed).toBeTruthy();
    const created = await t.server.store.audit.list({ limit: 5, action: 'user.created' });
    expect(created[0]?.details).toContain('ada@acme.test');
    await context.close();
  });

  it('maps groups to roles on every sign-in (the provider is the source of truth)', async () => {
    const { context, page } = await freshPage();
    await signInThroughProvider(page, 'bob');
    expect((await sessionUser(page)).user?.role).toBe('member');
    idp.people.bob = { email: 'bob@acme.test', groups: ['axon-builders'] };
    await page.request.post(`${t.url}/api/auth/logout`, {
      headers: {
        'x-csrf-token': ((await (await page.request.get(`${t.url}/api/auth/session`)).json()) as { csrfToken: string }).csrfToken,
      },
    });
    await page.goto(t.url);
    await signInThroughProvider(page, 'bob');
    expect((await sessionUser(page)).user?.role).toBe('builder');
    await context.close();
  });

  it('refuses a tampered state and signs no one in', async () => {
    const { context, page } = await freshPage();
    idp.rewriteRedirect((url) => {
      url.searchParams.set('state', `${url.searchParams.get('state')}x`);
      return url;
    });
    await signInThroughProvider(page, 'ada');
    idp.rewriteRedirect(undefined);
    await page.getByRole('alert').filter({ hasText: 'could not be verified' }).waitFor();
    expect((await sessionUser(page)).user).toBeNull();
    expect((await lastFailure())?.details).toMatch(/state/);
    await context.close();
  });

  it('refuses a replayed callback and a replayed authorization code', async () => {
    const { context, page } = await freshPage();
    // The same redirect again: its state was used up by the first sign-in.
    await page.goto(callbackUsed as string);
    await page.getByRole('alert').filter({ hasText: 'expired or was already used' }).waitFor();
    expect((await sessionUser(page)).user).toBeNull();
    // A new sign-in, whose redirect back carries the old (redeemed) code instead of its own.
    idp.rewriteRedirect((url) => {
      url.searchParams.set('code', codeUsed as string);
      return url;
    });
    await signInThroughProvider(page, 'ada');
    idp.rewriteRedirect(undefined);
    await page.getByRole('alert').filter({ hasText: 'could not be verified' }).waitFor();
    expect((await sessionUser(page)).user).toBeNull();
    expect((await lastFailure())?.details).toMatch(/invalid_grant/);
    await context.close();
  });

  it('refuses an ID token issued for another audience, and an expired one', async () => {
    for (const [mode, reason] of [
      ['wrong-audience', /aud/],
      ['expired', /exp/],
    ] as const) {
      idp.tamper(mode);
      const { context, page } = await freshPage();
      await signInThroughProvider(page, 'ada');
      await page.getByRole('alert').filter({ hasText: 'could not be verified' }).waitFor();
      expect((await sessionUser(page)).user, mode).toBeNull();
      expect((await lastFailure())?.details, mode).toMatch(reason);
      await context.close();
    }
    idp.tamper('none');
  });
});
