import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../server/src/auth/auth-service';
import { HOME_ORG_ID } from '../server/src/store';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST });
  browser = await launchBrowser();
  page = await browser.newPage();
  await setUpFirstAdmin(page, t.url);
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  const member = await auth.createUser({ email: 'member@example.com', password: 'member password 1', role: 'member' });
  await auth.createApiKey(member.id, 'member script', { rpm: 30 });
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('administration in the web app', () => {
  it("changes a user's role and revokes their key", async () => {
    await page.getByRole('link', { name: 'Users and keys' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await expect.poll(() => page.getByTestId('admin-user').count()).toBe(2);
    await page.getByLabel('Role of member@example.com').selectOption('builder');
    await expect.poll(async () => (await t.server.store.users.findByEmail('member@example.com'))?.role).toBe('builder');
    const key = page.getByTestId('admin-key').filter({ hasText: 'member script' });
    expect(await key.innerText()).toContain('30 req/min');
    await key.getByRole('button', { name: 'Revoke' }).click();
    await key.getByText('revoked').waitFor();
    expect((await t.server.store.apiKeys.listAll(HOME_ORG_ID)).every((k) => k.revokedAt !== null)).toBe(true);
  });
});
