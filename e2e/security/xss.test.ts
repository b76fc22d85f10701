import type { ApiKey, Conversation, CreatedApiKey, Organization, UploadResult } from '@axon/contracts';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSseData, WebClient } from '../../server/src/testing/http-client';
import { startTestServer, type TestServer } from '../../server/src/testing/test-server';
import { launchBrowser, WEB_DIST } from '../browser';
import { type Recorder, startRecorder, xssPayloads } from './xss-corpus';

// Stored XSS: payloads saved through the API everywhere one person's (or another person's) text is
// shown, then every page of the web app rendered in Chromium. Any request to the recorder, any
// dialog, any dangerous markup in the DOM, or any CSP violation fails the test.

let t: TestServer;
let recorder: Recorder;
let browser: Browser;
let payloads: string[];
let admin: WebClient;
let member: WebClient;
let orgUser: WebClient;
const ADMIN = { email: 'admin@example.com', password: 'admin password 1' };
const MEMBER = { email: 'member@example.com', password: 'member password 1' };
const ORG_USER = { email: "o'neil+payload@example.com", password: 'org user password 1' };
const seeded: {
  payloadConversations: string[];
  simConversation: string;
  groundedConversation: string;
  attachmentConversation: string;
  memberConversation: string;
  collectionId: string;
  htmlDocumentId: string;
} = {} as never;

/** Everything the browser did that a payload could have caused. */
const findings: string[] = [];

const ok = (status: number, what: string) => {
  if (status >= 300) throw new Error(`${what}: HTTP ${status}`);
};

async function chatTurn(client: WebClient, conversationId: string, text: string, extra: Record<string, unknown> = {}) {
  const response = await client.request('POST', `/api/conversations/${conversationId}/chat`, {
    trigger: 'submit-message',
    message: { id: `m-${Math.random()}`, text },
    ...extra,
  });
  const chunks = parseSseData(await response.text());
  expect(response.status).toBe(200);
  expect(chunks.at(-1)).toBe('[DONE]');
}

async function upload(client: WebClient, path: string, files: Array<{ name: string; text: string; type: string }>) {
  const form = new FormData();
  for (const f of files) form.append('file', new Blob([f.text], { type: f.type }), f.name);
  const response = await fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: { cookie: client.cookie, 'x-csrf-token': client.csrfToken ?? '' },
    body: form,
  });
  const body = (await response.json()) as UploadResult;
  ok(response.status, `upload to ${path}: ${JSON.stringify(body)}`);
  return body.files.map((f) => f.document?.id as string);
}

