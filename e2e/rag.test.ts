import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPdf } from '../server/src/testing/sample-documents';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { chooseModel, launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let t: TestServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  t = await startTestServer({ webDir: WEB_DIST, overrides: { 'localModel.wordDelayMs': 5 } });
  browser = await launchBrowser();
  page = await browser.newPage();
  await setUpFirstAdmin(page, t.url);
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('documents in, cited answers out, in the browser', () => {
  it('uploads documents with progress and shows their processing status', async () => {
    await page.getByRole('link', { name: 'Collections' }).click();
    await page.getByLabel('New collection').fill('Fed minutes');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('link', { name: /Fed minutes/ }).click();
    await page.getByText('This collection is empty.').waitFor();
    const pdf = await buildPdf([
      ['Participants noted that inflation remained well above the Committee objective of 2 percent.'],
      ['The Committee decided to raise the target range for the federal funds rate to 4-3/4 to 5 percent.'],
    ]);
    await page.getByLabel('Choose files to upload').setInputFiles([
      { name: 'minutes.pdf', mimeType: 'application/pdf', buffer: Buffer.from(pdf) },
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('') },
    ]);
    await expect
      .poll(() => page.getByTestId('document-row').filter({ hasText: 'minutes.pdf' }).getAttribute('data-status'), { timeout: 30_000 })
      .toBe('ready');
    expect(await page.getByTestId('document-row').filter({ hasText: 'minutes.pdf' }).innerText()).toMatch(
      /Ready · \d+ KB · 2 pages · \d+ passages/,
    );
    // The empty file fails alone, with its reason next to it.
    await page.getByTestId('upload-row').filter({ hasText: 'notes.txt' }).getByText('The file is empty.').waitFor();
  });

  it('keeps the retrieval settings of the collection', async () => {
    const passages = page.getByLabel('Passages per question');
    await passages.fill('4');
    await passages.blur();
    await page.getByText('Retrieval settings saved').first().waitFor();
    const diversify = page.getByRole('checkbox', { name: 'Diversify passages' });
    await diversify.click();
    await expect.poll(() => diversify.isChecked()).toBe(true);
    await page.reload();
    expect(await page.getByLabel('Passages per question').inputValue()).toBe('4');
    expect(await page.getByRole('checkbox', { name: 'Diversify passages' }).isChecked()).toBe(true);
  });

  it('answers a question from the collection with a citation that opens the passage', async () => {
    await page.getByRole('link', { name: 'New chat' }).click();
    await chooseModel(page, 'local/extractive');
    await page.getByText('No documents').click();
    await page.getByRole('checkbox', { name: /Fed minutes/ }).check();
    await page.getByText('Fed minutes', { exact: true }).first().click();
    await page.getByRole('textbox', { name: 'Message' }).fill('What did the Committee decide about the federal funds rate?');
    await page.keyboard.press('Enter');
    const answer = page.getByTestId('assistant-message').last();
    await expect.poll(() => answer.getAttribute('data-status'), { timeout: 15_000 }).toBe('complete');
    expect(await answer.innerText()).toContain('raise the target range for the federal funds rate');
    await page.getByTestId('source-card').first().waitFor();
    expect(await page.getByTestId('source-card').first().innerText()).toMatch(/minutes\.pdf\s+(?:\d{4}-\d{2}-\d{2} · )?Page 2/);
    await answer.getByRole('button', { name: 'Source 1' }).click();
    const panel = page.getByTestId('citation-panel');
    await panel.waitFor();
    expect(await panel.locator('mark').innerText()).toContain('federal funds rate');
    expect(await panel.innerText()).toContain('Page 2');
    expect(await panel.getByRole('link', { name: 'Download the original' }).getAttribute('href')).toMatch(/^\/api\/documents\/.+\/file$/);
    await panel.getByRole('button', { name: 'Close source' }).click();
    await expect.poll(() => panel.count()).toBe(0);
    // After a reload the citations are still there.
    await page.reload();
    await page.getByTestId('source-card').first().waitFor();
  });

  it('answers from a file attached to the message', async () => {
    await page.getByRole('link', { name: 'New chat' }).click();
    await chooseModel(page, 'local/extractive');
    await page.getByLabel('Files to attach').setInputFiles([
      {
        name: 'travel.md',
        mimeType: 'text/markdown',
        buffer: Buffer.from('# Travel\n\nStaff fly economy class on trips under six hours.'),
      },
    ]);
    await expect.poll(() => page.getByTestId('attachment').getAttribute('data-status'), { timeout: 20_000 }).toBe('ready');
    await page.getByRole('textbox', { name: 'Message' }).fill('Which class do staff fly?');
    await page.keyboard.press('Enter');
    const answer = page.getByTestId('assistant-message').last();
    await expect.poll(() => answer.getAttribute('data-status'), { timeout: 15_000 }).toBe('complete');
    expect(await answer.innerText()).toContain('economy class');
    expect(await page.getByTestId('source-card').first().innerText()).toContain('travel.md');
    expect(await page.getByTestId('attachment').count()).toBe(0);
  });
});
