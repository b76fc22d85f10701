import AxeBuilder from '@axe-core/playwright';
import type { ModelAlias } from '@axon/contracts';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../server/src/auth/auth-service';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let admin: BrowserContext;
let page: Page;
let apiKey = '';
const errors: string[] = [];

/** The serious and critical axe violations on the page, one line each, with the elements they hit. */
async function seriousViolations(on: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page: on }).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** The alias as the API has it, read beside the page (what the forms sent, not what they show). */
async function readAlias(name: string): Promise<ModelAlias | undefined> {
  const { aliases } = (await (await page.request.get(`${t.url}/api/deployments`)).json()) as { aliases: ModelAlias[] };
  return aliases.find((a) => a.name === name);
}

const detail = () => page.getByTestId('deployment-detail');
const policyText = () => page.getByTestId('deployment-policy').innerText();

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST });
  browser = await launchBrowser();
  admin = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  page = await admin.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await setUpFirstAdmin(page, t.url);
  // Accounts made after the first-run set-up, which only an installation without any shows.
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  await auth.createUser({ email: 'member@example.com', password: 'member password 1', role: 'member' });
  const adminId = (await t.server.store.users.findByEmail('admin@example.com'))?.id as string;
  apiKey = (await auth.createApiKey(adminId, 'deployments test')).key;
  // A prompt template for a version to name.
  const { csrfToken } = (await (await page.request.get(`${t.url}/api/auth/session`)).json()) as { csrfToken: string };
  const made = await page.request.post(`${t.url}/api/prompts`, {
    headers: { 'x-csrf-token': csrfToken },
    data: { name: 'support-answer', system: 'You answer support questions.', message: '', variables: [] },
  });
  expect(made.ok()).toBe(true);
});
afterAll(async () => {
  await admin?.close();
  await browser?.close();
  await t?.close();
});

