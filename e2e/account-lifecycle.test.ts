import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../server/src/auth/auth-service';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let admin: Page;

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST });
  browser = await launchBrowser();
  admin = await browser.newPage();
  await setUpFirstAdmin(admin, t.url);
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  await auth.createUser({ email: 'member@example.com', password: 'member password 1', role: 'member' });
  await auth.createUser({ email: 'leaver@example.com', password: 'leaver password 1', role: 'member' });
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('account lifecycle in the web app', () => {
  it('disables an account, then resets its password with a one-time link that the person uses to sign in', async () => {
    await admin.getByRole('link', { name: 'Users and keys' }).click();
    const row = admin.getByTestId('admin-user').filter({ hasText: 'member@example.com' });
    await row.waitFor();

    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByText('disabled', { exact: true }).waitFor();
    expect((await t.server.store.users.findByEmail('member@example.com'))?.disabledAt).toEqual(expect.any(String));

    const person = await (await browser.newContext()).newPage();
    await person.goto(t.url);
    await signIn(person, 'member@example.com', 'member password 1');
    await expect.poll(() => person.getByRole('alert').innerText()).toMatch(/disabled/i);

    await row.getByRole('button', { name: 'Enable' }).click();
    await row.getByText('active', { exact: true }).waitFor();
    await row.getByRole('button', { name: 'Reset password' }).click();
    const link = await admin.getByTestId('reset-link').innerText();
    expect(link).toMatch(new RegExp(`^${t.url}/reset-password#token=[\\w-]{43}$`));

    await person.goto(link);
    await person.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await person.getByLabel('New password', { exact: true }).fill('a fresh password 1');
    await person.getByLabel('Repeat the new password').fill('a fresh password 1');
    await person.getByRole('button', { name: 'Set password' }).click();
    await person.getByRole('status').filter({ hasText: 'Your password has been changed' }).waitFor();

    // The link works once.
    const again = await fetch(`${t.url}/api/auth/password-reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: new URL(link).hash.slice('#token='.length), password: 'another password 1' }),
    });
    expect(again.status).toBe(400);

    await person.getByRole('link', { name: 'Sign in' }).click();
    await signIn(person, 'member@example.com', 'a fresh password 1');
    await person.getByRole('heading', { name: 'How can I help?' }).waitFor();

    // The new session is listed in the person's settings, as this browser's.
    await person.getByRole('link', { name: 'API keys' }).click();
    await person.getByRole('heading', { name: 'Sessions' }).waitFor();
    await expect.poll(() => person.getByTestId('session').count()).toBe(1);
    expect(await person.getByTestId('session').innerText()).toContain('this browser');
  });

  it('deletes an account after confirmation', async () => {
    const row = admin.getByTestId('admin-user').filter({ hasText: 'leaver@example.com' });
    await row.waitFor();
    admin.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => row.count()).toBe(0);
    expect(await t.server.store.users.findByEmail('leaver@example.com')).toBeUndefined();
    // One's own row offers no Disable or Delete.
    const own = admin.getByTestId('admin-user').filter({ hasText: 'admin@example.com' });
    expect(await own.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    expect(await own.getByRole('button', { name: 'Disable' }).count()).toBe(0);
  });
});
