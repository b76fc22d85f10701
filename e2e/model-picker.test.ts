import AxeBuilder from '@axe-core/playwright';
import { type SimulatedUpstream, startSimulatedUpstream } from '@axon/bench/simulated-upstream';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

/** A connection with more models than fit without a search box, each with a name, a line and capabilities. */
const MODELS = [
  {
    id: 'granite-8b',
    name: 'Granite 8B',
    description: 'Fast general assistant for everyday questions',
    capabilities: { tools: true, vision: false, structuredOutputs: true, contextWindow: 131072 },
  },
  {
    id: 'pixtral-12b',
    name: 'Pixtral 12B',
    description: 'Reads charts, scans and screenshots',
    capabilities: { tools: false, vision: true, structuredOutputs: false, contextWindow: 32768 },
  },
  {
    id: 'qwen-72b',
    name: 'Qwen 72B Reasoner',
    description: 'Careful step-by-step reasoning for hard problems',
    capabilities: { tools: true, vision: true, structuredOutputs: true, contextWindow: 200000 },
  },
  {
    id: 'tiny-1b',
    name: 'Tiny 1B',
    description: 'Small and cheap, text only',
    capabilities: { tools: false, vision: false, structuredOutputs: false },
  },
  { id: 'mistral-7b', name: 'Mistral 7B', description: 'Balanced quality and speed', capabilities: { tools: true, vision: false } },
  { id: 'llama-70b', name: 'Llama 3.3 70B', description: 'Strong all-rounder', capabilities: { tools: true, contextWindow: 128000 } },
  { id: 'phi-4', name: 'Phi 4', description: 'Compact model good at maths', capabilities: { tools: false, vision: false } },
  { id: 'gemma-27b', name: 'Gemma 27B', description: 'Multilingual writing', capabilities: { vision: true } },
];
const SIZES = [
  { name: 'desktop', width: 1366, height: 768 },
  { name: 'phone', width: 390, height: 844 },
] as const;

let upstream: SimulatedUpstream;
let t: TestServer;
let browser: Browser;
let admin: BrowserContext;
const contexts: BrowserContext[] = [];

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
const isInside = (inner: Box, outer: Box) =>
  inner.x >= outer.x - 0.5 &&
  inner.y >= outer.y - 0.5 &&
  inner.x + inner.width <= outer.x + outer.width + 0.5 &&
  inner.y + inner.height <= outer.y + outer.height + 0.5;
async function box(page: Page, selector: string): Promise<Box> {
  const found = await page.locator(selector).first().boundingBox();
  if (!found) throw new Error(`${selector} is not on screen`);
  return found;
}
const horizontalOverflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

const picker = (page: Page) => page.getByRole('combobox', { name: 'Model', exact: true });
const list = (page: Page) => page.getByRole('listbox', { name: 'Models' });
const option = (page: Page, id: string) => list(page).locator(`[role="option"][data-model-id="${id}"]`);
const shownIds = (page: Page) =>
  list(page)
    .locator('[role="option"]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-model-id')));
const activeId = (page: Page) =>
  page.evaluate(() => {
    const search = document.querySelector('input[aria-label="Search models"]');
    const id = search?.getAttribute('aria-activedescendant');
    return id ? document.getElementById(id)?.getAttribute('data-model-id') : null;
  });
const chatRequests = () => upstream.requests.filter((r) => r.url.endsWith('/chat/completions'));

async function openChat(size: { width: number; height: number } = SIZES[0], colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: size.width, height: size.height }, colorScheme });
  contexts.push(context);
  await context.addCookies(await admin.cookies());
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(t.url);
  await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
  await page.locator('[role="combobox"][aria-label="Model"][data-value]').waitFor();
  return page;
}

beforeAll(async () => {
  upstream = await startSimulatedUpstream({ models: MODELS.map((m) => m.id) });
  t = await startTestServer({
    webDir: WEB_DIST,
    overrides: { connections: [{ name: 'lab', baseURL: upstream.url, models: MODELS }], defaultModel: 'lab/granite-8b' },
  });
  browser = await launchBrowser();
  admin = await browser.newContext();
  await setUpFirstAdmin(await admin.newPage(), t.url);
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await admin?.close();
  await browser?.close();
  await t?.close();
  await upstream?.close();
});

