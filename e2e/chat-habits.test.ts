import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let page: Page;

const isTitleRequest = (body: unknown) =>
  JSON.stringify((body as { messages?: unknown } | undefined)?.messages ?? '').includes('You name conversations');
/** The model's answers, by question; title requests get `title`. */
function answerWith(answer: string, title: string) {
  t.upstream.set({ mode: 'ok', tokenDelayMs: 0, answer: (body) => ({ content: isTitleRequest(body) ? title : answer }) });
}
const answerRequests = () => t.upstream.requests.filter((r) => r.url.includes('/chat/completions') && !isTitleRequest(r.body));
const lastAnswerRequest = () =>
  answerRequests().at(-1)?.body as { messages: { role: string; content: unknown }[]; temperature?: number; max_tokens?: number };

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST, overrides: { conversationTitles: 'auto' } });
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
const complete = () => expect.poll(() => answer().getAttribute('data-status'), { timeout: 15_000 }).toBe('complete');
async function ask(text: string) {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.keyboard.press('Enter');
  await complete();
}
async function newChat() {
  await page.goto(t.url);
  await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
}
const noSidewaysScroll = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

describe('feedback on answers', () => {
  it('takes a thumb and a comment under an answer, keeps it after a reload, and shows it on the usage dashboard', async () => {
    answerWith('A bond is a loan to an issuer.', 'Bond Basics');
    await ask('What is a bond?');
    const bad = answer().getByRole('button', { name: 'Bad answer' });
    expect(await bad.getAttribute('aria-pressed')).toBe('false');
    await bad.click();
    await expect.poll(() => bad.getAttribute('aria-pressed')).toBe('true');
    const form = page.getByRole('form', { name: 'Feedback comment' });
    await form.getByRole('textbox').fill('It did not mention coupons.');
    await form.getByRole('button', { name: 'Send feedback' }).click();
    await form.waitFor({ state: 'detached' });

    await page.reload();
    await answer().waitFor();
    expect(await answer().getByRole('button', { name: 'Bad answer' }).getAttribute('aria-pressed')).toBe('true');
    expect(await answer().getByRole('button', { name: 'Good answer' }).getAttribute('aria-pressed')).toBe('false');

    await page.goto(`${t.url}/usage`);
    const section = page.getByTestId('feedback-section');
    await section.getByTestId('feedback-row').first().waitFor();
    expect(await section.getByTestId('feedback-row').first().innerText()).toMatch(/sim\/sim-1\s+web\s+0\s+1\s+0%/);
    expect(await section.getByTestId('feedback-comment').first().innerText()).toContain('It did not mention coupons.');
    expect(await section.getByTestId('feedback-comment').first().innerText()).toContain('admin@example.com');
  });

  it('fits the thumbs and the comment box on a phone without sideways scrolling', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.context().addCookies(await page.context().cookies());
    await phone.goto(t.url);
    await phone.getByRole('heading', { name: 'How can I help?' }).waitFor();
    answerWith('Coupons are the interest a bond pays.', 'Coupon Basics');
    await phone.getByRole('textbox', { name: 'Message' }).fill('What is a coupon?');
    await phone.keyboard.press('Enter');
    const last = phone.getByTestId('assistant-message').last();
    await expect.poll(() => last.getAttribute('data-status'), { timeout: 15_000 }).toBe('complete');
    await last.getByRole('button', { name: 'Good answer' }).click();
    const form = phone.getByRole('form', { name: 'Feedback comment' });
    await form.waitFor();
    const box = await form.boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= 390).toBe(true);
    expect(await noSidewaysScroll(phone)).toBeLessThanOrEqual(0);
    await form.getByRole('button', { name: 'Skip' }).click();
    await phone.close();
  });
});