describe('the deployments page', () => {
  it('explains aliases when there are none and creates one with its first version', async () => {
    await page.getByRole('link', { name: 'Deployments' }).click();
    await page.getByRole('heading', { name: 'No aliases yet' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    await page.getByLabel('Alias name').fill('Support Bot');
    await page.getByRole('button', { name: 'Create alias' }).click();
    expect(await page.getByRole('alert').innerText()).toContain('lower-case letters');

    await page.getByLabel('Alias name').fill('support-bot');
    await page.getByLabel('Description').fill('Answers the support desk');
    await page.getByLabel('Model', { exact: true }).selectOption('sim/sim-1');
    await page.getByLabel('Temperature').fill('0.3');
    await page.getByLabel('Note').fill('first cut');
    await page.getByRole('button', { name: 'Create alias' }).click();
    await detail().getByRole('heading', { name: 'support-bot' }).waitFor();
    expect(await policyText()).toContain('fixed at v1');
    expect(new URL(page.url()).searchParams.get('alias')).toBe('support-bot');
    const version = page.getByTestId('deployment-version');
    expect(await version.count()).toBe(1);
    const card = await version.innerText();
    expect(card).toContain('sim/sim-1');
    expect(card).toContain('temperature 0.3');
    expect(card).toContain('first cut');
    expect(card).toContain('by you');

    const saved = await readAlias('support-bot');
    expect(saved?.description).toBe('Answers the support desk');
    expect(saved?.policy).toEqual({ type: 'fixed', version: 1 });
    expect(saved?.versions.map((v) => [v.version, v.model, v.params])).toEqual([[1, 'sim/sim-1', { temperature: 0.3 }]]);
    expect(await page.getByTestId('alias-policy').allInnerTexts()).toEqual(['fixed at v1']);
  });

  it('adds a second version with another model, parameters and a prompt template', async () => {
    const form = page.getByRole('form', { name: 'Add a version' });
    await form.getByLabel('Model', { exact: true }).selectOption('sim/sim-2');
    await form.getByLabel('Max tokens').fill('256');
    await form.getByLabel('Prompt template').fill('support-answer');
    await form.getByRole('button', { name: 'Add version' }).click();
    expect(await form.getByRole('alert').innerText()).toContain('name@version');
    await form.getByLabel('Prompt template').fill('support-answer@1');
    await form.getByLabel('Note').fill('bigger model');
    await form.getByRole('button', { name: 'Add version' }).click();
    await expect.poll(() => page.getByTestId('deployment-version').count()).toBe(2);
    const newest = await page.locator('[data-testid="deployment-version"][data-version="2"]').innerText();
    expect(newest).toContain('sim/sim-2');
    expect(newest).toContain('max_tokens 256');
    expect(newest).toContain('support-answer@1');
    // A new version serves nothing until a policy sends it traffic.
    expect(await policyText()).toContain('fixed at v1');
    const saved = await readAlias('support-bot');
    expect(saved?.versions[1]).toMatchObject({ version: 2, model: 'sim/sim-2', params: { max_tokens: 256 }, prompt: 'support-answer@1' });
  });

  it('starts a canary of the new version and describes it in words', async () => {
    const form = page.getByRole('form', { name: 'Traffic' });
    expect(await form.getByLabel('Canary rollout').isChecked()).toBe(true);
    await form.getByLabel('Stable version').selectOption('1');
    await form.getByLabel('Candidate version').selectOption('2');
    await form.getByLabel('Steps').fill('50, 25');
    await form.getByRole('button', { name: 'Start canary' }).click();
    expect(await form.getByRole('alert').innerText()).toContain('more traffic than the one before');
    await form.getByLabel('Steps').fill('10, 50, 100');
    // Enough requests per step that the canary stays at its first step while the test runs.
    await form.getByLabel('Minimum requests per step').fill('10000');
    await form.getByLabel('Error rate (%)').fill('20');
    await form.getByRole('button', { name: 'Start canary' }).click();
    await expect.poll(policyText).toContain('canary v2 at 10 % (step 1 of 3)');
    expect(await page.getByTestId('alias-policy').allInnerTexts()).toEqual(['canary v2 at 10 % (step 1 of 3)']);
    expect(await detail().getByTestId('deployment-state').innerText()).toBe('running');
    const saved = await readAlias('support-bot');
    expect(saved?.policy).toMatchObject({
      type: 'canary',
      stable: 1,
      candidate: 2,
      steps: [10, 50, 100],
      minSamples: 10000,
      thresholds: { errorRate: 0.2, ttftP95Ms: 5000, negativeFeedbackRate: 0.3 },
    });
    expect(await page.getByRole('button', { name: 'Promote v2' }).count()).toBe(1);
  });

  it('shows each arm’s figures, refreshed, once requests name the alias as their model', async () => {
    await detail().getByText('No requests yet.').waitFor();
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'support-bot', messages: [{ role: 'user', content: `question ${i}` }] }),
      });
      expect(response.status).toBe(200);
    }
    // No reload: the table refreshes by itself.
    const served = async () =>
      (await page.getByTestId('arm-requests').allInnerTexts()).reduce((sum, text) => sum + Number(text.replace(/,/g, '')), 0);
    await expect.poll(served, { timeout: 15_000 }).toBe(6);
    const arms = await page.getByTestId('arm-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-arm')));
    expect(arms.every((a) => a === 'stable' || a === 'candidate')).toBe(true);
    const first = await page.getByTestId('arm-row').first().innerText();
    expect(first).toMatch(/ms/);
    expect(first).toMatch(/\$\d/);
  });

  it('pauses and resumes the canary', async () => {
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => detail().getByTestId('deployment-state').innerText()).toBe('paused');
    expect(await page.getByTestId('deployment-reason').innerText()).toContain('paused by admin@example.com');
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => detail().getByTestId('deployment-state').innerText()).toBe('running');
  });

  it('rolls back to a chosen earlier version after a confirmation', async () => {
    await page.getByLabel('Roll back to').selectOption('1');
    await page.getByRole('button', { name: 'Roll back…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll support-bot back to v1?' });
    await dialog.waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    // Escape changes nothing.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect((await readAlias('support-bot'))?.policy.type).toBe('canary');

    await page.getByRole('button', { name: 'Roll back…' }).click();
    await dialog.getByRole('button', { name: 'Roll back to v1' }).click();
    await expect.poll(policyText).toContain('fixed at v1');
    expect(await detail().getByTestId('deployment-state').innerText()).toBe('rolled back');
    expect(await page.getByTestId('deployment-reason').innerText()).toContain('rolled back to version 1');
    const saved = await readAlias('support-bot');
    expect(saved?.policy).toEqual({ type: 'fixed', version: 1 });
    expect(saved?.state?.status).toBe('rolled-back');
    expect(await page.getByRole('button', { name: 'Pause' }).count()).toBe(0);
  });

  it('starts an A/B test of two variants and reports its sequential test', async () => {
    const form = page.getByRole('form', { name: 'Traffic' });
    await form.getByLabel('A/B test').check();
    expect(await form.getByTestId('ab-variant').count()).toBe(2);
    await form.getByRole('button', { name: 'Add a variant' }).click();
    expect(await form.getByTestId('ab-variant').count()).toBe(3);
    await form.getByRole('button', { name: 'Remove variant 3' }).click();
    expect(await form.getByTestId('ab-variant').count()).toBe(2);
    expect(await form.getByLabel('Variant 1 version').inputValue()).toBe('1');
    expect(await form.getByLabel('Variant 2 version').inputValue()).toBe('2');
    await form.getByLabel('Winner by').selectOption('success');
    await form.getByRole('button', { name: 'Start A/B test' }).click();
    await expect.poll(policyText).toContain('A/B: a (v1) vs b (v2)');
    expect(await detail().getByTestId('deployment-state').innerText()).toBe('running');
    expect((await readAlias('support-bot'))?.policy).toMatchObject({ type: 'ab', metric: 'success', delta: 0.05, minSamples: 30 });

    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'support-bot', messages: [{ role: 'user', content: `a/b question ${i}` }] }),
      });
      expect(response.status).toBe(200);
    }
    const verdict = page.getByTestId('experiment-verdict');
    await expect.poll(() => verdict.innerText(), { timeout: 15_000 }).toBe('not yet: 4 samples');
    expect(await page.getByTestId('experiment-report').innerText()).toMatch(/Success share\s+[ab] \d+ %/);
  });

  it('passes the accessibility scan and fits a phone, in light and dark themes', async () => {
    for (const screen of [
      { width: 1366, height: 768, colorScheme: 'light' },
      { width: 390, height: 844, colorScheme: 'light' },
      { width: 1366, height: 768, colorScheme: 'dark' },
    ] as const) {
      const context = await browser.newContext({
        viewport: { width: screen.width, height: screen.height },
        colorScheme: screen.colorScheme,
      });
      try {
        await context.addCookies(await admin.cookies());
        const other = await context.newPage();
        await other.goto(`${t.url}/deployments?alias=support-bot`);
        await other.getByTestId('deployment-version').first().waitFor();
        await other.waitForLoadState('networkidle');
        expect(await seriousViolations(other), `${screen.width}×${screen.height} ${screen.colorScheme}`).toEqual([]);
        const widths = await other.evaluate(() => {
          const main = document.querySelector('main') as HTMLElement;
          return { page: document.documentElement.scrollWidth, main: main.scrollWidth, mainBox: main.clientWidth };
        });
        expect(widths.page).toBeLessThanOrEqual(screen.width);
        expect(widths.main).toBeLessThanOrEqual(widths.mainBox);
      } finally {
        await context.close();
      }
    }
    expect(errors).toEqual([]);
  }, 90_000);

  it('promotes a canary’s candidate to serve every request', async () => {
    const form = page.getByRole('form', { name: 'Traffic' });
    await form.getByLabel('Canary rollout').check();
    await form.getByLabel('Stable version').selectOption('1');
    await form.getByLabel('Candidate version').selectOption('2');
    await form.getByRole('button', { name: 'Start canary' }).click();
    await expect.poll(policyText).toContain('canary v2 at 5 % (step 1 of 4)');
    await page.getByRole('button', { name: 'Promote v2' }).click();
    await expect.poll(policyText).toContain('fixed at v2');
    expect(await detail().getByTestId('deployment-state').innerText()).toBe('promoted');
    expect(await page.getByTestId('deployment-reason').innerText()).toContain('version 2 promoted by admin@example.com');
    expect((await readAlias('support-bot'))?.policy).toEqual({ type: 'fixed', version: 2 });
    // Now v1 is older than the version served: one may roll back to it.
    expect(await page.getByLabel('Roll back to').inputValue()).toBe('1');
  });

  it('splits the traffic between versions by weight', async () => {
    const form = page.getByRole('form', { name: 'Traffic' });
    await form.getByLabel('Weighted split').check();
    await form.getByLabel('Part 1 version').selectOption('1');
    await form.getByLabel('Part 1 share').fill('7');
    await form.getByLabel('Part 2 version').selectOption('2');
    await form.getByLabel('Part 2 share').fill('3');
    await form.getByRole('button', { name: 'Set split' }).click();
    await expect.poll(policyText).toContain('weighted v1 70 % / v2 30 %');
    expect((await readAlias('support-bot'))?.policy).toMatchObject({
      type: 'weighted',
      split: [
        { version: 1, weight: 7 },
        { version: 2, weight: 3 },
      ],
    });
  });

  it('refreshes the model list, so that a model just deployed upstream is in the picker at once', async () => {
    t.upstream.models.push('sim-3');
    try {
      await page.getByRole('button', { name: 'Refresh model list' }).click();
      await expect.poll(() => page.getByTestId('models-refreshed').innerText()).toMatch(/\d+ models listed/);
      const { models } = (await (await page.request.get(`${t.url}/api/models`)).json()) as { models: Array<{ id: string }> };
      expect(models.map((m) => m.id)).toContain('sim/sim-3');
    } finally {
      t.upstream.models.splice(t.upstream.models.indexOf('sim-3'), 1);
    }
  });

  it('tells a member without models:manage that the page is not allowed, with no link to it', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    try {
      const member = await context.newPage();
      await member.goto(t.url);
      await member.getByLabel('Email').fill('member@example.com');
      await member.getByLabel('Password').fill('member password 1');
      await member.getByRole('button', { name: 'Sign in' }).click();
      await member.getByRole('heading', { name: 'How can I help?' }).waitFor();
      expect(await member.getByRole('link', { name: 'Deployments' }).count()).toBe(0);
      await member.goto(`${t.url}/deployments`);
      await member.getByRole('heading', { name: 'Not allowed' }).waitFor();
      expect(await member.getByRole('main').innerText()).toContain('Your role does not include deployments');
      expect(await member.getByTestId('deployment-detail').count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});