async function waitReady(client: WebClient, documentId: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { status } = (await client.json<{ status: string }>('GET', `/api/documents/${documentId}`)).body;
    if (status === 'ready') return;
    if (status === 'failed' || Date.now() > deadline) throw new Error(`document ${documentId} is ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const documentText = () =>
  ['Quarterly yields notes', ...payloads.map((p, i) => `Quarterly yields note ${i} says ${p.replaceAll('\n', ' ')} and ends here.`)].join(
    '\n\n',
  );

/** Stores the corpus through the API, in every field that some page shows. */
async function seed() {
  admin = new WebClient(t.url);
  await admin.setup(ADMIN.email, ADMIN.password);
  ok((await admin.json('POST', '/api/admin/users', { ...MEMBER, role: 'member' })).status, 'create member');
  member = new WebClient(t.url);
  await member.login(MEMBER.email, MEMBER.password);

  // Organisation names, and an account (an email with a quote) in the first of them.
  for (const [i, p] of payloads.entries()) {
    ok((await admin.json<Organization>('POST', '/api/admin/orgs', { slug: `xss-${i}`, name: p.slice(0, 100) })).status, 'create org');
  }
  ok((await admin.json('POST', '/api/admin/users', { ...ORG_USER, role: 'builder', org: 'xss-0' })).status, 'create org user');
  orgUser = new WebClient(t.url);
  await orgUser.login(ORG_USER.email, ORG_USER.password);

  // Failed sign-ins with payloads as email and as password: the audit trail lists them.
  for (const p of payloads.slice(0, 5)) {
    await admin.json('POST', '/api/auth/login', { email: p, password: 'wrong password' });
    await new WebClient(t.url).json('POST', '/api/auth/login', { email: ORG_USER.email, password: p });
  }

  // API key names, of the admin, the member and the organisation's user.
  let adminKey = '';
  for (const p of payloads) {
    const { status, body } = await admin.json<CreatedApiKey>('POST', '/api/keys', { name: p.slice(0, 100) });
    ok(status, 'create key');
    adminKey ||= body.key;
  }
  for (const p of payloads.slice(0, 8)) ok((await member.json('POST', '/api/keys', { name: p.slice(0, 100) })).status, 'member key');
  const orgKey = (await orgUser.json<CreatedApiKey>('POST', '/api/keys', { name: payloads[1]?.slice(0, 100) })).body.key;

  // Prompt templates: descriptions, system prompts, message templates and notes.
  for (const [i, p] of payloads.entries()) {
    const raw = (s: string) => `{% raw %}${s}{% endraw %}`;
    const { status } = await admin.json('POST', '/api/prompts', {
      name: `xss-${String(i).padStart(2, '0')}`,
      description: p.slice(0, 500),
      system: raw(i === 0 ? payloads.join('\n\n') : p),
      message: `${raw(p)} {{ input }}`,
      note: p.slice(0, 500),
    });
    ok(status, `create template ${i}`);
  }

  // Conversation titles.
  seeded.payloadConversations = [];
  for (const p of payloads) {
    const { status, body } = await admin.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1', title: p.slice(0, 200) });
    ok(status, 'create conversation');
    seeded.payloadConversations.push(body.id);
  }

  // Questions and answers: the upstream answers with the corpus, as blocks and inline.
  const sim = (await admin.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1', prompt: 'xss-01' })).body;
  seeded.simConversation = sim.id;
  t.upstream.set({ mode: 'ok', content: payloads.join('\n\n') });
  await chatTurn(admin, sim.id, payloads.join('\n\n'));
  t.upstream.set({ content: payloads.map((p) => p.replaceAll('\n', ' ')).join(' ') });
  await chatTurn(admin, sim.id, payloads.join(' '));

  // Collection names and descriptions, shared with the organisation; documents with payload names and contents.
  const collection = (
    await admin.json<{ id: string }>('POST', '/api/collections', {
      name: payloads[1]?.slice(0, 100),
      description: payloads.join('\n').slice(0, 2000),
      visibility: 'organisation',
    })
  ).body;
  seeded.collectionId = collection.id;
  for (const p of payloads.slice(2, 12))
    ok((await admin.json('POST', '/api/collections', { name: p.slice(0, 100), visibility: 'organisation' })).status, 'collection');
  const text = documentText();
  const [txt, html, ...named] = await upload(admin, `/api/collections/${collection.id}/documents`, [
    { name: 'quarterly-notes.txt', text, type: 'text/plain' },
    { name: 'quarterly-notes.html', text: `<html><body>${payloads.map((p) => `<p>${p}</p>`).join('')}</body></html>`, type: 'text/html' },
    ...payloads.slice(0, 12).map((p, i) => ({
      name: `${p.replaceAll('/', '&#47;').replaceAll('\\', '&#92;')}.txt`,
      text: `Named note ${i} about quarterly yields.`,
      type: 'text/plain',
    })),
  ]);
  seeded.htmlDocumentId = html as string;
  for (const id of [txt, html, ...named]) await waitReady(admin, id as string);

  // The local extractive model quotes the documents back: from the collection, and from an attachment.
  const grounded = (
    await admin.json<Conversation>('POST', '/api/conversations', { model: 'local/extractive', collectionIds: [collection.id] })
  ).body;
  seeded.groundedConversation = grounded.id;
  await chatTurn(admin, grounded.id, 'What do the quarterly yields notes say?');
  const [attachment] = await upload(admin, '/api/attachments', [{ name: 'attached-notes.txt', text, type: 'text/plain' }]);
  await waitReady(admin, attachment as string);
  const attached = (await admin.json<Conversation>('POST', '/api/conversations', { model: 'local/extractive' })).body;
  seeded.attachmentConversation = attached.id;
  await chatTurn(admin, attached.id, 'What do the quarterly yields notes in the attached file say?', { attachments: [attachment] });

  // The member asks about the admin's shared documents: another person's text in their answer and sources.
  const mine = (
    await member.json<Conversation>('POST', '/api/conversations', {
      model: 'local/extractive',
      collectionIds: [collection.id],
      title: payloads[7]?.slice(0, 200),
    })
  ).body;
  seeded.memberConversation = mine.id;
  await chatTurn(member, mine.id, 'What do the quarterly yields notes say?');

  // `/v1` calls (the prompt log keeps them in full here) and usage rows of the payload-named organisation.
  t.upstream.set({ content: payloads.join('\n') });
  for (const [key, stream] of [
    [adminKey, false],
    [adminKey, true],
    [orgKey, false],
  ] as const) {
    const response = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'sim/sim-1',
        stream,
        messages: [
          { role: 'system', content: payloads.slice(0, 15).join('\n') },
          { role: 'user', content: payloads.slice(15).join('\n') },
        ],
      }),
    });
    expect(response.status).toBe(200);
    await response.text();
  }
  t.upstream.set({ content: undefined });
}

beforeAll(async () => {
  recorder = await startRecorder();
  payloads = xssPayloads(recorder.origin);
  t = await startTestServer({
    webDir: WEB_DIST,
    overrides: { 'localModel.wordDelayMs': 0, 'localModel.maxSentences': 50, 'promptLog.mode': 'full' },
  });
  await seed();
  browser = await launchBrowser();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await t?.close();
  await recorder?.close();
});

/** A browser context signed in as `client`, reporting dialogs, recorder requests and CSP violations to `findings`. */
async function contextFor(client: WebClient, options: { bypassCSP: boolean }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ bypassCSP: options.bypassCSP, viewport: { width: 1400, height: 900 } });
  const session = client.cookie.split('=');
  await context.addCookies([{ name: session[0] as string, value: session.slice(1).join('='), url: t.url }]);
  await context.exposeBinding('__reportViolation', (_source, what: string) => {
    findings.push(`CSP violation: ${what}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { __reportViolation(s: string): void }).__reportViolation(
        `${e.violatedDirective} blocked ${e.blockedURI} at ${location.pathname}`,
      );
    });
  });
  const page = await context.newPage();
  page.on('dialog', (dialog) => {
    findings.push(`dialog (${dialog.type()}): ${dialog.message()} at ${page.url()}`);
    void dialog.dismiss();
  });
  page.on('request', (request) => {
    if (request.url().includes('127.0.0.2')) findings.push(`request to ${request.url()} from ${page.url()}`);
  });
  page.on('popup', (popup) => findings.push(`popup ${popup.url()}`));
  return { context, page };
}