describe('per-conversation settings and default instructions', () => {
  it('saves a chat’s instructions, temperature and max tokens, sends them with its turns and shows them after a reload', async () => {
    await newChat();
    await page.getByRole('button', { name: 'Chat settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Chat settings' });
    await dialog.getByLabel('Instructions for this chat').fill('Answer like a bond trader.');
    await dialog.getByLabel('Temperature').fill('0.3');
    await dialog.getByLabel('Max tokens').fill('200');
    // The panel sits above the composer, inside the window.
    const panel = await dialog.boundingBox();
    const composer = await page.getByTestId('composer').boundingBox();
    expect(panel && composer && panel.y + panel.height <= composer.y + 1 && panel.y >= 0).toBe(true);
    await dialog.getByRole('button', { name: 'Save settings' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await page.getByRole('button', { name: 'Chat settings (changed)' }).count()).toBe(1);

    answerWith('Duration is price sensitivity.', 'Duration Basics');
    await ask('What is duration?');
    let sent = lastAnswerRequest();
    expect(sent.messages[0]).toEqual({ role: 'system', content: 'Answer like a bond trader.' });
    expect(sent.temperature).toBe(0.3);
    expect(sent.max_tokens).toBe(200);

    await page.reload();
    await answer().waitFor();
    await page.getByRole('button', { name: 'Chat settings (changed)' }).click();
    expect(await dialog.getByLabel('Instructions for this chat').inputValue()).toBe('Answer like a bond trader.');
    expect(await dialog.getByLabel('Temperature').inputValue()).toBe('0.3');
    await dialog.getByLabel('Temperature').fill('');
    await dialog.getByRole('button', { name: 'Save settings' }).click();
    await ask('And convexity?');
    sent = lastAnswerRequest();
    expect(sent.temperature).toBeUndefined();
    expect(sent.max_tokens).toBe(200);
  });

  it('sends the default instructions from Settings before every chat', async () => {
    await page.goto(`${t.url}/settings`);
    const field = page.getByRole('textbox', { name: 'Default instructions' });
    await expect.poll(() => field.isEnabled()).toBe(true);
    await field.fill('I work on the treasury desk.');
    await page.getByRole('button', { name: 'Save instructions' }).click();
    await page.getByText('Instructions saved').waitFor();
    await page.reload();
    await expect.poll(() => field.inputValue()).toBe('I work on the treasury desk.');

    await newChat();
    answerWith('Repo is a secured loan.', 'Repo Basics');
    await ask('What is a repo?');
    expect(lastAnswerRequest().messages[0]).toEqual({ role: 'system', content: 'I work on the treasury desk.' });
    await page.goto(`${t.url}/settings`);
    await expect.poll(() => field.inputValue()).toBe('I work on the treasury desk.');
    await field.fill('');
    await page.getByRole('button', { name: 'Save instructions' }).click();
    await page.getByText('Instructions saved').first().waitFor();
  });
});

describe('titles, pins, folders, the archive and search snippets', () => {
  const sidebar = () => page.getByRole('navigation', { name: 'Conversations' });
  const section = (name: string) => sidebar().getByRole('region', { name });

  it('names a new chat from its first exchange', async () => {
    await newChat();
    answerWith('Treasury yields rose after the auction.', 'Treasury Auction Yields');
    await ask('hey so what happened to yields after the big treasury auction this afternoon, any idea?');
    await section('Today').getByRole('link', { name: 'Treasury Auction Yields' }).waitFor({ timeout: 10_000 });
  });

  it('pins a chat to the top, files one in a folder, archives one and brings it back', async () => {
    const more = (title: string) => sidebar().getByRole('button', { name: `More actions for ${title}` });
    await more('Treasury Auction Yields').click();
    await page.getByRole('menuitem', { name: 'Pin' }).click();
    await section('Pinned').getByRole('link', { name: 'Treasury Auction Yields' }).waitFor();
    const regions = await sidebar()
      .getByRole('region')
      .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
    expect(regions[0]).toBe('Pinned');

    page.once('dialog', (dialog) => void dialog.accept('Desk notes'));
    await more('Repo Basics').click();
    await page.getByRole('menuitem', { name: 'Move to folder…' }).click();
    await section('Folder: Desk notes').getByRole('link', { name: 'Repo Basics' }).waitFor();

    await more('Duration Basics').click();
    await page.getByRole('menuitem', { name: 'Archive' }).click();
    await expect.poll(() => sidebar().getByRole('link', { name: 'Duration Basics' }).count()).toBe(0);
    await sidebar().getByRole('button', { name: 'Archived conversations' }).click();
    await section('Archived').getByRole('link', { name: 'Duration Basics' }).waitFor();
    await more('Duration Basics').click();
    await page.getByRole('menuitem', { name: 'Unarchive' }).click();
    await sidebar().getByRole('button', { name: 'Back to conversations' }).click();
    await sidebar().getByRole('link', { name: 'Duration Basics' }).waitFor();

    // After a reload, the same.
    await page.reload();
    await section('Pinned').getByRole('link', { name: 'Treasury Auction Yields' }).waitFor();
    await section('Folder: Desk notes').getByRole('link', { name: 'Repo Basics' }).waitFor();
  });

  it('shows a snippet of the matching text under each search result', async () => {
    await page.getByRole('searchbox', { name: 'Search conversations' }).fill('secured loan');
    const results = section('Results');
    await results.getByTestId('search-snippet').first().waitFor();
    expect(await results.getByRole('link').count()).toBe(1);
    expect(await results.getByTestId('search-snippet').innerText()).toContain('Repo is a secured loan');
    await page.getByRole('searchbox', { name: 'Search conversations' }).fill('');
  });

  it('fits the sidebar’s menus on a phone', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.context().addCookies(await page.context().cookies());
    await phone.goto(t.url);
    await phone.getByRole('heading', { name: 'How can I help?' }).waitFor();
    await phone.getByRole('button', { name: 'Open menu' }).click();
    const nav = phone.getByRole('navigation', { name: 'Conversations' });
    await nav.getByRole('button', { name: 'More actions for Treasury Auction Yields' }).click();
    const menu = phone.getByRole('menu');
    await menu.waitFor();
    const box = await menu.boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= 390).toBe(true);
    expect(await noSidewaysScroll(phone)).toBeLessThanOrEqual(0);
    await phone.close();
  });
});
