import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../server/src/auth/auth-service';
import { HOME_ORG_ID } from '../server/src/store';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { chooseModel, launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let page: Page;
let key: string;

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST });
  browser = await launchBrowser();
  page = await browser.newPage();
  await setUpFirstAdmin(page, t.url);
  const admin = await t.server.store.users.findByEmail('admin@example.com');
  key = (await createAuthService({ store: t.server.store, sessionTtlMs: 60_000 }).createApiKey(admin?.id as string, 'script')).key;
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('organisations, limits, prompt log and templates in the web app', () => {
  it('creates an organisation, sets its limits and budgets, and adds an account to it', async () => {
    await page.getByRole('link', { name: 'Organisation and limits' }).click();
    await page.getByTestId('org-limits').waitFor();
    await page.getByLabel('Short name').fill('acme');
    await page.getByLabel('Name', { exact: true }).fill('Acme Corp');
    await page.getByRole('button', { name: 'Create organisation' }).click();
    const acme = page.getByTestId('org').filter({ hasText: 'Acme Corp' });
    await acme.waitFor();
    await acme.getByLabel('Requests per minute').fill('120');
    await acme.getByLabel('Daily budget (USD)').fill('2.5');
    await acme.getByRole('button', { name: 'Save limits' }).click();
    await expect
      .poll(async () => (await t.server.store.organizations.findBySlug('acme'))?.limits)
      .toEqual({ rpm: 120, dailyBudgetUsd: 2.5 });
    const [changed] = await t.server.store.audit.list({ limit: 1, action: 'limits.changed' });
    expect(changed?.details).toContain('"rpm":120');

    await page.getByLabel('Prompt logging').selectOption('full');
    await expect.poll(async () => (await t.server.store.organizations.get(HOME_ORG_ID))?.promptLogMode).toBe('full');
    await page.getByLabel('Prompt logging').selectOption('default');
    await expect.poll(async () => (await t.server.store.organizations.get(HOME_ORG_ID))?.promptLogMode).toBeNull();

    await page.getByRole('link', { name: 'Users and keys' }).click();
    await page.getByLabel("New account's email").fill('new.member@example.com');
    await page.getByLabel('Password', { exact: true }).fill('member password 1');
    await page.getByRole('button', { name: 'Add account' }).click();
    await page.getByTestId('admin-user').filter({ hasText: 'new.member@example.com' }).waitFor();
  });

  it('shows the prompt log as the logging mode kept it', async () => {
    await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'Write to jane.doe@example.org please' }] }),
    });
    await page.getByRole('link', { name: 'Prompt log' }).click();
    const row = page.getByTestId('prompt-log-row').first();
    await row.waitFor();
    expect(await row.innerText()).toContain('<EMAIL_1>');
    expect(await row.innerText()).not.toContain('jane.doe');
    expect(await page.getByTestId('prompt-log-mode').innerText()).toMatch(/placeholders/);
    await expect.poll(async () => (await t.server.store.audit.list({ limit: 1, action: 'prompt_log.viewed' })).length).toBe(1);
  });

  it('binds a conversation to a prompt template, whose system prompt the model then receives', async () => {
    const created = await fetch(`${t.url}/api/prompts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${(await createAdminKey()).key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'support', system: 'You are the support desk of Acme.', message: 'Customer asks: {{ input }}' }),
    });
    expect(created.status).toBe(201);
    await page.goto(t.url);
    await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
    await chooseModel(page, 'sim/sim-1');
    await page.getByRole('combobox', { name: 'Prompt template' }).selectOption('support');
    await page.getByRole('textbox', { name: 'Message' }).fill('Where is my order?');
    await page.keyboard.press('Enter');
    await page.getByTestId('answer-meta').last().waitFor();
    const sent = t.upstream.requests.at(-1)?.body as { messages: Array<{ role: string; content: unknown }> } | undefined;
    expect(sent?.messages[0]).toEqual({ role: 'system', content: 'You are the support desk of Acme.' });
    expect(JSON.stringify(sent?.messages.at(-1))).toContain('Customer asks: Where is my order?');
    const { items } = await t.server.store.conversations.list((await t.server.store.users.findByEmail('admin@example.com'))?.id as string, {
      limit: 1,
    });
    expect(items[0]?.prompt).toBe('support');
  });
});

async function createAdminKey() {
  const admin = await t.server.store.users.findByEmail('admin@example.com');
  return createAuthService({ store: t.server.store, sessionTtlMs: 60_000 }).createApiKey(admin?.id as string, 'admin', {
    scopes: ['chat', 'admin'],
  });
}
