import AxeBuilder from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../server/src/auth/auth-service';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let admin: BrowserContext;
let conversationId = '';
let collectionId = '';
let shareToken = '';

const SCREENS = [
  { width: 1366, height: 768, colorScheme: 'light' },
  { width: 390, height: 844, colorScheme: 'light' },
  { width: 1366, height: 768, colorScheme: 'dark' },
] as const;

/** The serious and critical axe violations on the page, one line each, with the elements they hit. */
async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST });
  browser = await launchBrowser();
  admin = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await admin.newPage();
  await setUpFirstAdmin(page, t.url);
  const { csrfToken } = (await (await page.request.get(`${t.url}/api/auth/session`)).json()) as { csrfToken: string };
  const headers = { 'x-csrf-token': csrfToken };
  collectionId = (
    (await (await page.request.post(`${t.url}/api/collections`, { headers, data: { name: 'Minutes' } })).json()) as { id: string }
  ).id;
  // A collection with a document, so that the answer cites it: source chips, source cards.
  const handbookId = (
    (await (await page.request.post(`${t.url}/api/collections`, { headers, data: { name: 'Handbook' } })).json()) as { id: string }
  ).id;
  const upload = await page.request.post(`${t.url}/api/collections/${handbookId}/documents`, {
    headers,
    multipart: {
      file: {
        name: 'rates.md',
        mimeType: 'text/markdown',
        buffer: Buffer.from('# Rates\n\nThe Committee raised the target rate by 25 basis points in July.'),
      },
    },
  });
  expect(upload.status()).toBe(202);
  const documentStatus = async () =>
    ((await (await page.request.get(`${t.url}/api/collections/${handbookId}/documents`)).json()) as { items: Array<{ status: string }> })
      .items[0]?.status;
  for (let tries = 0; (await documentStatus()) !== 'ready'; tries++) {
    if (tries > 150) throw new Error('the document was not ready within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  conversationId = (
    (await (
      await page.request.post(`${t.url}/api/conversations`, {
        headers,
        data: { title: 'Rates', model: 'sim/sim-1', collectionIds: [handbookId] },
      })
    ).json()) as {
      id: string;
    }
  ).id;
  // An answer with the parts that carry their own colours: a citation chip, a code block with its
  // language and Copy button, a table, inline code, a link, and under it the sources and actions.
  t.upstream.set({
    mode: 'ok',
    tokenDelayMs: 0,
    content: [
      'The **Committee** raised the rate by 25 basis points [1].',
      '',
      '- One `inline code`',
      '- Two, see [the statement](https://example.com/statement)',
      '',
      '| Rate | Change |',
      '| --- | --- |',
      '| Target | +0.25 |',
      '',
      '```python',
      'rate = 5.25  # percent',
      'print(f"{rate:.2f}")',
      '```',
      '',
      '> A quote.',
    ].join('\n'),
  });
  await page.goto(`${t.url}/c/${conversationId}`);
  await page.getByRole('textbox', { name: 'Message' }).fill('What did the Committee decide?');
  await page.keyboard.press('Enter');
  await page.locator('[data-testid="assistant-message"][data-status="complete"]').waitFor({ timeout: 15_000 });
  await page.getByRole('button', { name: 'Source 1' }).waitFor();
  await page.getByTestId('source-card').first().waitFor();
  const share = await page.request.post(`${t.url}/api/conversations/${conversationId}/share`, { headers });
  expect(share.ok()).toBe(true);
  shareToken = ((await share.json()) as { token: string }).token;
  await page.close();
}, 120_000);
afterAll(async () => {
  await admin?.close();
  await browser?.close();
  await t?.close();
});

