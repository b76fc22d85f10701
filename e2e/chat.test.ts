import { tokenText } from '@axon/bench/simulated-upstream';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let page: Page;
const ADMIN = { email: 'admin@example.com', password: 'admin password 1' };

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST });
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});
beforeEach(() => t.upstream.set({ mode: 'ok', tokens: 8, tokenDelayMs: 0, content: undefined }));

const assistant = (p: Page) => p.getByTestId('assistant-message').last();

async function send(p: Page, text: string) {
  await p.getByRole('textbox', { name: 'Message' }).fill(text);
  await p.keyboard.press('Enter');
}

describe('the web app in a real browser', () => {
  it('runs first-run set-up and lands in an empty chat', async () => {
    await page.goto(t.url);
    await expect.poll(() => page.getByRole('heading', { name: 'Set up Axon' }).isVisible()).toBe(true);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Create admin account' }).click();
    await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
    await expect.poll(() => page.getByRole('combobox', { name: 'Model' }).getAttribute('data-value')).toBe('sim/sim-1');
  });

  it('signs out and back in', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Axon' }).waitFor();
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: /wrong/i }).waitFor();
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
  });

  it('streams an answer token by token', async () => {
    t.upstream.set({ tokens: 60, tokenDelayMs: 40 });
    await page.goto(`${t.url}/`);
    await send(page, 'Tell me a story');
    await page.getByTestId('user-message').filter({ hasText: 'Tell me a story' }).waitFor();
    // Part of the answer is on screen while the rest is still coming.
    await expect.poll(() => assistant(page).innerText(), { timeout: 10_000 }).toContain(tokenText(3));
    const partial = await assistant(page).innerText();
    expect(partial).not.toContain(tokenText(59));
    expect(await assistant(page).getAttribute('data-status')).toBe('streaming');
    expect(await page.getByRole('button', { name: 'Stop' }).isVisible()).toBe(true);
    await expect.poll(() => assistant(page).getAttribute('data-status'), { timeout: 15_000 }).toBe('complete');
    expect(await assistant(page).innerText()).toContain(tokenText(59).trim());
    expect(await page.getByTestId('answer-meta').last().innerText()).toMatch(/sim\/sim-1 · \d+ → 60 tokens · first token/);
    // The address became the conversation's and the sidebar lists it under its title.
    expect(page.url()).toMatch(/\/c\/[0-9a-f-]{36}$/);
    await page.getByRole('link', { name: 'Tell me a story' }).waitFor();
  });

  it('keeps the partial answer after Stop, also after a reload', async () => {
    t.upstream.set({ tokens: 2000, tokenDelayMs: 25 });
    await page.goto(`${t.url}/`);
    await send(page, 'Write a very long essay');
    await expect.poll(() => assistant(page).innerText(), { timeout: 10_000 }).toContain(tokenText(5));
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Send' }).isVisible()).toBe(true);
    const stopped = await assistant(page).innerText();
    await expect.poll(() => t.upstream.stats.open).toBe(0);
    await page.reload();
    await assistant(page).waitFor();
    const reloaded = await assistant(page).innerText();
    expect(reloaded).toContain(tokenText(5));
    expect(reloaded).not.toContain(tokenText(1999));
    expect(await page.getByTestId('answer-meta').last().innerText()).toContain('Stopped');
    expect(stopped).toContain(tokenText(5));
  });

  it('stops with Esc', async () => {
    t.upstream.set({ tokens: 2000, tokenDelayMs: 25 });
    await page.goto(`${t.url}/`);
    await send(page, 'Another long one');
    await expect.poll(() => assistant(page).innerText(), { timeout: 10_000 }).toContain(tokenText(2));
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('button', { name: 'Send' }).isVisible()).toBe(true);
    await expect.poll(() => t.upstream.stats.open).toBe(0);
  });

  it('renames and deletes a conversation from the sidebar', async () => {
    await page.goto(`${t.url}/`);
    await send(page, 'Rename me please');
    await expect.poll(() => assistant(page).getAttribute('data-status')).toBe('complete');
    await page.getByRole('button', { name: 'Rename Rename me please' }).click();
    await page.getByRole('textbox', { name: 'Conversation title' }).fill('Quarterly yields');
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: 'Quarterly yields' }).waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete Quarterly yields' }).click();
    await expect.poll(() => page.getByRole('link', { name: 'Quarterly yields' }).count()).toBe(0);
    await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
  });

  it('renders script and onerror payloads as text, in questions and answers', async () => {
    const payload = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">';
    t.upstream.set({ content: `Here: ${payload} and **bold** ![pic](http://127.0.0.1:9/x.png)` });
    await page.goto(`${t.url}/`);
    await send(page, payload);
    await expect.poll(() => assistant(page).getAttribute('data-status')).toBe('complete');
    expect(await page.getByTestId('user-message').last().innerText()).toBe(payload);
    const answer = await assistant(page).innerText();
    expect(answer).toContain('<img src=x onerror="window.__xss = 2">');
    expect(answer).toContain('[image: pic]');
    expect(await assistant(page).locator('img').count()).toBe(0);
    expect(await assistant(page).locator('strong').innerText()).toBe('bold');
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  });

  it('shows a clear error when the model provider fails', async () => {
    t.upstream.set({ mode: 'fail-500' });
    await page.goto(`${t.url}/`);
    await send(page, 'Will this work?');
    await page
      .getByText(/model provider/i)
      .first()
      .waitFor();
  });

  it('is usable on a phone-sized screen, with the sidebar as a drawer', async () => {
    const phone = await browser.newPage({ viewport: { width: 375, height: 740 } });
    await phone.context().addCookies((await page.context().cookies()).map((c) => ({ ...c })));
    await phone.goto(`${t.url}/`);
    await phone.getByRole('heading', { name: 'How can I help?' }).waitFor();
    const search = phone.getByRole('searchbox', { name: 'Search conversations' });
    expect(await search.isVisible()).toBe(false);
    await phone.getByRole('button', { name: 'Open menu' }).click();
    await expect.poll(() => search.isVisible()).toBe(true);
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(375);
    await phone.close();
  });

  it('creates and revokes an API key in settings', async () => {
    await page.goto(`${t.url}/settings`);
    await page.getByLabel('Key name').fill('browser key');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.getByTestId('new-api-key').innerText();
    expect(key).toMatch(/^axn_/);
    expect((await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Revoke' }).first().click();
    await page.getByText('revoked', { exact: true }).waitFor();
    expect((await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
  });
});