/** Markup in the DOM that only an injected payload would put there. */
async function dangerousMarkup(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    const urlAttributes = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster', 'background', 'srcset']);
    for (const el of Array.from(document.querySelectorAll('*'))) {
      const tag = el.tagName.toLowerCase();
      if (['iframe', 'frame', 'object', 'embed', 'base', 'applet'].includes(tag)) found.push(`<${tag}>`);
      if (tag === 'meta' && el.hasAttribute('http-equiv')) found.push('<meta http-equiv>');
      if (tag === 'script') {
        const src = el.getAttribute('src');
        if (!src || new URL(src, location.href).origin !== location.origin) found.push(`<script src=${src}>`);
      }
      if (tag === 'style' && /127\.0\.0\.2|@import/.test(el.textContent ?? '')) found.push('<style> loading a URL');
      for (const attribute of Array.from(el.attributes)) {
        const name = attribute.name.toLowerCase();
        // biome-ignore lint/suspicious/noControlCharactersInRegex: a URL scheme may hide behind control characters
        const value = attribute.value.replace(/[\u0000-\u0020]/g, '').toLowerCase();
        if (name.startsWith('on')) found.push(`<${tag} ${name}>`);
        if (name === 'srcdoc') found.push(`<${tag} srcdoc>`);
        if (urlAttributes.has(name) && /^(javascript|vbscript|data:text\/html)/.test(value))
          found.push(`<${tag} ${name}=${value.slice(0, 40)}>`);
        if (name !== 'href' && urlAttributes.has(name) && value.includes('127.0.0.2')) found.push(`<${tag} ${name}> loads the recorder`);
        if (name === 'style' && value.includes('url(')) found.push(`<${tag} style> with url()`);
      }
    }
    return found;
  });
}

