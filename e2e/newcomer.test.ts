import { tokenText } from '@axon/bench/simulated-upstream';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../server/src/auth/auth-service';
import { WebClient } from '../server/src/testing/http-client';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { chooseModel, launchBrowser, WEB_DIST } from './browser';

const ADMIN = { email: 'admin@example.com', password: 'admin password 1' };
const MEMBER = { email: 'member@example.com', password: 'member password 1' };
const SIZES = [
  { name: 'desktop', width: 1366, height: 768 },
  { name: 'phone', width: 390, height: 844 },
] as const;

let t: TestServer;
let browser: Browser;
let admin: WebClient;
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
const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

async function box(page: Page, selector: Parameters<Page['locator']>[0]): Promise<Box> {
  const found = await page.locator(selector).first().boundingBox();
  if (!found) throw new Error(`${String(selector)} is not on screen`);
  return found;
}

async function signedIn(size: { width: number; height: number }, who = ADMIN): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: size.width, height: size.height } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(t.url);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
  return page;
}

const horizontalOverflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST });
  admin = new WebClient(t.url);
  await admin.setup(ADMIN.email, ADMIN.password);
  await createAuthService({ store: t.server.store, sessionTtlMs: 60_000 }).createUser({ ...MEMBER, role: 'member' });
  // What makes the composer's toolbar full: a prompt template, collections, and long model names.
  expect(
    (
      await admin.json('POST', '/api/prompts', {
        name: 'board-minutes-summary',
        system: 'You summarise board minutes for the finance team.',
        message: '',
        variables: [],
      })
    ).status,
  ).toBe(201);
  await admin.json('POST', '/api/collections', { name: 'Board papers and quarterly treasury reports' });
  browser = await launchBrowser();
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await t?.close();
});

describe('the composer and the header at 1366×768 and 390×844', () => {
  for (const size of SIZES) {
    it(`keeps Send inside the composer's box and the page without sideways scrolling (${size.name})`, async () => {
      t.upstream.set({ mode: 'ok', tokens: 8, tokenDelayMs: 0, content: undefined });
      const page = await signedIn(size);
      await page.getByRole('combobox', { name: 'Prompt template' }).waitFor();
      await page.getByRole('textbox', { name: 'Message' }).fill('Hello there');
      const composer = await box(page, '[data-testid="composer"]');
      const send = await box(page, 'button[aria-label="Send"]');
      expect(isInside(send, composer)).toBe(true);
      for (const control of ['Prompt template', 'Model']) {
        expect(
          isInside(
            await page
              .getByRole('combobox', { name: control })
              .boundingBox()
              .then((b) => b as Box),
            composer,
          ),
        ).toBe(true);
      }
      expect(composer.x + composer.width).toBeLessThanOrEqual(size.width);
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      if (size.name === 'desktop') {
        // The keyboard hint is one line under the box.
        const hint = await box(page, '[data-testid="composer-hint"]');
        expect(hint.height).toBeLessThan(24);
      }
      // While streaming, Stop takes Send's place, inside the box too.
      t.upstream.set({ tokens: 400, tokenDelayMs: 20 });
      await page.keyboard.press('Enter');
      await page.getByRole('button', { name: 'Stop' }).waitFor();
      expect(isInside(await box(page, 'button[aria-label="Stop"]'), await box(page, '[data-testid="composer"]'))).toBe(true);
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      await page.getByRole('button', { name: 'Stop' }).click();
    });
  }

  it('puts the pages behind one labelled menu on a phone, each item named in words', async () => {
    const page = await signedIn(SIZES[1]);
    const header = page.locator('header');
    const visibleButtons = await header.locator('a:visible, button:visible').count();
    expect(visibleButtons).toBeLessThanOrEqual(3);
    expect(await header.evaluate((h) => h.scrollWidth - h.clientWidth)).toBeLessThanOrEqual(0);
    await page.getByRole('button', { name: 'Pages and settings' }).click();
    const menu = page.getByRole('navigation', { name: 'Pages and settings' });
    await menu.waitFor();
    const items = await menu.locator('a, button').allInnerTexts();
    expect(items.map((s) => s.trim())).toEqual(expect.arrayContaining(['Users and keys', 'Usage', 'Audit trail', 'API keys', 'Sign out']));
    expect(items.every((s) => s.trim().length > 0)).toBe(true);
    expect(isInside(await menu.boundingBox().then((b) => b as Box), { x: 0, y: 0, width: 390, height: 844 })).toBe(true);
    await menu.getByRole('link', { name: 'Usage' }).click();
    await page.waitForURL(/\/usage$/);
    await expect.poll(() => menu.count()).toBe(0);
  });

  it('closes the collection picker and shrinks the message box after sending', async () => {
    t.upstream.set({ mode: 'ok', tokens: 8, tokenDelayMs: 0 });
    const page = await signedIn(SIZES[0]);
    const message = page.getByRole('textbox', { name: 'Message' });
    const oneLine = (await message.boundingBox())?.height ?? 0;
    await page.locator('summary[aria-label^="Collections to search"]').click();
    await page.getByRole('checkbox', { name: /Board papers/ }).check();
    expect(
      await page
        .locator('details')
        .first()
        .evaluate((d) => (d as HTMLDetailsElement).open),
    ).toBe(true);
    await message.fill(Array.from({ length: 12 }, (_, i) => `Line ${i + 1} of a long question`).join('\n'));
    expect((await message.boundingBox())?.height ?? 0).toBeGreaterThan(oneLine * 3);
    await message.press('Enter');
    await page.getByTestId('user-message').waitFor();
    expect(
      await page
        .locator('details')
        .first()
        .evaluate((d) => (d as HTMLDetailsElement).open),
    ).toBe(false);
    await expect.poll(async () => (await message.boundingBox())?.height ?? 0).toBeLessThanOrEqual(oneLine + 1);
  });

  for (const size of SIZES) {
    it(`shows notices where they do not cover the page's heading (${size.name})`, async () => {
      const page = await signedIn(size);
      await page.goto(`${t.url}/prompts`);
      await page.getByRole('heading', { name: 'Prompts' }).waitFor();
      await page.getByLabel('New template name').fill(`notice-${size.name}`);
      await page.getByRole('button', { name: 'Add' }).click();
      const toast = page.locator('[data-sonner-toast]').filter({ hasText: 'Template created' });
      await toast.waitFor();
      await page.getByRole('heading', { name: `notice-${size.name}` }).waitFor();
      await page.waitForTimeout(500); // the toast's entrance animation
      const notice = (await toast.boundingBox()) as Box;
      for (const heading of await page.getByRole('heading').all()) {
        const where = await heading.boundingBox();
        if (where) expect(overlaps(notice, where), `the notice covers "${await heading.innerText()}"`).toBe(false);
      }
    });
  }
});

