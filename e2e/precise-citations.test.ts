import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPdf } from '../server/src/testing/sample-documents';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { chooseModel, launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let page: Page;

const CITED = 'The Committee decided to maintain the target range for the federal funds rate at 5-1/4 to 5-1/2 percent.';
const NOT_CITED = 'The weather in Washington was cold and bright that week.';

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST, overrides: { 'localModel.wordDelayMs': 2 } });
  browser = await launchBrowser();
  page = await browser.newPage();
  await setUpFirstAdmin(page, t.url);
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('document dates and sentence-level citations in the browser', () => {
  it('edits a document’s date and fields, and turns reranking on for the collection', async () => {
    await page.getByRole('link', { name: 'Collections' }).click();
    await page.getByLabel('New collection').fill('Statements');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('link', { name: /Statements/ }).click();
    const pdf = await buildPdf([['Recent indicators suggest that growth has slowed from its strong pace.'], [`${CITED} ${NOT_CITED}`]]);
    await page
      .getByLabel('Choose files to upload')
      .setInputFiles([{ name: 'statement.pdf', mimeType: 'application/pdf', buffer: Buffer.from(pdf) }]);
    const row = page.getByTestId('document-row').filter({ hasText: 'statement.pdf' });
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 30_000 }).toBe('ready');
    await row.getByRole('button', { name: 'Edit the date and fields of statement.pdf' }).click();
    await row.getByLabel('Document date').fill('2023-12-13');
    await row.getByLabel('Document fields').fill('source: Federal Reserve Board\ntags: rates, policy');
    await row.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => row.getByTestId('document-description').locator('span').innerText())
      .toBe('Dated 2023-12-13 (set by hand) · source: Federal Reserve Board · tags: rates, policy');
    const rerank = page.getByRole('checkbox', { name: 'Rerank passages' });
    await rerank.click();
    await expect.poll(() => rerank.isChecked()).toBe(true);
    await page.reload();
    expect(await page.getByRole('checkbox', { name: 'Rerank passages' }).isChecked()).toBe(true);
    expect(await page.getByTestId('document-description').first().innerText()).toContain('Dated 2023-12-13 (set by hand)');
  });

  it('highlights the sentence the answer quoted, on its page, not the whole passage', async () => {
    await page.getByRole('link', { name: 'New chat' }).click();
    await chooseModel(page, 'local/extractive');
    await page.getByText('No documents').click();
    await page.getByRole('checkbox', { name: /Statements/ }).check();
    await page.getByText('Statements', { exact: true }).first().click();
    await page.getByRole('textbox', { name: 'Message' }).fill('What target range did the Committee decide on in December 2023?');
    await page.keyboard.press('Enter');
    const answer = page.getByTestId('assistant-message').last();
    await expect.poll(() => answer.getAttribute('data-status'), { timeout: 15_000 }).toBe('complete');
    expect(await answer.innerText()).toContain('5-1/4 to 5-1/2 percent');
    expect(await page.getByTestId('source-card').first().innerText()).toMatch(/statement\.pdf\s+2023-12-13 · Page 2/);
    await answer.getByRole('button', { name: 'Source 1' }).click();
    const panel = page.getByTestId('citation-panel');
    await panel.waitFor();
    expect(await panel.getByTestId('citation-where').innerText()).toBe('Dated 2023-12-13 · Page 2');
    const marks = panel.getByTestId('cited-sentence');
    await expect.poll(() => marks.count()).toBe(1);
    expect(await marks.innerText()).toBe(CITED);
    expect(await marks.getAttribute('title')).toBe('Page 2');
    // The rest of the passage is shown, but not as a sentence the answer drew on.
    expect(await panel.getByTestId('cited-passage').innerText()).toContain(NOT_CITED);
    // After a reload the highlights are still there (they are saved with the answer).
    await page.reload();
    await page.getByTestId('assistant-message').last().getByRole('button', { name: 'Source 1' }).click();
    await expect.poll(() => page.getByTestId('cited-sentence').innerText()).toBe(CITED);
  });
});
