import { type SimulatedUpstream, startSimulatedUpstream } from '@axon/bench/simulated-upstream';
import type { Conversation } from '@axon/contracts';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebClient } from '../server/src/testing/http-client';
import { SCANNED_NOTE_PNG } from '../server/src/testing/scanned-documents';
import { startTestServer, type TestServer } from '../server/src/testing/test-server';
import { launchBrowser, setUpFirstAdmin, WEB_DIST } from './browser';

let upstream: SimulatedUpstream;
let t: TestServer;
let browser: Browser;
let page: Page;
const violations: string[] = [];
const NOTE_BASE64 = Buffer.from(SCANNED_NOTE_PNG).toString('base64');

beforeAll(async () => {
  // An upstream of the test's own: one model reads images (the default), the other is declared not to.
  upstream = await startSimulatedUpstream({ models: ['seer', 'blind'] });
  t = await startTestServer({
    webDir: WEB_DIST,
    overrides: {
      connections: [{ name: 'sim', baseURL: upstream.url, models: [{ id: 'seer' }, { id: 'blind', capabilities: { vision: false } }] }],
      defaultModel: 'sim/seer',
    },
  });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as unknown as { reportViolation(v: string): void }).reportViolation(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  page.on('pageerror', (error) => console.error('page error:', error));
  await setUpFirstAdmin(page, t.url);
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
  await upstream?.close();
});
beforeEach(() => upstream.set({ mode: 'ok', tokenDelayMs: 0, content: 'The note says an invoice was paid.' }));

type SentPart = { type: string; text?: string; image_url?: { url: string } };
type SentMessage = { role: string; content: string | SentPart[] };
const answerRequests = () =>
  upstream.requests
    .filter((r) => r.url.includes('/chat/completions'))
    .map((r) => r.body as { messages: SentMessage[] })
    .filter((b) => !JSON.stringify(b.messages).includes('You name conversations'));
const lastMessages = () => answerRequests().at(-1)?.messages ?? [];
const imagesOf = (m: SentMessage | undefined): SentPart[] =>
  typeof m?.content === 'string' ? [] : (m?.content ?? []).filter((p) => p.type === 'image_url');

