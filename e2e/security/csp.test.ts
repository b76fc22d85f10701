import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/src/testing/test-server';
import { launchBrowser, setUpFirstAdmin, WEB_DIST } from '../browser';

let t: TestServer;
let browser: Browser;
let page: Page;
const violations: string[] = [];

const PAGES = ['/', '/settings', '/audit', '/prompts', '/usage', '/admin', '/organisation', '/prompt-log', '/collections'];

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST });
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as unknown as { reportViolation(v: string): void }).reportViolation(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await setUpFirstAdmin(page, t.url);
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('the content security policy', () => {
  it("allows no inline styles or scripts ('unsafe-inline' is gone)", async () => {
    const csp = (await fetch(t.url)).headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/style-src 'self'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
  });

  it('is never violated by the web app on any page, toasts included, and the pages keep their styles', async () => {
    for (const path of PAGES) {
      await page.goto(`${t.url}${path}`);
      await page.locator('#root > *').first().waitFor();
      await page.waitForLoadState('networkidle');
    }
    // A toast: its styles come from the stylesheet file, not an inline <style> element.
    await page.goto(`${t.url}/settings`);
    await page.getByLabel('Name').first().fill('csp probe');
    await page
      .getByRole('button', { name: /create/i })
      .first()
      .click();
    await page.getByText('csp probe').first().waitFor();
    page.once('dialog', (dialog) => dialog.accept());
    await page.getByRole('button', { name: 'Revoke' }).first().click();
    const toast = page.locator('[data-sonner-toast]').first();
    await toast.waitFor();
    expect(await toast.evaluate((el) => getComputedStyle(el).position)).toBe('absolute');
    expect(await page.locator('style').count()).toBe(0);
    expect(await page.evaluate(() => getComputedStyle(document.body).fontFamily)).not.toBe('');
    expect(violations).toEqual([]);
  });
});
