import { readFile } from 'node:fs/promises';
import AxeBuilder from '@axe-core/playwright';
import { tokenText } from '@axon/bench/simulated-upstream';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../server/src/auth/auth-service';
import { SCANNED_NOTE_PNG } from '../server/src/testing/scanned-documents';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { chooseModel, launchBrowser, WEB_DIST } from './browser';

// The habits of the other browser tests, walked through once on a phone (390×844) in one signed-in
// browser: each control is reached the way a phone shows it, works, and fits the screen.
const PHONE = { width: 390, height: 844 };
const ADMIN = { email: 'admin@example.com', password: 'admin password 1' };
const MEMBER = { email: 'member@example.com', password: 'member password 1' };
const DAY_MS = 86_400_000;
const NOTE_BASE64 = Buffer.from(SCANNED_NOTE_PNG).toString('base64');

let t: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let shareLink = '';
const contexts: BrowserContext[] = [];

/** The serious and critical axe violations on the page, one line each, with the elements they hit. */
async function seriousViolations(on: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page: on }).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/**
 * How far the page, or the page's own scrolling box (`main`), scrolls sideways (a table or code may
 * scroll in a box of its own), with the outermost elements that stick out past the right edge.
 */
async function expectNoSidewaysScroll(on: Page) {
  const { overflow, outside } = await on.evaluate(() => {
    const mains = Array.from(document.querySelectorAll('main'));
    const outside = Array.from(document.querySelectorAll('body *'))
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5 && el.getBoundingClientRect().width > 0)
      .filter((el) => !(el.parentElement && el.parentElement.getBoundingClientRect().right > window.innerWidth + 0.5))
      .slice(0, 5)
      .map(
        (el) => `${el.tagName.toLowerCase()}.${Array.from(el.classList).join('.')} (${Math.round(el.getBoundingClientRect().right)} px)`,
      );
    return {
      overflow: Math.max(document.documentElement.scrollWidth - window.innerWidth, ...mains.map((m) => m.scrollWidth - m.clientWidth)),
      outside,
    };
  });
  expect(overflow, `sideways scrolling; sticking out: ${outside.join(', ')}`).toBeLessThanOrEqual(0);
}

/** No sideways scrolling, and each of `inside` fully on screen (and, when given, inside its container). */
async function expectFits(on: Page, inside: Locator[] = [], container?: Locator) {
  await expectNoSidewaysScroll(on);
  const outer = container ? await container.boundingBox() : null;
  for (const locator of inside) {
    // (A message list may render again once its conversation has loaded.)
    // Measured in the poll itself: a message rendered again between two reads has no box for a moment.
    const measured: { box: Awaited<ReturnType<Locator['boundingBox']>> } = { box: null };
    await expect
      .poll(
        async () => {
          measured.box = await locator.boundingBox();
          return measured.box;
        },
        { message: `${locator} is on screen` },
      )
      .not.toBeNull();
    const box = measured.box;
    if (!box) continue;
    expect(box.x, `${locator} starts on screen: ${JSON.stringify(box)}`).toBeGreaterThanOrEqual(-0.5);
    expect(box.y, `${locator} starts on screen`).toBeGreaterThanOrEqual(-0.5);
    expect(box.x + box.width, `${locator} ends on screen`).toBeLessThanOrEqual(PHONE.width + 0.5);
    expect(box.y + box.height, `${locator} ends on screen`).toBeLessThanOrEqual(PHONE.height + 0.5);
    if (outer) {
      expect(box.x, `${locator} inside its container`).toBeGreaterThanOrEqual(outer.x - 0.5);
      expect(box.x + box.width, `${locator} inside its container`).toBeLessThanOrEqual(outer.x + outer.width + 0.5);
    }
  }
}
/** The same for things on a long page: across, not down. */
async function expectFitsAcross(on: Page, inside: Locator[]) {
  await expectNoSidewaysScroll(on);
  for (const locator of inside) {
    await locator.scrollIntoViewIfNeeded();
    const box = await locator.boundingBox();
    expect(box && box.x >= -0.5 && box.x + box.width <= PHONE.width + 0.5, `${locator} fits across: ${JSON.stringify(box)}`).toBe(true);
  }
}