/** Opens a page, lets it settle, optionally acts on it, and records what a payload could have done. */
async function check(page: Page, path: string, act?: (page: Page) => Promise<void>) {
  await page.goto(`${t.url}${path}`);
  await page.waitForLoadState('networkidle');
  await act?.(page);
  await page.waitForTimeout(150);
  for (const markup of await dangerousMarkup(page)) findings.push(`${markup} on ${path}`);
}

const someText = (page: Page, text: string | RegExp) => page.getByText(text).first().waitFor({ timeout: 15_000 });

/** Opens the first source of the last answer and waits for the passage to load. */
async function openSource(page: Page) {
  await page.getByTestId('assistant-message').last().waitFor();
  await page.getByTestId('source-card').first().click();
  await page.getByTestId('citation-panel').locator('mark').first().waitFor();
}

async function visitAdminPages(page: Page) {
  await check(page, '/', (p) => someText(p, 'How can I help?'));
  await check(page, `/c/${seeded.simConversation}`, async (p) => {
    await p.getByTestId('assistant-message').nth(1).waitFor();
    // The rendered answer really holds the corpus, as text.
    expect(await p.getByTestId('assistant-message').first().innerText()).toContain('onerror=');
  });
  await check(page, `/c/${seeded.groundedConversation}`, async (p) => {
    await openSource(p);
    expect(await p.getByTestId('citation-panel').innerText()).toContain('Quarterly yields note');
  });
  await check(page, `/c/${seeded.attachmentConversation}`, openSource);
  for (const id of seeded.payloadConversations.slice(0, 6)) await check(page, `/c/${id}`, (p) => someText(p, 'How can I help?'));
  await check(page, '/settings', (p) => p.getByRole('button', { name: 'Revoke' }).first().waitFor());
  await check(page, '/collections', (p) => someText(p, /onerror/));
  await check(page, `/collections/${seeded.collectionId}`, (p) =>
    p.getByTestId('document-row').filter({ hasText: 'quarterly-notes.txt' }).waitFor(),
  );
  await check(page, '/prompts', async (p) => {
    const templates = p.locator('main aside li button');
    await templates.first().waitFor();
    const count = await templates.count();
    expect(count).toBe(payloads.length);
    for (let i = 0; i < count; i += 3) {
      await templates.nth(i).click();
      await p.getByTestId('prompt-version').first().waitFor();
    }
  });
  await check(page, '/admin', (p) => p.getByTestId('admin-key').first().waitFor());
  await check(page, '/organisation', (p) => p.getByTestId('org').first().waitFor());
  await check(page, '/audit', async (p) => {
    await p.getByTestId('audit-row').first().waitFor();
    expect(await p.locator('main').innerText()).toContain('auth.login_failed');
  });
  await check(page, '/prompt-log', (p) => p.getByTestId('prompt-log-row').first().waitFor());
  await check(page, '/usage', async (p) => {
    await p.getByTestId('usage-row').first().waitFor();
    await p.getByLabel('Organisations').selectOption('all');
    for (const group of ['user', 'day', 'organisation', 'model']) {
      await p.getByLabel('Group by').selectOption(group);
      await p.getByTestId('usage-row').first().waitFor();
      await p.waitForLoadState('networkidle');
      for (const markup of await dangerousMarkup(p)) findings.push(`${markup} on /usage by ${group}`);
    }
  });
  // An uploaded HTML original is a download, never a page of this origin.
  await page.goto(`${t.url}/api/documents/${seeded.htmlDocumentId}/file`).catch(() => undefined);
  await page.waitForTimeout(300);
}