/** Every signed-in page, with what shows once it has rendered. */
const pages = () => [
  { name: 'chat', path: '/', ready: (p: Page) => p.getByRole('heading', { name: 'How can I help?' }).waitFor() },
  {
    name: 'conversation with an answer',
    path: `/c/${conversationId}`,
    ready: (p: Page) => p.locator('[data-testid="assistant-message"][data-status="complete"]').waitFor(),
  },
  { name: 'collections', path: '/collections', ready: (p: Page) => p.getByRole('link', { name: /Minutes/ }).waitFor() },
  { name: 'a collection', path: `/collections/${collectionId}`, ready: (p: Page) => p.getByText('This collection is empty.').waitFor() },
  { name: 'prompts', path: '/prompts', ready: (p: Page) => p.getByRole('heading').first().waitFor() },
  { name: 'agents', path: '/agents', ready: (p: Page) => p.getByRole('heading').first().waitFor() },
  { name: 'tools', path: '/tools', ready: (p: Page) => p.getByRole('heading').first().waitFor() },
  { name: 'settings and keys', path: '/settings', ready: (p: Page) => p.getByRole('heading').first().waitFor() },
  { name: 'usage', path: '/usage', ready: (p: Page) => p.getByTestId('feedback-section').waitFor() },
  { name: 'users and keys', path: '/admin', ready: (p: Page) => p.getByRole('heading', { name: 'Users' }).waitFor() },
  { name: 'organisation', path: '/organisation', ready: (p: Page) => p.getByRole('heading').first().waitFor() },
  { name: 'audit', path: '/audit', ready: (p: Page) => p.getByRole('heading').first().waitFor() },
  { name: 'prompt log', path: '/prompt-log', ready: (p: Page) => p.getByRole('heading').first().waitFor() },
  { name: 'shared conversation', path: `/shared/${shareToken}`, ready: (p: Page) => p.getByText('Shared by admin@example.com').waitFor() },
];

describe('the accessibility check', () => {
  it('reports a serious violation when a page has one', async () => {
    const page = await admin.newPage();
    try {
      await page.goto(t.url);
      await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
      await page.evaluate(() => {
        const image = document.createElement('img');
        image.id = 'nameless';
        image.src = '/favicon.svg';
        document.body.append(image);
      });
      expect((await seriousViolations(page)).join('\n')).toContain('#nameless');
    } finally {
      await page.close();
    }
  });
});