describe('the model picker', () => {
  it('shows the chosen model by name and lists every model with its description and what it can do', async () => {
    const page = await openChat();
    expect(await picker(page).innerText()).toBe('Granite 8B');
    expect(await picker(page).getAttribute('aria-expanded')).toBe('false');
    await picker(page).click();
    await list(page).waitFor();
    expect(await picker(page).getAttribute('aria-expanded')).toBe('true');
    expect(await picker(page).getAttribute('aria-controls')).toBe(await list(page).getAttribute('id'));
    const ids = await shownIds(page);
    for (const m of MODELS) expect(ids).toContain(`lab/${m.id}`);

    const granite = option(page, 'lab/granite-8b');
    expect(await granite.getAttribute('aria-selected')).toBe('true');
    expect(await granite.innerText()).toContain('Granite 8B');
    expect(await granite.getByTestId('model-description').innerText()).toBe('Fast general assistant for everyday questions');
    const badges = (m: string) => option(page, m).getByTestId('model-badges').locator('.model-badge').allInnerTexts();
    expect((await badges('lab/granite-8b')).map((b) => b.trim())).toEqual(['Tools', 'JSON', '128K context']);
    expect((await badges('lab/pixtral-12b')).map((b) => b.trim())).toEqual(['Images', '32K context']);
    expect((await badges('lab/qwen-72b')).map((b) => b.trim())).toEqual(['Tools', 'Images', 'JSON', '200K context']);
    expect((await badges('lab/tiny-1b')).map((b) => b.trim())).toEqual(['Text only']);
    expect(await option(page, 'lab/pixtral-12b').getAttribute('aria-selected')).toBe('false');

    // A click chooses.
    await option(page, 'lab/pixtral-12b').click();
    await list(page).waitFor({ state: 'detached' });
    expect(await picker(page).innerText()).toBe('Pixtral 12B');
    expect(await picker(page).getAttribute('data-value')).toBe('lab/pixtral-12b');
  });

  it('filters by name, id and description as one types in its search box', async () => {
    const page = await openChat();
    await picker(page).click();
    const search = page.getByRole('searchbox', { name: 'Search models' });
    await search.waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Search models');
    await search.fill('reason');
    await expect.poll(() => shownIds(page)).toEqual(['lab/qwen-72b']);
    await search.fill('pixtral');
    await expect.poll(() => shownIds(page)).toEqual(['lab/pixtral-12b']);
    await search.fill('lab/phi');
    await expect.poll(() => shownIds(page)).toEqual(['lab/phi-4']);
    await search.fill('screenshots charts');
    await expect.poll(() => shownIds(page)).toEqual(['lab/pixtral-12b']);
    await search.fill('nothing like this');
    await expect.poll(() => shownIds(page)).toEqual([]);
    await page.getByText('No model matches “nothing like this”.').waitFor();
    await search.fill('');
    await expect.poll(() => shownIds(page).then((ids) => ids.length)).toBeGreaterThanOrEqual(MODELS.length);
  });

  it('works from the keyboard and sends the next message with the model chosen', async () => {
    const page = await openChat();
    await picker(page).focus();

    // Esc closes without changing the model, and the focus goes back to the button.
    await page.keyboard.press('ArrowDown');
    await list(page).waitFor();
    expect(await activeId(page)).toBe('lab/granite-8b');
    await page.keyboard.press('ArrowDown');
    expect(await activeId(page)).not.toBe('lab/granite-8b');
    await page.keyboard.press('Escape');
    await list(page).waitFor({ state: 'detached' });
    expect(await picker(page).getAttribute('data-value')).toBe('lab/granite-8b');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Model');

    // Typing on the button opens the list with the letters in its search box; arrows and Enter choose.
    await page.keyboard.type('mist');
    await list(page).waitFor();
    expect(await page.getByRole('searchbox', { name: 'Search models' }).inputValue()).toBe('mist');
    await expect.poll(() => shownIds(page)).toEqual(['lab/mistral-7b']);
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('70');
    await expect.poll(() => shownIds(page)).toEqual(['lab/llama-70b']);
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('b');
    expect(await activeId(page)).toBe((await shownIds(page))[0]);
    await page.keyboard.press('End');
    // End stays in the search box (moves its caret); ↓ and ↑ move through the list.
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowUp');
    const chosen = (await shownIds(page))[1];
    expect(await activeId(page)).toBe(chosen);
    expect(await option(page, chosen as string).getAttribute('data-active')).toBe('true');
    await page.keyboard.press('Enter');
    await list(page).waitFor({ state: 'detached' });
    expect(await picker(page).getAttribute('data-value')).toBe(chosen);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Model');

    // Enter on the closed button opens it at the chosen model; Tab leaves it closed.
    await page.keyboard.press('Enter');
    await list(page).waitFor();
    expect(await activeId(page)).toBe(chosen);
    await page.keyboard.press('Tab');
    await list(page).waitFor({ state: 'detached' });

    upstream.set({ mode: 'ok', tokens: 4, tokenDelayMs: 0, content: 'Answered.' });
    const before = chatRequests().length;
    await page.getByRole('textbox', { name: 'Message' }).fill('Which model are you?');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="assistant-message"][data-status="complete"]').waitFor({ timeout: 15_000 });
    const sent = chatRequests()
      .slice(before)
      .map((r) => (r.body as { model: string }).model);
    expect(sent).toContain((chosen as string).replace('lab/', ''));
    expect(await page.getByTestId('answer-meta').last().innerText()).toContain(chosen);
    // The conversation keeps it: a reload shows it in the picker.
    await page.reload();
    await page.locator(`[role="combobox"][aria-label="Model"][data-value="${chosen}"]`).waitFor();
  });

  it('has no search box for a short list: typing jumps to a model, and the button holds the focus', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    contexts.push(context);
    await context.addCookies(await admin.cookies());
    const page = await context.newPage();
    await page.route('**/api/models', async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { models: Array<{ id: string }> };
      await route.fulfill({ response, json: { ...body, models: body.models.filter((m) => m.id.startsWith('lab/')).slice(0, 4) } });
    });
    await page.goto(t.url);
    await page.locator('[role="combobox"][aria-label="Model"][data-value="lab/granite-8b"]').waitFor();
    await picker(page).focus();
    await page.keyboard.type('q');
    await list(page).waitFor();
    expect(await page.getByRole('searchbox', { name: 'Search models' }).count()).toBe(0);
    expect(await shownIds(page)).toEqual(['lab/granite-8b', 'lab/pixtral-12b', 'lab/qwen-72b', 'lab/tiny-1b']);
    // The button keeps the focus and points at the active option.
    const pointedAt = () =>
      page.evaluate(() => {
        const id = document.activeElement?.getAttribute('aria-activedescendant');
        return id ? document.getElementById(id)?.getAttribute('data-model-id') : null;
      });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Model');
    expect(await pointedAt()).toBe('lab/qwen-72b');
    await page.keyboard.press('Home');
    expect(await pointedAt()).toBe('lab/granite-8b');
    await page.keyboard.press('End');
    expect(await pointedAt()).toBe('lab/tiny-1b');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    await list(page).waitFor({ state: 'detached' });
    expect(await picker(page).getAttribute('data-value')).toBe('lab/qwen-72b');
    expect(await picker(page).innerText()).toBe('Qwen 72B Reasoner');
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`has no serious accessibility violation while open (${colorScheme} theme)`, async () => {
      const page = await openChat(SIZES[0], colorScheme);
      await picker(page).click();
      await list(page).waitFor();
      await page.keyboard.press('ArrowDown');
      const results = await new AxeBuilder({ page }).analyze();
      const serious = results.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      expect(serious).toEqual([]);
    });
  }

  for (const size of SIZES) {
    it(`fits the composer and the window, closed and open (${size.name})`, async () => {
      const page = await openChat(size);
      await page.getByRole('textbox', { name: 'Message' }).fill('Hello there');
      const composer = await box(page, '[data-testid="composer"]');
      expect(isInside(await box(page, 'button[aria-label="Send"]'), composer)).toBe(true);
      expect(isInside(await box(page, '[role="combobox"][aria-label="Model"]'), composer)).toBe(true);
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);

      await picker(page).click();
      await list(page).waitFor();
      const popover = await box(page, '[data-testid="model-picker"]');
      expect(isInside(popover, { x: 0, y: 0, width: size.width, height: size.height })).toBe(true);
      expect(popover.height).toBeGreaterThan(150);
      // Descriptions and badges wrap inside the list instead of widening it.
      expect(await list(page).evaluate((l) => l.scrollWidth - l.clientWidth)).toBeLessThanOrEqual(0);
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      // A press outside closes it.
      await page.mouse.click(5, 5);
      await list(page).waitFor({ state: 'detached' });
    });
  }
});
