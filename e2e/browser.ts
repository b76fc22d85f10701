import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const WEB_DIST = join(import.meta.dirname, '../web/dist');

/** Debian's chromium, headless, with the flags this sandboxed, offline machine needs. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Browser tests need Debian's chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` (.ci/run does).`);
  }
  if (!existsSync(join(WEB_DIST, 'index.html'))) {
    throw new Error('Browser tests need the built web app: run `npm run build` first (npm test does).');
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** First-run set-up through the sign-in page: the admin account, signed in, on an empty chat. */
export async function setUpFirstAdmin(page: Page, url: string, email = 'admin@example.com', password = 'admin password 1'): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create admin account' }).click();
  await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
}

/** Chooses a model in the composer's model picker (a combobox opening a list of models) and waits until it shows it. */
export async function chooseModel(page: Page, id: string): Promise<void> {
  const picker = page.locator('[role="combobox"][aria-label="Model"]');
  await picker.click();
  await page.getByRole('listbox', { name: 'Models' }).locator(`[role="option"][data-model-id="${id}"]`).click();
  await page.locator(`[role="combobox"][aria-label="Model"][data-value="${id}"]`).waitFor();
}