describe.each(SCREENS)('no serious or critical accessibility violations at $width×$height, $colorScheme theme', (screen) => {
  const viewport = { width: screen.width, height: screen.height };
  const colorScheme = screen.colorScheme;
  it('on the sign-in page', async () => {
    const context = await browser.newContext({ viewport, colorScheme });
    try {
      const page = await context.newPage();
      await page.goto(t.url);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      expect(await seriousViolations(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('on every signed-in page', async () => {
    const context = await browser.newContext({ viewport, colorScheme });
    try {
      await context.addCookies(await admin.cookies());
      const page = await context.newPage();
      const found: string[] = [];
      for (const entry of pages()) {
        await page.goto(`${t.url}${entry.path}`);
        await entry.ready(page);
        await page.waitForLoadState('networkidle');
        for (const violation of await seriousViolations(page)) found.push(`${entry.name}: ${violation}`);
      }
      expect(found).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);
});

describe('no serious or critical accessibility violations with panels open and on the pages outside the app', () => {
  it('with the chat settings, the feedback comment form, the conversation menu and the share dialog open', async () => {
    const page = await admin.newPage();
    try {
      await page.goto(`${t.url}/c/${conversationId}`);
      const answer = page.locator('[data-testid="assistant-message"][data-status="complete"]').last();
      await answer.waitFor();
      const found: string[] = [];
      const check = async (name: string) => {
        for (const violation of await seriousViolations(page)) found.push(`${name}: ${violation}`);
      };

      await page.getByRole('button', { name: 'Chat settings' }).click();
      const settings = page.getByRole('dialog', { name: 'Chat settings' });
      await settings.waitFor();
      await check('chat settings');
      await page.keyboard.press('Escape');
      await settings.waitFor({ state: 'detached' });

      await answer.getByRole('button', { name: 'Good answer' }).click();
      const form = page.getByRole('form', { name: 'Feedback comment' });
      await form.waitFor();
      await check('feedback comment');
      await form.getByRole('button', { name: 'Skip' }).click();
      await form.waitFor({ state: 'detached' });

      await page.getByRole('button', { name: 'More actions for Rates' }).click();
      const menu = page.getByRole('menu', { name: 'Actions for Rates' });
      await menu.waitFor();
      await check('conversation menu');
      await menu.getByRole('menuitem', { name: 'Share…' }).click();
      const share = page.getByRole('dialog', { name: 'Share “Rates”' });
      await share.getByRole('textbox', { name: 'Link to this conversation' }).waitFor();
      await check('share dialog');
      await page.keyboard.press('Escape');
      expect(found).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('on the reset-password page, the not-allowed page and the page of a shared conversation that is not available', async () => {
    const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
    await auth.createUser({ email: 'member@example.com', password: 'member password 1', role: 'member' });
    const member = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    try {
      const page = await member.newPage();
      const found: string[] = [];
      const check = async (name: string) => {
        for (const violation of await seriousViolations(page)) found.push(`${name}: ${violation}`);
      };
      await page.goto(t.url);
      await page.getByLabel('Email').fill('member@example.com');
      await page.getByLabel('Password').fill('member password 1');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
      await page.goto(`${t.url}/admin`);
      await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
      await check('not allowed');
      await page.goto(`${t.url}/shared/${'x'.repeat(32)}`);
      await page.getByRole('heading', { name: 'This shared conversation is not available' }).waitFor();
      await check('shared conversation not available');

      const adminPage = await admin.newPage();
      const { csrfToken } = (await (await adminPage.request.get(`${t.url}/api/auth/session`)).json()) as { csrfToken: string };
      const memberId = (await t.server.store.users.findByEmail('member@example.com'))?.id;
      const reset = await adminPage.request.post(`${t.url}/api/admin/users/${memberId}/password-reset`, {
        headers: { 'x-csrf-token': csrfToken },
      });
      expect(reset.ok()).toBe(true);
      await adminPage.close();
      const { url } = (await reset.json()) as { url: string };
      const strangerContext = await browser.newContext({ viewport: { width: 1366, height: 768 } });
      try {
        const stranger = await strangerContext.newPage();
        await stranger.goto(url);
        await stranger.getByRole('heading', { name: 'Choose a new password' }).waitFor();
        for (const violation of await seriousViolations(stranger)) found.push(`reset password: ${violation}`);
      } finally {
        await strangerContext.close();
      }
      expect(found).toEqual([]);
    } finally {
      await member.close();
    }
  });
});

describe('the keyboard-shortcut sheet', () => {
  it('opens on ?, lists the shortcuts, passes the accessibility check and closes on Esc, giving focus back', async () => {
    const page = await admin.newPage();
    try {
      await page.goto(t.url);
      await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
      const sheet = page.getByRole('dialog', { name: 'Keyboard shortcuts' });

      // In the message box, ? is a question mark.
      const message = page.getByRole('textbox', { name: 'Message' });
      await message.focus();
      await page.keyboard.type('Why?');
      expect(await message.inputValue()).toBe('Why?');
      expect(await sheet.count()).toBe(0);

      const search = page.getByRole('button', { name: 'Toggle dark mode' });
      await search.focus();
      await page.keyboard.press('?');
      await sheet.waitFor();
      const rows = await sheet.getByTestId('shortcut').allInnerTexts();
      const flat = rows.map((r) => r.replace(/\s+/g, ' ').trim());
      expect(flat).toContain('Enter Send the message');
      expect(flat).toContain('Shift Enter New line');
      expect(flat).toContain('Esc Stop the answer being written');
      expect(flat).toContain('Ctrl K Search conversations');
      expect(flat).toContain('Ctrl Shift O New chat');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('dialog');
      expect(await seriousViolations(page)).toEqual([]);

      await page.keyboard.press('Escape');
      await sheet.waitFor({ state: 'detached' });
      expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Toggle dark mode');
      // The message typed before stays.
      expect(await message.inputValue()).toBe('Why?');
    } finally {
      await page.close();
    }
  });
});