describe('answers and attachments', () => {
  it('marks an answer Stopped as soon as Stop is pressed, without a reload', async () => {
    t.upstream.set({ mode: 'ok', tokens: 3000, tokenDelayMs: 20 });
    const page = await signedIn(SIZES[0]);
    await page.getByRole('textbox', { name: 'Message' }).fill('Write a very long essay');
    await page.keyboard.press('Enter');
    const answer = page.getByTestId('assistant-message').last();
    await expect.poll(() => answer.innerText(), { timeout: 10_000 }).toContain(tokenText(5));
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => page.getByTestId('answer-meta').last().innerText(), { timeout: 2000 }).toContain('Stopped');
    expect(await answer.getAttribute('data-status')).toBe('stopped');
  });

  it('shows the files attached to a sent message on it, also after a reload', async () => {
    const page = await signedIn(SIZES[0]);
    await chooseModel(page, 'local/extractive');
    await page.getByLabel('Files to attach').setInputFiles([
      {
        name: 'travel-policy.md',
        mimeType: 'text/markdown',
        buffer: Buffer.from('# Travel\n\nStaff fly economy class on trips under six hours.'),
      },
    ]);
    await expect.poll(() => page.getByTestId('attachment').getAttribute('data-status'), { timeout: 20_000 }).toBe('ready');
    await page.getByRole('textbox', { name: 'Message' }).fill('Which class do staff fly?');
    await page.keyboard.press('Enter');
    const sent = page.getByTestId('user-message').last().getByTestId('sent-attachment');
    await expect.poll(() => sent.innerText()).toContain('travel-policy.md');
    await expect.poll(() => page.getByTestId('assistant-message').last().getAttribute('data-status'), { timeout: 15_000 }).toBe('complete');
    await page.waitForURL(/\/c\//);
    await page.reload();
    await page.getByTestId('user-message').last().waitFor();
    expect(await page.getByTestId('user-message').last().getByTestId('sent-attachment').innerText()).toContain('travel-policy.md');
  });
});

