import AxeBuilder from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let page: Page;
const violations: string[] = [];

/** An answer as models write them: both kinds of delimiters, prices, code with dollars, and things KaTeX must refuse. */
const ANSWER = [
  'The ratio $\\frac{a}{b}$ and the circle \\(x^2 + y^2 = r^2\\) are inline; it costs $5 and $10.',
  '',
  '\\[',
  '\\int_0^1 x^2\\,dx = \\frac{1}{3}',
  '\\]',
  '',
  '$$\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}$$',
  '',
  '```bash',
  'echo "$HOME costs $5" $x$ \\(y\\)',
  '```',
  '',
  'Inline code `$z$` stays code.',
  '',
  'Refused: $\\href{javascript:alert(1)}{click}$, $\\htmlClass{pwned}{x}$, $\\includegraphics{http://127.0.0.1:9/p.png}$ and $\\frac{1}{$.',
].join('\n');

const answer = (p: Page) => p.locator('[data-testid="assistant-message"]').last();

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as unknown as { reportViolation(v: string): void }).reportViolation(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`),
    );
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  page.on('pageerror', (error) => console.error('page error:', error));
  await setUpFirstAdmin(page, t.url);
  t.upstream.set({ mode: 'ok', tokens: 8, tokenDelayMs: 0, content: ANSWER });
  await page.getByRole('textbox', { name: 'Message' }).fill('Some maths, please');
  await page.keyboard.press('Enter');
  await page.locator('[data-testid="assistant-message"][data-status="complete"]').waitFor({ timeout: 15_000 });
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('math in answers', () => {
  it('renders inline and display math as MathML, written with $…$, $$…$$, \\(…\\) and \\[…\\]', async () => {
    const math = answer(page).locator('.katex > math');
    expect(await math.count()).toBe(7);
    expect(await answer(page).locator('math[display="block"]').count()).toBe(2);
    // $\frac{a}{b}$: a fraction of two identifiers.
    expect(await math.first().locator('mfrac > mi').allTextContents()).toEqual(['a', 'b']);
    // \(x^2 + y^2 = r^2\): inline, with superscripts.
    expect(await math.nth(1).getAttribute('display')).toBeNull();
    expect(await math.nth(1).locator('msup').count()).toBe(3);
    // \[…\] and a one-line $$…$$ paragraph are display blocks, laid out as such: the fraction is two lines high.
    const integral = answer(page).locator('math[display="block"]').first();
    expect(await integral.locator('msubsup').count()).toBe(1);
    const fraction = await integral.locator('mfrac').boundingBox();
    const lineHeight = await integral.evaluate((m) => Number.parseFloat(getComputedStyle(m).fontSize));
    expect(fraction?.height ?? 0).toBeGreaterThan(1.5 * lineHeight);
    expect(await answer(page).locator('math[display="block"]').nth(1).locator('munderover').count()).toBe(1);

    // What shows is the formulas, not their source; prices stay text. (The code block is a div.)
    const text = (await answer(page).locator('.prose-answer > :not(div)').allInnerTexts()).join('\n');
    expect(text).toContain('it costs $5 and $10.');
    expect(text).not.toContain('\\frac{a}{b}');
    expect(text).not.toContain('\\(');
    expect(text).not.toContain('\\[');
    expect(text).not.toContain('$$');
    expect(text).not.toMatch(/\$\\frac/);
  });

  it('lays the math out with the bundled math font, loaded under the CSP', async () => {
    const family = await answer(page)
      .locator('math')
      .first()
      .evaluate((m) => getComputedStyle(m).fontFamily);
    expect(family).toContain('Axon Math');
    await expect.poll(() => page.evaluate(() => document.fonts.ready.then(() => document.fonts.check('16px "Axon Math"', '∑')))).toBe(true);
    const loaded = await page.evaluate(() => {
      const faces: string[] = [];
      document.fonts.forEach((face) => {
        faces.push(`${face.family} ${face.status}`);
      });
      return faces;
    });
    expect(loaded).toContain('Axon Math loaded');
  });

  it('leaves code blocks and inline code with dollars as they are', async () => {
    const block = answer(page).locator('pre code');
    expect(await block.innerText()).toBe('echo "$HOME costs $5" $x$ \\(y\\)\n');
    expect(await answer(page).locator('pre math').count()).toBe(0);
    expect(await answer(page).locator('p code').filter({ hasText: '$z$' }).count()).toBe(1);
  });

  it('refuses links, classes and images in math, and shows a formula it cannot parse as its source', async () => {
    expect(await page.locator('a[href^="javascript:" i], [href^="javascript:" i]').count()).toBe(0);
    expect(await answer(page).locator('math [href], math [src], math [style], math [class]').count()).toBe(0);
    expect(await page.locator('.pwned').count()).toBe(0);
    expect(await answer(page).locator('img').count()).toBe(0);
    const error = answer(page).locator('.katex-error');
    expect(await error.innerText()).toBe('\\frac{1}{');
    expect(await error.getAttribute('title')).toMatch(/^KaTeX parse error/);
    expect(await error.getAttribute('style')).toBeNull();
  });

  it('keeps the formulas and their errors readable in the dark theme', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, colorScheme: 'dark' });
    try {
      await context.addCookies(await page.context().cookies());
      const dark = await context.newPage();
      await dark.goto(page.url());
      await dark.locator('[data-testid="assistant-message"][data-status="complete"] math').first().waitFor();
      const results = await new AxeBuilder({ page: dark }).include('[data-testid="assistant-message"]').analyze();
      const serious = results.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      expect(serious).toEqual([]);
      // KaTeX's red for a command it does not run is lightened on the dark background.
      const refused = dark.locator('mstyle[mathcolor="#cc0000"]').first();
      expect(await refused.evaluate((m) => getComputedStyle(m).color)).not.toBe('rgb(204, 0, 0)');
    } finally {
      await context.close();
    }
  });

  it('causes no Content-Security-Policy violation, also after a reload', async () => {
    await page.reload();
    await page.locator('[data-testid="assistant-message"][data-status="complete"] math').first().waitFor();
    await page.waitForLoadState('networkidle');
    expect(violations).toEqual([]);
  });
});
