import { readFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../server/src/auth/auth-service';
import { buildPdf } from '../server/src/testing/sample-documents';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let owner: Page;
const contexts: BrowserContext[] = [];
const TITLE = 'March rate decision';
const ANSWER = 'The Committee raised the rate by 25 basis points [1].';
let link = '';
/** The colleague's page on the shared link. */
let colleague: Page;

/** A page of a new browser (its own cookies), signed in through the sign-in page at `url`. */
async function signedInAt(url: string, email: string, password: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(url);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  return page;
}

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST });
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true });
  contexts.push(context);
  owner = await context.newPage();
  owner.on('pageerror', (error) => console.error('page error:', error));
  await setUpFirstAdmin(owner, t.url);

  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 3_600_000 });
  await auth.createUser({ email: 'colleague@example.com', password: 'colleague password 1', role: 'member' });
  const acme = await t.server.store.organizations.create({ slug: 'acme', name: 'Acme', limits: {}, promptLogMode: null });
  await auth.createUser({ email: 'outsider@acme.test', password: 'outsider password 1', role: 'member', orgId: acme.id });

  // A collection with the meeting's minutes, and a conversation grounded in it, made through the API
  // with the owner's session.
  const { csrfToken } = (await (await owner.request.get(`${t.url}/api/auth/session`)).json()) as { csrfToken: string };
  const headers = { 'x-csrf-token': csrfToken };
  const collection = (await (await owner.request.post(`${t.url}/api/collections`, { headers, data: { name: 'Minutes' } })).json()) as {
    id: string;
  };
  const pdf = await buildPdf([['The Committee raised the federal funds rate by 25 basis points in March.']]);
  const uploaded = await owner.request.post(`${t.url}/api/collections/${collection.id}/documents`, {
    headers,
    multipart: { file: { name: 'minutes.pdf', mimeType: 'application/pdf', buffer: Buffer.from(pdf) } },
  });
  expect(uploaded.status()).toBe(202);
  await t.server.ingestion.idle();
  const conversation = (await (
    await owner.request.post(`${t.url}/api/conversations`, {
      headers,
      data: { title: TITLE, model: 'sim/sim-1', collectionIds: [collection.id] },
    })
  ).json()) as { id: string };

  t.upstream.set({ mode: 'ok', tokenDelayMs: 0, content: ANSWER });
  await owner.goto(`${t.url}/c/${conversation.id}`);
  await owner.getByRole('textbox', { name: 'Message' }).fill('What did the Committee decide in March?');
  await owner.keyboard.press('Enter');
  await owner.locator('[data-testid="assistant-message"][data-status="complete"]').waitFor({ timeout: 15_000 });
}, 120_000);
afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await t?.close();
});

const openMenu = async () => {
  await owner.getByRole('button', { name: `More actions for ${TITLE}` }).click();
  return owner.getByRole('menu', { name: `Actions for ${TITLE}` });
};

describe('sharing a conversation with the organisation', () => {
  it('lets the owner make a read-only link from the conversation’s menu', async () => {
    await (await openMenu()).getByRole('menuitem', { name: 'Share…' }).click();
    const dialog = owner.getByRole('dialog', { name: `Share “${TITLE}”` });
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const field = dialog.getByRole('textbox', { name: 'Link to this conversation' });
    await field.waitFor();
    link = await field.inputValue();
    expect(link).toMatch(new RegExp(`^${t.url}/shared/[A-Za-z0-9_-]{32}$`));
    await dialog.getByRole('button', { name: 'Copy link' }).waitFor();
    await owner.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    // Focus goes back to the menu's button.
    expect(await owner.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(`More actions for ${TITLE}`);
  });

  it('shows a colleague who opens the link the conversation, read-only, with its sources', async () => {
    colleague = await signedInAt(link, 'colleague@example.com', 'colleague password 1');
    await colleague.getByRole('heading', { name: TITLE }).waitFor();
    expect(await colleague.getByText('Read-only').isVisible()).toBe(true);
    expect(await colleague.getByText('Shared by admin@example.com').isVisible()).toBe(true);
    expect(await colleague.getByTestId('user-message').innerText()).toContain('What did the Committee decide in March?');
    expect(await colleague.getByTestId('assistant-message').innerText()).toContain('The Committee raised the rate by 25 basis points');
    // Nothing to write with or change.
    expect(await colleague.getByRole('textbox', { name: 'Message' }).count()).toBe(0);
    expect(await colleague.getByRole('button', { name: /Edit message|Regenerate/ }).count()).toBe(0);
    // The source opens its passage.
    await colleague.getByTestId('source-card').first().click();
    expect(await colleague.getByTestId('source-passage').innerText()).toContain(
      'raised the federal funds rate by 25 basis points in March',
    );
    // The colleague's own conversation list does not gain it.
    expect(await colleague.getByRole('link', { name: TITLE }).count()).toBe(0);
  });

  it('shows someone of another organisation that the link is not available', async () => {
    const outsider = await signedInAt(link, 'outsider@acme.test', 'outsider password 1');
    await outsider.getByRole('heading', { name: 'This shared conversation is not available' }).waitFor();
    expect(await outsider.getByRole('heading', { name: TITLE }).count()).toBe(0);
  });

  it('exports the conversation as Markdown and as JSON', async () => {
    const download = async (name: string) => {
      const menu = await openMenu();
      const [file] = await Promise.all([owner.waitForEvent('download'), menu.getByRole('menuitem', { name }).click()]);
      return { name: file.suggestedFilename(), text: await readFile((await file.path()) as string, 'utf8') };
    };
    const markdown = await download('Export as Markdown');
    expect(markdown.name).toMatch(/^march-rate-decision-\d{4}-\d{2}-\d{2}\.md$/);
    expect(markdown.text).toContain(`# ${TITLE}`);
    expect(markdown.text).toContain('## You\n\nWhat did the Committee decide in March?');
    expect(markdown.text).toContain('The Committee raised the rate by 25 basis points [^1].');
    expect(markdown.text).toMatch(/\[\^1\]: minutes\.pdf, page 1 — “The Committee raised the federal funds rate/);
    const json = await download('Export as JSON');
    expect(json.name).toMatch(/^march-rate-decision-\d{4}-\d{2}-\d{2}\.json$/);
    const body = JSON.parse(json.text) as { title: string; messages: Array<{ content: string }> };
    expect(body.title).toBe(TITLE);
    expect(body.messages.map((m) => m.content)).toEqual(['What did the Committee decide in March?', ANSWER]);
  });

  it('stops the link working once the owner revokes it', async () => {
    await (await openMenu()).getByRole('menuitem', { name: 'Share…' }).click();
    const dialog = owner.getByRole('dialog', { name: `Share “${TITLE}”` });
    expect(await dialog.getByRole('textbox', { name: 'Link to this conversation' }).inputValue()).toBe(link);
    await dialog.getByRole('button', { name: 'Revoke link' }).click();
    await dialog.getByRole('button', { name: 'Create link' }).waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();

    await colleague.reload();
    await colleague.getByRole('heading', { name: 'This shared conversation is not available' }).waitFor();
  });
});