describe('admin pages', () => {
  it('tells a member who opens an admin page that it is not allowed, with no form', async () => {
    const page = await signedIn(SIZES[0], MEMBER);
    for (const path of ['/admin', '/organisation', '/audit', '/prompts']) {
      await page.goto(`${t.url}${path}`);
      await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
      expect(await page.locator('main form').count(), path).toBe(0);
    }
  });

  it('lets the owner of a collection add members, who then see it', async () => {
    const page = await signedIn(SIZES[0]);
    const { body } = await admin.json<{ id: string }>('POST', '/api/collections', { name: 'Shared with members' });
    await page.goto(`${t.url}/collections/${body.id}`);
    await page.getByRole('heading', { name: 'Members', exact: true }).waitFor();
    await page.getByLabel('Email of someone in your organisation').fill(MEMBER.email);
    await page.getByLabel('Access').selectOption('viewer');
    await page.getByRole('button', { name: 'Add member' }).click();
    await expect.poll(() => page.getByTestId('collection-member').allInnerTexts()).toEqual([expect.stringContaining(MEMBER.email)]);
    const member = new WebClient(t.url);
    await member.login(MEMBER.email, MEMBER.password);
    const visible = await member.json<{ items: Array<{ name: string }> }>('GET', '/api/collections');
    expect(visible.body.items.map((c) => c.name)).toContain('Shared with members');
    await page.getByRole('button', { name: `Remove ${MEMBER.email}` }).click();
    await expect.poll(() => page.getByTestId('collection-member').count()).toBe(0);
  });

  it('shows audit targets and details in words, not raw JSON', async () => {
    const page = await signedIn(SIZES[0]);
    await page.goto(`${t.url}/audit`);
    await page.getByTestId('audit-row').first().waitFor();
    const targets = await page.getByTestId('audit-target').allInnerTexts();
    expect(targets.length).toBeGreaterThan(0);
    for (const text of targets) expect(text).not.toMatch(/[{}"]/);
    expect(targets.join('\n')).toMatch(/members: email member@example\.com, role viewer|email: admin@example\.com/);
  });

  it('has a readable template editor that takes variables as an object and tries the input given', async () => {
    const page = await signedIn(SIZES[0]);
    await page.goto(`${t.url}/prompts`);
    await page.getByRole('button', { name: /board-minutes-summary/ }).click();
    await page.getByRole('heading', { name: 'board-minutes-summary' }).waitFor();
    const system = page.getByLabel('System prompt');
    const contrast = await system.evaluate((el) => {
      const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
      const lum = (c: string) => {
        const [r, g, b] = rgb(c).map((v) => {
          const s = v / 255;
          return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
        }) as [number, number, number];
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const style = getComputedStyle(el);
      const [a, b] = [lum(style.color), lum(style.backgroundColor === 'rgba(0, 0, 0, 0)' ? 'rgb(255,255,255)' : style.backgroundColor)];
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    });
    expect(contrast).toBeGreaterThanOrEqual(7);

    await system.fill('You summarise minutes for {{ company }}.');
    await page.getByLabel('Message template').fill('Question from the team: {{ input }}');
    await page.getByLabel('Variables', { exact: true }).fill('{"company": "Acme"}');
    await page.getByLabel('Note').fill('company as a variable');
    await page.getByRole('button', { name: 'Save and activate' }).click();
    await expect.poll(() => page.getByTestId('prompt-version').count()).toBe(2);
    expect(
      await page
        .locator('[data-sonner-toast]')
        .filter({ hasText: /Invalid input|expected array/ })
        .count(),
    ).toBe(0);

    await page.getByLabel('Variables', { exact: true }).fill('{"company": ');
    await page.getByLabel('Note').click();
    expect(await page.getByRole('alert').filter({ hasText: 'Variables are not valid JSON' }).count()).toBe(1);

    await page.getByLabel('Try message').fill('What did the board decide about dividends?');
    await page.getByLabel('Try variables').fill('{"company": "Globex"}');
    await page.getByRole('button', { name: 'Render' }).click();
    const rendered = page.getByTestId('prompt-rendered');
    await rendered.waitFor();
    expect(await rendered.innerText()).toContain('Question from the team: What did the board decide about dividends?');
    expect(await rendered.innerText()).toContain('You summarise minutes for Globex.');
  });
});