async function visitMemberPages(page: Page) {
  await check(page, '/', (p) => someText(p, 'How can I help?'));
  await check(page, `/c/${seeded.memberConversation}`, async (p) => {
    await openSource(p);
    expect(await p.getByTestId('citation-panel').innerText()).toContain('Quarterly yields note');
  });
  await check(page, '/settings', (p) => p.getByRole('button', { name: 'Revoke' }).first().waitFor());
  await check(page, '/collections', (p) => someText(p, /onerror/));
  await check(page, `/collections/${seeded.collectionId}`, (p) => p.getByTestId('document-row').first().waitFor());
  await check(page, '/usage');
  for (const path of ['/prompts', '/admin', '/organisation', '/audit', '/prompt-log']) await check(page, path);
}

describe('stored XSS payloads rendered in Chromium', () => {
  it('the recorder is reachable from a page of the app, so zero hits means nothing ran', async () => {
    const { context, page } = await contextFor(member, { bypassCSP: true });
    await page.goto(`${t.url}/settings`);
    await page.evaluate((url) => fetch(url, { mode: 'no-cors' }).then(() => undefined), `${recorder.origin}/control`);
    expect(recorder.hits).toEqual(['/control']);
    // The corpus itself is live: written into a page as HTML, its payloads reach the recorder and the DOM check sees them.
    await page.evaluate(
      (html) => {
        const box = document.createElement('div');
        box.innerHTML = html;
        document.body.append(box);
      },
      payloads.filter((p) => !p.includes('http-equiv')).join('\n'),
    );
    await expect.poll(() => new Set(recorder.hits.map((h) => /p=(\d+)/.exec(h)?.[1]).filter(Boolean)).size).toBeGreaterThanOrEqual(8);
    expect((await dangerousMarkup(page)).length).toBeGreaterThanOrEqual(10);
    await context.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    recorder.hits.length = 0;
    findings.length = 0;
  });

  it('stored the corpus where pages show it', async () => {
    const keys = await admin.json<{ items: ApiKey[] }>('GET', '/api/keys');
    expect(keys.body.items.map((k) => k.name)).toContain(payloads[0]);
    const conversation = await admin.json<{ messages: Array<{ content: string }> }>(
      'GET',
      `/api/conversations/${seeded.groundedConversation}`,
    );
    // The extractive answer quotes the payloads from the document.
    expect(conversation.body.messages[1]?.content).toMatch(/onerror|<script>/);
    const audit = await admin.json<{ items: Array<{ action: string; actorEmail: string | null }> }>('GET', '/api/admin/audit?limit=200');
    expect(audit.body.items.some((e) => e.action === 'auth.login_failed' && e.actorEmail === ORG_USER.email)).toBe(true);
  });

  it('runs nothing as the admin, with the CSP bypassed (the rendering alone must hold)', { timeout: 180_000 }, async () => {
    const { context, page } = await contextFor(admin, { bypassCSP: true });
    await visitAdminPages(page);
    await context.close();
    expect(findings).toEqual([]);
    expect(recorder.hits).toEqual([]);
  });

  it('runs nothing as a member reading the admin’s shared content, with the CSP bypassed', { timeout: 120_000 }, async () => {
    const { context, page } = await contextFor(member, { bypassCSP: true });
    await visitMemberPages(page);
    await context.close();
    expect(findings).toEqual([]);
    expect(recorder.hits).toEqual([]);
  });

  it('runs nothing as a user of the payload-named organisation', async () => {
    const { context, page } = await contextFor(orgUser, { bypassCSP: true });
    await check(page, '/', async (p) => {
      expect(await p.getByTestId('signed-in-as').innerText()).toContain(payloads[0]?.slice(0, 20));
    });
    await check(page, '/settings', (p) => p.getByRole('button', { name: 'Revoke' }).first().waitFor());
    await check(page, '/prompts');
    await context.close();
    expect(findings).toEqual([]);
    expect(recorder.hits).toEqual([]);
  });

  it('triggers no CSP violation as the admin with the policy enforced', { timeout: 180_000 }, async () => {
    const { context, page } = await contextFor(admin, { bypassCSP: false });
    await visitAdminPages(page);
    await context.close();
    expect(findings).toEqual([]);
    expect(recorder.hits).toEqual([]);
  });
});
