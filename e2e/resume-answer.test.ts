import { tokenText } from '@axon/bench/simulated-upstream';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let page: Page;
const ADMIN = { email: 'admin@example.com', password: 'admin password 1' };

beforeAll(async () => {
  t = await startTestServer({
    webDir: WEB_DIST,
    overrides: { 'streams.resumeGraceMs': 15_000, 'streams.heartbeatMs': 200, 'streams.staleAfterMs': 1000 },
  });
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  await setUpFirstAdmin(page, t.url, ADMIN.email, ADMIN.password);
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

/** The numbers of the simulated tokens on screen, in order (`tok0 tok1 …` → [0, 1, …]). */
const tokensIn = (text: string) => [...text.matchAll(/tok(\d+)/g)].map((m) => Number(m[1]));
const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('answers that survive the page', () => {
  it('a reload in the middle of an answer picks it up again: the whole answer, no word twice', async () => {
    t.upstream.set({ tokens: 120, tokenDelayMs: 40 });
    const completions = t.upstream.stats.completions;
    await page.goto(`${t.url}/`);
    await send(page, 'Tell me a long story');
    await expect.poll(() => assistant(page).innerText(), { timeout: 10_000 }).toContain(tokenText(10).trim());
    await page.waitForURL(/\/c\/[0-9a-f-]{36}$/);
    await page.reload();
    // After the reload the answer goes on streaming on the page…
    await expect.poll(() => assistant(page).getAttribute('data-status'), { timeout: 10_000 }).toBe('streaming');
    await expect.poll(() => assistant(page).innerText(), { timeout: 10_000 }).toContain(tokenText(60).trim());
    // …and ends with every word once, in order, as the model wrote it once.
    await expect.poll(() => assistant(page).getAttribute('data-status'), { timeout: 20_000 }).toBe('complete');
    expect(tokensIn(await assistant(page).innerText())).toEqual(upTo(120));
    expect(t.upstream.stats.completions).toBe(completions + 1);
    expect(await page.getByTestId('answer-meta').last().innerText()).toMatch(/sim\/sim-1 · \d+ → 120 tokens/);
  });

  it('a dropped connection in the middle of an answer picks it up again', async () => {
    t.upstream.set({ tokens: 100, tokenDelayMs: 40 });
    await page.goto(`${t.url}/`);
    await send(page, 'Another long story');
    await expect.poll(() => assistant(page).innerText(), { timeout: 10_000 }).toContain(tokenText(10).trim());
    // The connections drop, as when the network goes away for a moment.
    t.server.app.server.closeAllConnections();
    await expect.poll(() => assistant(page).getAttribute('data-status'), { timeout: 20_000 }).toBe('complete');
    expect(tokensIn(await assistant(page).innerText())).toEqual(upTo(100));
    await page.reload();
    await assistant(page).waitFor();
    expect(tokensIn(await assistant(page).innerText())).toEqual(upTo(100));
  });

  it('offers to write again an answer whose server stopped while writing it', async () => {
    const store = t.server.store;
    const owner = await store.users.findByEmail(ADMIN.email);
    const conversation = await store.conversations.create({ userId: owner?.id as string, title: 'Interrupted', model: 'sim/sim-1' });
    const question = await store.messages.append({
      conversationId: conversation.id,
      role: 'user',
      content: 'What happened to the yield curve?',
      status: 'complete',
      model: null,
    });
    // An answer whose writer died: no heartbeat comes any more, and a replica marks it interrupted.
    const answer = await store.messages.append({
      conversationId: conversation.id,
      role: 'assistant',
      content: '',
      status: 'streaming',
      model: 'sim/sim-1',
      parentId: question.id,
    });
    await store.messages.heartbeat(answer.id, 'The curve');
    await expect
      .poll(async () => (await store.messages.listByConversation(conversation.id)).at(-1)?.status, { timeout: 5000 })
      .toBe('error');

    await page.goto(`${t.url}/c/${conversation.id}`);
    await expect.poll(() => assistant(page).innerText()).toMatch(/The curve[\s\S]*server stopped while this answer was being written/);
    t.upstream.set({ tokens: 6, tokenDelayMs: 0 });
    await page.getByRole('button', { name: 'Regenerate' }).click();
    await expect.poll(() => assistant(page).innerText(), { timeout: 10_000 }).toContain(tokenText(5).trim());
    await expect.poll(() => assistant(page).getAttribute('data-status')).toBe('complete');
    // The interrupted answer stays as an earlier version.
    expect(await page.getByTestId('versions').last().innerText()).toContain('2/2');
  });
});