/** Opens a page from the header's phone menu, which holds the pages on a narrow screen. */
async function openFromPhoneMenu(name: string) {
  await page.getByRole('button', { name: 'Pages and settings' }).click();
  const menu = page.getByRole('navigation', { name: 'Pages and settings' });
  await menu.getByRole('link', { name, exact: true }).click();
  await menu.waitFor({ state: 'detached' });
}
/** Opens the conversation drawer (the sidebar on a phone). */
async function openDrawer() {
  await page.getByRole('button', { name: 'Open menu' }).click();
  const nav = page.getByRole('navigation', { name: 'Conversations' });
  await nav.waitFor();
  // The drawer slides in.
  await expect.poll(async () => (await nav.boundingBox())?.x).toBeGreaterThanOrEqual(0);
  return nav;
}
async function newChat() {
  await page.goto(t.url);
  await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
}
const lastAnswer = () => page.getByTestId('assistant-message').last();
const lastQuestion = () => page.getByTestId('user-message').last();
async function send(text: string) {
  const answers = await page.getByTestId('assistant-message').count();
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await expect.poll(() => page.getByRole('button', { name: 'Send' }).isEnabled(), { timeout: 20_000 }).toBe(true);
  await page.keyboard.press('Enter');
  await expect.poll(() => page.getByTestId('assistant-message').count()).toBe(answers + 1);
  await expect.poll(() => lastAnswer().getAttribute('data-status'), { timeout: 15_000 }).toBe('complete');
  await page.waitForURL(/\/c\//);
}
async function newPhoneContext(): Promise<Page> {
  const other = await browser.newContext({ viewport: PHONE });
  contexts.push(other);
  const opened = await other.newPage();
  opened.on('pageerror', (error) => console.error('page error:', error));
  return opened;
}

beforeAll(async () => {
  // OCR off, so that an image uploaded to a collection fails with the reason.
  t = await startTestServer({ webDir: WEB_DIST, overrides: { rag: { ocr: false } } });
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: PHONE, acceptDownloads: true });
  contexts.push(context);
  page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
}, 60_000);
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await t?.close();
});

