import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFinanceDemo } from '../server/src/agents/finance/demo-finance';
import { createAuthService } from '../server/src/auth/auth-service';
import { loadConfig } from '../server/src/config';
import { SHARED_DATA } from '../server/src/testing/shared-data';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { chooseModel, launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;

const silent = { write: () => true } as unknown as NodeJS.WritableStream;

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST });
  browser = await launchBrowser();
  const page = await browser.newPage();
  await setUpFirstAdmin(page, t.url);
  await page.close();
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 600_000 });
  await auth.createUser({ email: 'member@example.com', password: 'member password 1', role: 'member' });
  await auth.createUser({ email: 'builder@example.com', password: 'builder password 1', role: 'builder' });
  const config = loadConfig({ env: {}, cwd: t.dataDir, overrides: { dataDir: t.dataDir } });
  await runFinanceDemo(config, t.server.store, { dataDir: SHARED_DATA, out: silent });
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function signIn(email: string, password: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(t.url);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
  return page;
}

async function ask(page: Page, model: string, question: string) {
  await chooseModel(page, model);
  await page.getByLabel('Message').fill(question);
  await page.keyboard.press('Enter');
}

describe('agents in the web app', () => {
  it('shows the finance summary as a card with the yield-curve chart, and each tool call as a step card', async () => {
    const page = await signIn('member@example.com', 'member password 1');
    // The example prompt for the finance demo is offered on an empty chat.
    await page.getByRole('button', { name: 'Summarize today’s treasury yield movement.' }).waitFor();
    await ask(page, 'agent/finance', "Summarize today's treasury yield movement.");
    const card = page.getByTestId('treasury-summary');
    await card.waitFor({ timeout: 30_000 });
    expect(await card.getByRole('heading').innerText()).toBe('US Treasury yields on 2025-07-11');
    expect(await page.getByTestId('curve-shape').innerText()).toBe('normal');
    expect(await page.getByTestId('spread-2s10s').innerText()).toContain('+53 bp');
    expect(await page.getByTestId('yield-curve-chart').locator('polyline').count()).toBe(3);
    expect(await page.getByTestId('narrative-label').innerText()).toContain('Composed from the computed figures');
    // The FOMC passage it cites is a source card.
    await page.getByTestId('source-card').first().waitFor();

    const steps = page.getByTestId('tool-step');
    expect(await steps.count()).toBe(3);
    expect(await steps.evaluateAll((els) => els.map((el) => `${el.getAttribute('data-tool')} ${el.getAttribute('data-status')}`))).toEqual([
      'query_data ok',
      'query_data ok',
      'search_documents ok',
    ]);
    const first = steps.first();
    expect(await first.getByText('Arguments').isVisible()).toBe(false);
    await first.locator('summary').click();
    expect(await first.innerText()).toContain('SELECT * FROM treasury_yields');
    expect(await first.innerText()).toContain('Result');

    // Reloaded, the answer still shows its card and steps.
    await page.reload();
    await page.getByTestId('treasury-summary').waitFor();
    expect(await page.getByTestId('tool-step').count()).toBe(3);
    await page.close();
  });

  it('asks before a tool that changes something runs: Approve lets it run', async () => {
    const admin = await browser.newPage();
    await admin.goto(t.url);
    await admin.getByLabel('Email').fill('admin@example.com');
    await admin.getByLabel('Password').fill('admin password 1');
    await admin.getByRole('button', { name: 'Sign in' }).click();
    await admin.getByRole('heading', { name: 'How can I help?' }).waitFor();
    // The admin registers a stdio MCP server and approves its note tool in the Tools page.
    await admin.getByRole('link', { name: 'Tools and MCP servers' }).click();
    const form = admin.getByRole('form', { name: 'Register an MCP server' });
    await form.getByLabel('Name', { exact: true }).fill('notes');
    await form.getByLabel('Transport').selectOption('stdio');
    await form.getByLabel('Command', { exact: true }).fill(process.execPath);
    await form.getByLabel('Arguments (one per line)').fill(join(import.meta.dirname, '../server/src/testing/mcp-stdio-server.mjs'));
    await form.getByRole('button', { name: 'Register' }).click();
    const note = admin.getByTestId('mcp-tool').filter({ hasText: 'mcp.notes.write_note' });
    await note.waitFor();
    expect(await note.getAttribute('data-status')).toBe('pending');
    await note.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => note.getAttribute('data-status')).toBe('approved');
    await admin.close();

    // A builder creates the agent with that tool in the Agents page.
    const builder = await signIn('builder@example.com', 'builder password 1');
    await builder.getByRole('link', { name: 'Agents' }).click();
    await builder.getByRole('button', { name: 'New agent' }).click();
    const create = builder.getByRole('form', { name: 'Create agent' });
    await create.getByLabel('Name', { exact: true }).fill('Scribe');
    await create.getByLabel('Slug (model id agent/slug)').fill('scribe');
    await create.getByLabel('Planner model').selectOption('sim/sim-1');
    await create.getByLabel(/mcp\.notes\.write_note/).check();
    await create.getByRole('button', { name: 'Create agent' }).click();
    await builder.getByText('agent/scribe', { exact: false }).first().waitFor();
    await builder.close();

    t.upstream.set({
      answer: (body) => {
        const done = (body.messages as Array<{ role: string }>).some((m) => m.role === 'tool');
        return done
          ? { content: 'Saved your note.' }
          : { toolCalls: [{ name: 'mcp__notes__write_note', arguments: JSON.stringify({ text: 'buy bonds' }) }] };
      },
    });
    try {
      const page = await signIn('member@example.com', 'member password 1');
      await ask(page, 'agent/scribe', 'Note: buy bonds');
      const approval = page.getByTestId('tool-approval');
      await approval.waitFor({ timeout: 30_000 });
      expect(await approval.innerText()).toContain('mcp.notes.write_note');
      expect(await approval.innerText()).toContain('buy bonds');
      await approval.getByRole('button', { name: 'Approve' }).click();
      await expect.poll(() => approval.getAttribute('data-status'), { timeout: 15_000 }).toBe('approved');
      await expect.poll(() => page.getByTestId('tool-step').last().getAttribute('data-status'), { timeout: 15_000 }).toBe('ok');
      await page.getByText('Saved your note.').waitFor();
      await page.close();
    } finally {
      t.upstream.set({ answer: undefined });
    }
  });
});
