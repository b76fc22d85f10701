import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  page.on('pageerror', (error) => console.error('page error:', error));
  await setUpFirstAdmin(page, t.url);
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const answer = () => page.getByTestId('assistant-message').last();
const question = () => page.getByTestId('user-message').last();
const complete = () => expect.poll(() => answer().getAttribute('data-status'), { timeout: 15_000 }).toBe('complete');

describe('versions of answers and edited questions', () => {
  it('keeps a regenerated answer beside the first (‹ 1/2 ›), also after a reload', async () => {
    t.upstream.set({ mode: 'ok', tokenDelayMs: 0, content: 'First answer about bonds.' });
    await page.getByRole('textbox', { name: 'Message' }).fill('What is a bond?');
    await page.keyboard.press('Enter');
    await complete();
    t.upstream.set({ content: 'Second answer about bonds.' });
    await page.getByRole('button', { name: 'Regenerate' }).click();
    await expect.poll(() => answer().innerText(), { timeout: 15_000 }).toContain('Second answer');
    await complete();
    const versions = answer().getByTestId('versions');
    await expect.poll(() => versions.innerText()).toContain('2/2');
    await versions.getByRole('button', { name: 'Previous version' }).click();
    await expect.poll(() => answer().innerText()).toContain('First answer about bonds.');
    expect(await answer().getByTestId('versions').innerText()).toContain('1/2');
    await page.reload();
    await answer().waitFor();
    expect(await answer().innerText()).toContain('First answer about bonds.');
    expect(await answer().getByTestId('versions').innerText()).toContain('1/2');
    await answer().getByRole('button', { name: 'Next version' }).click();
    await expect.poll(() => answer().innerText()).toContain('Second answer about bonds.');
  });

  it('edits a sent question into a new branch and moves between the two questions', async () => {
    t.upstream.set({ content: 'Shares are part ownership of a company.' });
    await question().getByRole('button', { name: 'Edit message' }).click();
    await page.getByRole('textbox', { name: 'Edited message' }).fill('What is a share?');
    await page.getByRole('form', { name: 'Edit message' }).getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => answer().innerText(), { timeout: 15_000 }).toContain('Shares are part ownership');
    await complete();
    expect(await page.getByTestId('user-message').count()).toBe(1);
    await expect.poll(() => question().getByTestId('versions').innerText()).toContain('2/2');
    expect(await question().innerText()).toContain('What is a share?');
    // The model was sent the edited branch only.
    const sent = JSON.stringify((t.upstream.requests.at(-1)?.body as { messages: unknown[] } | undefined)?.messages);
    expect(sent).toContain('What is a share?');
    expect(sent).not.toContain('What is a bond?');

    await question().getByRole('button', { name: 'Previous version' }).click();
    await expect.poll(() => question().innerText()).toContain('What is a bond?');
    expect(await answer().innerText()).toMatch(/answer about bonds/);
    await page.reload();
    await question().waitFor();
    expect(await question().innerText()).toContain('What is a bond?');

    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.context().addCookies(await page.context().cookies());
    await phone.goto(page.url());
    await phone.getByTestId('versions').first().waitFor();
    expect(await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await phone.close();
  });
});