const composer = () => page.getByTestId('composer');
const lastAnswer = () => page.getByTestId('assistant-message').last();
const lastQuestion = () => page.getByTestId('user-message').last();
async function newChat() {
  await page.goto(t.url);
  await page.getByRole('heading', { name: 'How can I help?' }).waitFor();
}
/** Sends a message once its attachments can go, and waits for the answer to it. */
async function send(text: string) {
  const answers = await page.getByTestId('assistant-message').count();
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await expect.poll(() => page.getByRole('button', { name: 'Send' }).isEnabled(), { timeout: 20_000 }).toBe(true);
  await page.keyboard.press('Enter');
  await expect.poll(() => page.getByTestId('assistant-message').count()).toBe(answers + 1);
  await expect.poll(() => lastAnswer().getAttribute('data-status'), { timeout: 15_000 }).toBe('complete');
}
/** Whether an image element finished loading with pixels (served, and allowed by the CSP). */
const loaded = (image: ReturnType<Page['getByTestId']>) =>
  image.evaluate((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0);

describe('images for models that read them', () => {
  it('attaches a pasted image, shows the model the image itself, keeps its thumbnail and sends it again on a follow-up', async () => {
    await newChat();
    await page.getByRole('textbox', { name: 'Message' }).evaluate((box, base64) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
      box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, NOTE_BASE64);
    const chip = composer().getByTestId('attachment');
    await chip.waitFor();
    // A pasted image gets a name of its own, and its thumbnail shows while it uploads.
    expect(await chip.innerText()).toMatch(/Pasted image \d{8}-\d{6}/);
    const preview = chip.getByTestId('attachment-thumbnail');
    expect(await preview.getAttribute('src')).toBe(`data:image/png;base64,${NOTE_BASE64}`);
    expect(await chip.getByTestId('attachment-note').count()).toBe(0);

    await send('What does this note say?');
    const user = lastMessages().at(-1);
    expect(user?.role).toBe('user');
    expect(imagesOf(user)).toEqual([{ type: 'image_url', image_url: { url: `data:image/png;base64,${NOTE_BASE64}` } }]);
    expect(JSON.stringify(lastMessages())).not.toContain('Invoice 4521');
    expect(await composer().getByTestId('attachment').count()).toBe(0);

    const thumbnail = lastQuestion().getByTestId('sent-thumbnail');
    await thumbnail.waitFor();
    await expect.poll(() => loaded(thumbnail)).toBe(true);
    expect(await thumbnail.getAttribute('alt')).toMatch(/^Pasted image/);
    await page.reload();
    await expect.poll(() => loaded(page.getByTestId('user-message').first().getByTestId('sent-thumbnail'))).toBe(true);

    await send('And who paid it?');
    const messages = lastMessages();
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(imagesOf(messages[0])).toEqual([{ type: 'image_url', image_url: { url: `data:image/png;base64,${NOTE_BASE64}` } }]);
    expect(imagesOf(messages[2])).toEqual([]);
    expect(violations).toEqual([]);
  });

  it('attaches an image dropped on the chat (a WebP made by the browser) and shows the model that image', async () => {
    await newChat();
    // Dropped on the composer, the events bubble up to the chat, which takes drops anywhere on it.
    const webp = await composer().evaluate(async (target) => {
      const canvas = document.createElement('canvas');
      canvas.width = 40;
      canvas.height = 30;
      const context = canvas.getContext('2d') as CanvasRenderingContext2D;
      context.fillStyle = '#c00';
      context.fillRect(0, 0, 40, 30);
      const blob = await new Promise<Blob>((resolve) => canvas.toBlob((b) => resolve(b as Blob), 'image/webp'));
      const data = new DataTransfer();
      data.items.add(new File([blob], 'red.webp', { type: 'image/webp' }));
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const shown = document.querySelector('[data-testid="drop-zone"]') !== null;
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
      const bytes = new Uint8Array(await blob.arrayBuffer());
      return { shown, type: blob.type, base64: btoa(String.fromCharCode(...bytes)) };
    });
    expect(webp.type).toBe('image/webp');
    expect(webp.shown).toBe(true);
    await composer().getByTestId('attachment').filter({ hasText: 'red.webp' }).waitFor();
    expect(await page.getByTestId('drop-zone').count()).toBe(0);
    await send('What colour is this?');
    expect(imagesOf(lastMessages().at(-1))).toEqual([{ type: 'image_url', image_url: { url: `data:image/webp;base64,${webp.base64}` } }]);
    await expect.poll(() => loaded(lastQuestion().getByTestId('sent-thumbnail'))).toBe(true);
  });

  it('gives a model that does not read images the text in it, and says so on the attachment', async () => {
    const client = new WebClient(t.url);
    await client.login('admin@example.com', 'admin password 1');
    const { body: conversation } = await client.json<Conversation>('POST', '/api/conversations', { model: 'sim/blind' });
    await page.goto(`${t.url}/c/${conversation.id}`);
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    await page
      .getByLabel('Files to attach')
      .setInputFiles([{ name: 'note.png', mimeType: 'image/png', buffer: Buffer.from(SCANNED_NOTE_PNG) }]);
    const chip = composer().getByTestId('attachment');
    await expect.poll(() => chip.getByTestId('attachment-note').innerText()).toBe('This model does not read images; its text is used.');
    expect(await chip.getByTestId('attachment-thumbnail').getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    // Its text is read first: the message waits for it.
    await expect.poll(() => chip.getAttribute('data-status'), { timeout: 30_000 }).toBe('ready');

    await send('What does this note say?');
    const messages = lastMessages();
    expect(messages.flatMap(imagesOf)).toEqual([]);
    expect(JSON.stringify(messages)).not.toContain('base64');
    expect(JSON.stringify(messages.find((m) => m.role === 'system'))).toContain('Invoice 4521 paid');
    const sent = lastQuestion().getByTestId('sent-attachment');
    await expect.poll(() => loaded(sent.getByTestId('sent-thumbnail'))).toBe(true);
    expect(await sent.getByTestId('attachment-note').innerText()).toBe('Its text was used, not the image.');
    await page.reload();
    expect(await page.getByTestId('user-message').first().getByTestId('attachment-note').innerText()).toBe(
      'Its text was used, not the image.',
    );
    expect(violations).toEqual([]);
  });
});