describe('on a phone (390×844)', () => {
  it('sets up the first admin account on a form that fits and passes the accessibility check', async () => {
    await page.goto(t.url);
    const create = page.getByRole('button', { name: 'Create admin account' });
    await create.waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await expectFits(page, [create, page.getByLabel('Email')]);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await create.click();
    await page.getByRole('heading', { name: 'How can I help?' }).waitFor();

    const auth = createAuthService({ store: t.server.store, sessionTtlMs: 3_600_000 });
    await auth.createUser({ ...MEMBER, role: 'member' });
    await auth.createUser({ email: 'leaver@example.com', password: 'leaver password 1', role: 'member' });
    const { csrfToken } = (await (await page.request.get(`${t.url}/api/auth/session`)).json()) as { csrfToken: string };
    const made = await page.request.post(`${t.url}/api/collections`, {
      headers: { 'x-csrf-token': csrfToken },
      data: { name: 'Board papers' },
    });
    expect(made.status()).toBe(201);
  });

  it('opens the phone menu inside the screen, passing the accessibility check', async () => {
    await page.getByRole('button', { name: 'Pages and settings' }).click();
    const menu = page.getByRole('navigation', { name: 'Pages and settings' });
    await menu.waitFor();
    await expectFits(page, [menu]);
    expect(await seriousViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
  });

  it('marks an answer Stopped as soon as Stop is pressed', async () => {
    t.upstream.set({ mode: 'ok', tokens: 3000, tokenDelayMs: 20, content: undefined });
    await page.getByRole('textbox', { name: 'Message' }).fill('Write a very long essay');
    await page.keyboard.press('Enter');
    await expect.poll(() => lastAnswer().innerText(), { timeout: 10_000 }).toContain(tokenText(5));
    const stop = page.getByRole('button', { name: 'Stop' });
    await expectFits(page, [stop], page.getByTestId('composer'));
    await stop.click();
    await expect.poll(() => page.getByTestId('answer-meta').last().innerText(), { timeout: 2000 }).toContain('Stopped');
    expect(await lastAnswer().getAttribute('data-status')).toBe('stopped');
    await expectFits(page, [page.getByTestId('answer-meta').last()]);
  });

  it('closes the collection picker and shrinks the message box after sending', async () => {
    t.upstream.set({ mode: 'ok', tokens: 8, tokenDelayMs: 0 });
    await newChat();
    const message = page.getByRole('textbox', { name: 'Message' });
    const oneLine = (await message.boundingBox())?.height ?? 0;
    await page.locator('summary[aria-label^="Collections to search"]').click();
    const choice = page.getByRole('checkbox', { name: /Board papers/ });
    await choice.check();
    await expectFits(page, [choice]);
    const picker = page.locator('details').first();
    expect(await picker.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
    await message.fill(Array.from({ length: 12 }, (_, i) => `Line ${i + 1} of a long question`).join('\n'));
    expect((await message.boundingBox())?.height ?? 0).toBeGreaterThan(oneLine * 3);
    await expectFits(page, [page.getByRole('button', { name: 'Send' })], page.getByTestId('composer'));
    await message.press('Enter');
    await lastQuestion().waitFor();
    expect(await picker.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    await expect.poll(async () => (await message.boundingBox())?.height ?? 0).toBeLessThanOrEqual(oneLine + 1);
    await expect.poll(() => lastAnswer().getAttribute('data-status'), { timeout: 15_000 }).toBe('complete');
    await expectFits(page);
  });

  it('shows the files attached to a sent message on it', async () => {
    await newChat();
    await chooseModel(page, 'local/extractive');
    await page.getByLabel('Files to attach').setInputFiles([
      {
        name: 'travel-policy-for-staff-and-contractors-2026.md',
        mimeType: 'text/markdown',
        buffer: Buffer.from('# Travel\n\nStaff fly economy class on trips under six hours.'),
      },
    ]);
    await expect.poll(() => page.getByTestId('attachment').getAttribute('data-status'), { timeout: 20_000 }).toBe('ready');
    await expectFits(page, [page.getByTestId('attachment')], page.getByTestId('composer'));
    await send('Which class do staff fly?');
    const sent = lastQuestion().getByTestId('sent-attachment');
    expect(await sent.innerText()).toContain('travel-policy-for-staff-and-contractors-2026.md');
    await expectFits(page, [sent]);
  });

  it('shows the thumbnail of a pasted image on the sent message', async () => {
    t.upstream.set({ mode: 'ok', tokenDelayMs: 0, content: 'The note says an invoice was paid.' });
    await newChat();
    await page.getByRole('textbox', { name: 'Message' }).evaluate((box, base64) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
      box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, NOTE_BASE64);
    await page.getByTestId('composer').getByTestId('attachment').waitFor();
    await expectFits(page, [page.getByTestId('composer').getByTestId('attachment')], page.getByTestId('composer'));
    await send('What does this note say?');
    const thumbnail = lastQuestion().getByTestId('sent-thumbnail');
    await expect
      .poll(() => thumbnail.evaluate((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0))
      .toBe(true);
    await thumbnail.waitFor();
    await expectFits(page, [thumbnail]);
  });

  it('scrolls a long display equation inside its own box, not the page', async () => {
    const long = Array.from({ length: 30 }, (_, i) => `x_{${i}}^{2}`).join(' + ');
    t.upstream.set({ mode: 'ok', tokenDelayMs: 0, content: `The sum:\n\n$$${long} = y$$\n\nDone.` });
    await send('A long sum, please');
    const equation = lastAnswer().locator('math[display="block"]');
    await equation.waitFor();
    expect(await equation.evaluate((m) => m.scrollWidth > m.clientWidth)).toBe(true);
    expect(await equation.evaluate((m) => getComputedStyle(m).overflowX)).toBe('auto');
    await expectFits(page, [equation], lastAnswer());
  });

  it('opens the chat settings, inside the screen and above the composer, and saves them', async () => {
    await page.getByRole('button', { name: 'Chat settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Chat settings' });
    await dialog.waitFor();
    await expectFits(page, [dialog]);
    const panel = await dialog.boundingBox();
    const composer = await page.getByTestId('composer').boundingBox();
    expect(panel && composer && panel.y + panel.height <= composer.y + 1).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await dialog.getByLabel('Instructions for this chat').fill('Answer briefly.');
    await dialog.getByLabel('Temperature').fill('0.3');
    await dialog.getByLabel('Max tokens').fill('200');
    await expectFits(page, [dialog.getByRole('button', { name: 'Save settings' })], dialog);
    await dialog.getByRole('button', { name: 'Save settings' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Chat settings (changed)' }).waitFor();
  });

  it('takes a comment on an answer in a form that fits and passes the accessibility check', async () => {
    await lastAnswer().getByRole('button', { name: 'Good answer' }).click();
    const form = page.getByRole('form', { name: 'Feedback comment' });
    await form.waitFor();
    await expectFitsAcross(page, [form]);
    expect(await seriousViolations(page)).toEqual([]);
    await form.getByRole('textbox').fill('Clear.');
    await form.getByRole('button', { name: 'Send feedback' }).click();
    await form.waitFor({ state: 'detached' });
  });

  it('shares a conversation from the drawer’s menu, and shows the shared page read-only', async () => {
    const title = await page.title();
    expect(title).toBeTruthy();
    const nav = await openDrawer();
    const more = nav.getByRole('button', { name: /^More actions for / }).first();
    const name = ((await more.getAttribute('aria-label')) as string).slice('More actions for '.length);
    await more.click();
    const menu = page.getByRole('menu', { name: `Actions for ${name}` });
    await menu.waitFor();
    await expectFits(page, [menu]);
    expect(await seriousViolations(page)).toEqual([]);
    await menu.getByRole('menuitem', { name: 'Share…' }).click();
    const dialog = page.getByRole('dialog', { name: `Share “${name}”` });
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const field = dialog.getByRole('textbox', { name: 'Link to this conversation' });
    await field.waitFor();
    shareLink = await field.inputValue();
    expect(shareLink).toMatch(/\/shared\/[A-Za-z0-9_-]{32}$/);
    await expectFits(page, [dialog, dialog.getByRole('button', { name: 'Copy link' }), field]);
    expect(await seriousViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    // The export menu: the items are in the same menu, and the file comes.
    if (!(await page.getByRole('navigation', { name: 'Conversations' }).isVisible())) await openDrawer();
    await page
      .getByRole('button', { name: `More actions for ${name}` })
      .first()
      .click();
    const exportItem = page.getByRole('menuitem', { name: 'Export as Markdown' });
    await expectFits(page, [exportItem, page.getByRole('menuitem', { name: 'Export as JSON' })]);
    const [file] = await Promise.all([page.waitForEvent('download'), exportItem.click()]);
    expect(await readFile((await file.path()) as string, 'utf8')).toContain(`# ${name}`);

    await page.goto(shareLink);
    await page.getByText('Read-only').waitFor();
    await page.getByTestId('assistant-message').first().waitFor();
    await expectFits(page, [page.getByText('Read-only')]);
    await expectFitsAcross(page, [page.getByTestId('assistant-message').last()]);
  });

  it('shows a snippet under each search result in the drawer', async () => {
    t.upstream.set({ mode: 'ok', tokenDelayMs: 0, content: 'Repo is a secured loan between two banks.' });
    await newChat();
    await send('What is a repo?');
    const nav = await openDrawer();
    await nav.getByRole('searchbox', { name: 'Search conversations' }).fill('secured loan');
    const snippet = nav.getByRole('region', { name: 'Results' }).getByTestId('search-snippet').first();
    await snippet.waitFor();
    expect(await snippet.innerText()).toContain('Repo is a secured loan');
    await expectFits(page, [snippet], nav);
    await nav.getByRole('searchbox', { name: 'Search conversations' }).fill('');
  });

  it('saves default instructions in Settings, opened from the phone menu', async () => {
    await newChat();
    await openFromPhoneMenu('API keys');
    const field = page.getByRole('textbox', { name: 'Default instructions' });
    await expect.poll(() => field.isEnabled()).toBe(true);
    await field.fill('I work on the treasury desk.');
    const save = page.getByRole('button', { name: 'Save instructions' });
    await expectFitsAcross(page, [field, save]);
    await save.click();
    await page.getByText('Instructions saved').first().waitFor();
  });

  it('runs the account actions on Users and keys, and the reset link opens a page that fits', async () => {
    await openFromPhoneMenu('Users and keys');
    const row = page.getByTestId('admin-user').filter({ hasText: MEMBER.email });
    await row.waitFor();
    await expectFitsAcross(page, [row, row.getByRole('button', { name: 'Disable' }), row.getByLabel(`Role of ${MEMBER.email}`)]);
    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByText('disabled', { exact: true }).waitFor();
    await row.getByRole('button', { name: 'Enable' }).click();
    await row.getByText('active', { exact: true }).waitFor();
    await row.getByRole('button', { name: 'Reset password' }).click();
    const resetLink = page.getByTestId('reset-link');
    const link = await resetLink.innerText();
    expect(link).toMatch(/\/reset-password#token=[\w-]{43}$/);
    await expectFitsAcross(page, [resetLink]);
    const leaver = page.getByTestId('admin-user').filter({ hasText: 'leaver@example.com' });
    page.once('dialog', (dialog) => void dialog.accept());
    await expectFitsAcross(page, [leaver.getByRole('button', { name: 'Delete' })]);
    await leaver.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => leaver.count()).toBe(0);

    const person = await newPhoneContext();
    await person.goto(link);
    await person.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    expect(await seriousViolations(person)).toEqual([]);
    await expectFits(person, [person.getByRole('button', { name: 'Set password' })]);
  });

  it('adds a member on a collection’s members screen', async () => {
    await openFromPhoneMenu('Collections');
    await page.getByRole('link', { name: /Board papers/ }).click();
    await page.getByRole('heading', { name: 'Members', exact: true }).waitFor();
    const email = page.getByLabel('Email of someone in your organisation');
    await email.fill(MEMBER.email);
    await page.getByLabel('Access').selectOption('viewer');
    await expectFitsAcross(page, [email, page.getByLabel('Access'), page.getByRole('button', { name: 'Add member' })]);
    await page.getByRole('button', { name: 'Add member' }).click();
    await expect.poll(() => page.getByTestId('collection-member').allInnerTexts()).toEqual([expect.stringContaining(MEMBER.email)]);
    await expectFitsAcross(page, [page.getByTestId('collection-member'), page.getByRole('button', { name: `Remove ${MEMBER.email}` })]);
  });

  it('fails an image uploaded with OCR off, saying so in plain words', async () => {
    await page
      .getByLabel('Choose files to upload')
      .setInputFiles([{ name: 'note.png', mimeType: 'image/png', buffer: Buffer.from(SCANNED_NOTE_PNG) }]);
    const row = page.getByTestId('document-row').filter({ hasText: 'note.png' });
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 30_000 }).toBe('failed');
    expect(await row.innerText()).toContain(
      'This is a PNG image: Axon reads the text in images with OCR, which is turned off on this server (the rag.ocr setting).',
    );
    await expectFitsAcross(page, [row]);
  });

  it('shows audit targets in words', async () => {
    await openFromPhoneMenu('Audit trail');
    await page.getByTestId('audit-row').first().waitFor();
    const targets = await page.getByTestId('audit-target').allInnerTexts();
    expect(targets.join('\n')).toMatch(/members: email member@example\.com, role viewer|email: admin@example\.com/);
    for (const text of targets) expect(text).not.toMatch(/[{}"]/);
    await expectFits(page, [page.getByRole('combobox', { name: 'Action' })]);
  });

  it('edits, saves and tries a template in the template editor', async () => {
    await openFromPhoneMenu('Prompt templates');
    await page.getByLabel('New template name').fill('board-minutes-summary');
    await page.getByRole('button', { name: 'Add' }).click();
    await page.getByRole('heading', { name: 'board-minutes-summary' }).waitFor();
    await page.getByLabel('System prompt').fill('You summarise minutes for {{ company }}.');
    await page.getByLabel('Message template').fill('Question from the team: {{ input }}');
    await page.getByLabel('Variables', { exact: true }).fill('{"company": "Acme"}');
    await page.getByRole('textbox', { name: 'Note' }).fill('company as a variable');
    await expectFitsAcross(page, [page.getByLabel('System prompt'), page.getByRole('button', { name: 'Save and activate' })]);
    await page.getByRole('button', { name: 'Save and activate' }).click();
    await expect.poll(() => page.getByTestId('prompt-version').count()).toBe(2);
    await page.getByLabel('Try message').fill('What did the board decide?');
    await page.getByLabel('Try variables').fill('{"company": "Globex"}');
    // The notice that the version was saved covers the foot of the screen for a few seconds, where
    // Render is: it is pressed from the keyboard meanwhile.
    const render = page.getByRole('button', { name: 'Render' });
    await expectFitsAcross(page, [render]);
    await render.focus();
    await page.keyboard.press('Enter');
    const rendered = page.getByTestId('prompt-rendered');
    await rendered.waitFor();
    expect(await rendered.innerText()).toContain('You summarise minutes for Globex.');
    await expectFitsAcross(page, [rendered, page.getByTestId('prompt-version').first()]);
  });

  it('draws thirty-one days of usage bars without sideways scrolling', async () => {
    const admin = await t.server.store.users.findByEmail(ADMIN.email);
    for (let daysAgo = 0; daysAgo < 31; daysAgo++)
      t.server.store.usage.append({
        at: new Date(Date.now() - daysAgo * DAY_MS - 60_000).toISOString(),
        orgId: admin?.orgId as string,
        userId: admin?.id as string,
        userEmail: ADMIN.email,
        apiKeyId: null,
        route: '/v1/chat/completions',
        model: 'sim/sim-1',
        status: 'complete',
        inputTokens: 100,
        outputTokens: 10,
        costUsd: 0.001,
        latencyMs: 200,
        ttftMs: 50,
      });
    await t.server.store.usage.flush();
    await openFromPhoneMenu('Usage');
    await page.getByRole('combobox', { name: 'Period' }).selectOption('30 days');
    await expect.poll(() => page.getByTestId('usage-day').count()).toBeGreaterThanOrEqual(31);
    const chart = page.getByRole('img', { name: /^Requests per day/ });
    await expectFitsAcross(page, [chart]);
    const lastBar = page.getByTestId('usage-day').last();
    expect(await lastBar.evaluate((bar) => bar.getBoundingClientRect().right)).toBeLessThanOrEqual(PHONE.width);
  });

  it('shows a shared conversation that is no longer shared as not available, passing the accessibility check', async () => {
    const gone = `${new URL(shareLink).origin}/shared/${'x'.repeat(32)}`;
    await page.goto(gone);
    await page.getByRole('heading', { name: 'This shared conversation is not available' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await expectFits(page, [page.getByRole('heading', { name: 'This shared conversation is not available' })]);
  });

  it('tells a member on an admin page that it is not allowed, passing the accessibility check', async () => {
    const member = await newPhoneContext();
    await member.goto(t.url);
    await member.getByLabel('Email').fill(MEMBER.email);
    await member.getByLabel('Password').fill(MEMBER.password);
    await member.getByRole('button', { name: 'Sign in' }).click();
    await member.getByRole('heading', { name: 'How can I help?' }).waitFor();
    for (const path of ['/admin', '/audit', '/prompts']) {
      await member.goto(`${t.url}${path}`);
      const heading = member.getByRole('heading', { name: 'Not allowed' });
      await heading.waitFor();
      expect(await member.locator('main form').count(), path).toBe(0);
      await expectFits(member, [heading, member.getByRole('link', { name: 'Back to chat' })]);
    }
    expect(await seriousViolations(member)).toEqual([]);
  });
});
