import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../server/src/auth/auth-service';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST });
  await createAuthService({ store: t.server.store, sessionTtlMs: 60_000 }).createUser({
    email: 'auditor@example.com',
    password: 'auditor password 1',
    role: 'auditor',
  });
  browser = await launchBrowser();
  page = await browser.newPage();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('audit trail in the web app', () => {
  it('takes an auditor straight to the trail, with a failed sign-in in it and the chain verified', async () => {
    await page.goto(t.url);
    await page.getByLabel('Email').fill('auditor@example.com');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('Password').fill('auditor password 1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Audit trail' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/audit');
    expect(await page.getByRole('link', { name: 'Collections' }).count()).toBe(0);
    await expect.poll(() => page.getByTestId('audit-row').count()).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('audit-row').first().innerText()).toContain('auth.login');
    expect(await page.getByTestId('audit-row').filter({ hasText: 'auth.login_failed' }).count()).toBe(1);
    expect(await page.getByTestId('audit-verdict').innerText()).toMatch(/Chain intact: \d+ events/);
    await page.getByRole('combobox', { name: 'Action' }).selectOption('auth.login_failed');
    await expect.poll(() => page.getByTestId('audit-row').count()).toBe(1);
  });

  it('shows an auditor the usage dashboard with charts by model and by user', async () => {
    const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
    const user = await auth.createUser({ email: 'app@example.com', password: 'app password 12', role: 'member' });
    const { key } = await auth.createApiKey(user.id, 'app');
    for (const model of ['sim/sim-1', 'sim/sim-1', 'local/extractive']) {
      const response = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
      });
      expect(response.status).toBe(200);
    }
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Usage' }).waitFor();
    await expect.poll(() => page.getByTestId('usage-row').count()).toBe(2);
    expect(await page.getByTestId('usage-row').filter({ hasText: 'sim/sim-1' }).innerText()).toMatch(/sim\/sim-1\s+2\s+0/);
    expect(await page.getByTestId('usage-chart').count()).toBe(4);
    await page.getByRole('combobox', { name: 'Group by' }).selectOption('user');
    await expect.poll(() => page.getByTestId('usage-row').first().innerText()).toContain('app@example.com');
  });
});
