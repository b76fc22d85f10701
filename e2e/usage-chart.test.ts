import type { Browser, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let page: Page;
const violations: string[] = [];
const DAY_MS = 86_400_000;

interface DayRow {
  key: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** The UTC days of `[from, to)`, counted here independently of the web app. */
function daysOf(from: string, to: string): string[] {
  const days: string[] = [];
  for (let at = Date.parse(from.slice(0, 10)); at < Date.parse(to); at += DAY_MS) days.push(new Date(at).toISOString().slice(0, 10));
  return days;
}

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as unknown as { reportViolation(v: string): void }).reportViolation(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  await setUpFirstAdmin(page, t.url);
  // Model calls on three of the last seven days (a minute before the same time of day), and one 20 days ago.
  const admin = await t.server.store.users.findByEmail('admin@example.com');
  const seeded: Array<[daysAgo: number, calls: number]> = [
    [0, 3],
    [2, 1],
    [5, 2],
    [20, 4],
  ];
  for (const [daysAgo, calls] of seeded)
    for (let i = 0; i < calls; i++)
      t.server.store.usage.append({
        at: new Date(Date.now() - daysAgo * DAY_MS - 60_000 - i).toISOString(),
        orgId: admin?.orgId as string,
        userId: admin?.id as string,
        userEmail: 'admin@example.com',
        apiKeyId: null,
        route: '/v1/chat/completions',
        model: 'sim/sim-1',
        status: 'complete',
        inputTokens: 100 * (daysAgo + 1),
        outputTokens: 10 * (daysAgo + 1),
        costUsd: 0.001 * (daysAgo + 1),
        latencyMs: 200,
        ttftMs: 50,
      });
  await t.server.store.usage.flush();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const dayTotals = () =>
  page
    .getByTestId('usage-day')
    .evaluateAll((groups) => groups.map((g) => [g.getAttribute('data-day') as string, Number(g.getAttribute('data-value'))] as const));
const readDays = async (response: Response) => (await response.json()) as { from: string; to: string; rows: DayRow[] };

describe('usage over time on the dashboard', () => {
  it('draws one bar per day of the period, zeros included, for requests, tokens and cost, as the API counts them', async () => {
    const answered = page.waitForResponse((r) => r.url().includes('/api/admin/usage?groupBy=day'));
    await page.goto(`${t.url}/usage`);
    const api = await readDays(await answered);
    const days = daysOf(api.from, api.to);
    expect(days.length).toBeGreaterThanOrEqual(8);
    expect(api.rows.map((r) => r.requests)).toEqual([2, 1, 3]);
    const byDay = new Map(api.rows.map((r) => [r.key, r]));

    const chart = page.getByRole('img', { name: /^Requests per day, .+ to .+ \(UTC\)/ });
    await chart.waitFor();
    expect(await dayTotals()).toEqual(days.map((d) => [d, byDay.get(d)?.requests ?? 0]));
    expect((await dayTotals()).filter(([, n]) => n === 0).length).toBe(days.length - 3);
    expect(await page.getByTestId('usage-timeline-legend').innerText()).toContain('Requests');

    await page.getByRole('button', { name: 'Tokens', exact: true }).click();
    await page.getByRole('img', { name: /^Tokens per day/ }).waitFor();
    expect(await page.getByRole('button', { name: 'Tokens', exact: true }).getAttribute('aria-pressed')).toBe('true');
    expect(await dayTotals()).toEqual(days.map((d) => [d, (byDay.get(d)?.inputTokens ?? 0) + (byDay.get(d)?.outputTokens ?? 0)]));
    const legend = await page.getByTestId('usage-timeline-legend').innerText();
    expect(legend).toContain('Input tokens');
    expect(legend).toContain('Output tokens');
    expect(await page.getByTestId('usage-timeline-unit').textContent()).toBe('Tokens');

    await page.getByRole('button', { name: 'Cost', exact: true }).click();
    await page.getByRole('img', { name: /^Cost per day/ }).waitFor();
    const costs = await dayTotals();
    expect(costs.map(([d]) => d)).toEqual(days);
    costs.forEach(([d, value]) => {
      expect(value).toBeCloseTo(byDay.get(d)?.costUsd ?? 0, 9);
    });
    expect(await page.getByTestId('usage-timeline-unit').textContent()).toBe('USD');
    expect(violations).toEqual([]);
  });

  it('lists the same days in a table, for screen readers and on request', async () => {
    const rows = page.getByTestId('usage-day-row');
    expect(await rows.count()).toBe(await page.getByTestId('usage-day').count());
    const table = page.getByRole('table', { name: 'Requests, tokens and cost per day (UTC)' });
    const box = page.getByTestId('usage-day-table');
    // Read by screen readers while hidden from view (in a 1 px box that clips it).
    expect(await table.count()).toBe(1);
    expect((await box.boundingBox())?.width ?? 0).toBeLessThanOrEqual(1);
    expect(await box.evaluate((el) => getComputedStyle(el).overflow)).toBe('hidden');
    await page.getByRole('button', { name: 'Show table' }).click();
    expect((await box.boundingBox())?.width ?? 0).toBeGreaterThan(300);
    const today = new Date(Date.now() - 60_000).toISOString().slice(0, 10);
    expect(await rows.filter({ hasText: today }).innerText()).toMatch(new RegExp(`${today}\\s+3\\s+0\\s+300\\s+30\\s+0\\.0030`));
    expect(await page.getByRole('button', { name: 'Hide table' }).getAttribute('aria-expanded')).toBe('true');
  });

  it('follows the period: thirty days show thirty-one bars, with the older calls', async () => {
    const answered = page.waitForResponse((r) => r.url().includes('/api/admin/usage?groupBy=day'));
    await page.getByRole('combobox', { name: 'Period' }).selectOption('30 days');
    const api = await readDays(await answered);
    const days = daysOf(api.from, api.to);
    await expect.poll(() => page.getByTestId('usage-day').count()).toBe(days.length);
    expect(days.length).toBeGreaterThanOrEqual(31);
    await page.getByRole('button', { name: 'Requests', exact: true }).click();
    const twentyAgo = new Date(Date.now() - 20 * DAY_MS - 60_000).toISOString().slice(0, 10);
    expect((await dayTotals()).find(([d]) => d === twentyAgo)).toEqual([twentyAgo, 4]);
    expect((await dayTotals()).reduce((n, [, v]) => n + v, 0)).toBe(10);
  });
});
