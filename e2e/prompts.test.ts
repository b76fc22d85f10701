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
    email: 'builder@example.com',
    password: 'builder password 1',
    role: 'builder',
  });
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('dialog', (d) => void d.accept());
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('prompt templates in the web app', () => {
  it('lets a builder version a template, compare versions, activate one and try it', async () => {
    await page.goto(t.url);
    await page.getByLabel('Email').fill('builder@example.com');
    await page.getByLabel('Password').fill('builder password 1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Prompt templates' }).click();
    await page.getByLabel('New template name').fill('greeting');
    await page.getByRole('button', { name: 'Add' }).click();
    await page.getByRole('heading', { name: 'greeting' }).waitFor();

    await page.getByLabel('System prompt').fill('You work for {{ company }}.');
    await page.getByLabel('Variables', { exact: true }).fill('[{"name": "company"}]');
    await page.getByLabel('Note').fill('name the company');
    await page.getByRole('button', { name: 'Save as new version' }).click();
    await expect.poll(() => page.getByTestId('prompt-version').count()).toBe(2);
    await page.getByRole('button', { name: 'Compare' }).click();
    const diff = page.getByTestId('prompt-diff');
    expect(await diff.locator('.line-through').allInnerTexts()).toEqual(
      expect.arrayContaining([expect.stringContaining('You are a helpful assistant.')]),
    );
    expect(await diff.innerText()).toContain('You work for {{ company }}.');

    await page.getByRole('button', { name: 'Activate v2' }).click();
    await expect.poll(() => page.getByTestId('prompt-version').filter({ hasText: 'active' }).innerText()).toContain('v2');
    await page.getByLabel('Try variables').fill('{"company": "Acme"}');
    await page.getByRole('button', { name: 'Render' }).click();
    expect(await page.getByTestId('prompt-rendered').innerText()).toContain('You work for Acme.');
  });
});
