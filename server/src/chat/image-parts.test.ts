import { type SimulatedUpstream, startSimulatedUpstream } from '@axon/bench/simulated-upstream';
import type { Conversation, ConversationWithMessages, UploadResult } from '@axon/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { imageDimensions } from '../rag/ingest/recognize-text';
import { parseSseData, WebClient } from '../testing/http-client';
import { SCANNED_NOTE_PNG } from '../testing/scanned-documents';
import { startTestServer, type TestServer } from '../testing/test-server';

/** The smallest GIF: one transparent pixel (no text for OCR to find). */
const PIXEL_GIF = Uint8Array.from(Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64'));

let upstream: SimulatedUpstream;
let t: TestServer;
let alice: WebClient;
let bob: WebClient;

beforeAll(async () => {
  // An upstream of our own, so that one of its models can be declared as not reading images.
  upstream = await startSimulatedUpstream({ models: ['seer', 'blind'] });
  t = await startTestServer({
    overrides: {
      'localModel.wordDelayMs': 0,
      connections: [{ name: 'sim', baseURL: upstream.url, models: [{ id: 'seer' }, { id: 'blind', capabilities: { vision: false } }] }],
    },
  });
  alice = new WebClient(t.url);
  await alice.setup('alice@example.com', 'alice password 1');
  await createAuthService({ store: t.server.store, sessionTtlMs: 3_600_000 }).createUser({
    email: 'bob@example.com',
    password: 'bob password 12',
    role: 'member',
  });
  bob = new WebClient(t.url);
  await bob.login('bob@example.com', 'bob password 12');
});
afterAll(async () => {
  await t?.close();
  await upstream?.close();
});
beforeEach(() => upstream.set({ mode: 'ok', content: 'It shows a note.', tokenDelayMs: 0 }));

async function attach(client: WebClient, name: string, bytes: Uint8Array, type: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([Buffer.from(bytes)], { type }), name);
  const response = await fetch(`${t.url}/api/attachments`, {
    method: 'POST',
    headers: { cookie: client.cookie, 'x-csrf-token': client.csrfToken ?? '' },
    body: form,
  });
  expect(response.status).toBe(202);
  const id = ((await response.json()) as UploadResult).files[0]?.document?.id;
  expect(id).toBeDefined();
  await t.server.ingestion.idle();
  return id as string;
}

async function turn(client: WebClient, conversationId: string, text: string, attachments?: string[]) {
  const response = await client.request('POST', `/api/conversations/${conversationId}/chat`, {
    trigger: 'submit-message',
    message: { id: `u-${text.length}`, text },
    ...(attachments ? { attachments } : {}),
  });
  expect(response.status).toBe(200);
  const chunks = parseSseData(await response.text()).map((d) => (d === '[DONE]' ? d : JSON.parse(d)));
  expect(chunks.find((c) => c.type === 'finish')?.messageMetadata.status).toBe('complete');
  return chunks as Array<{ type: string; data?: unknown }>;
}

type SentMessage = { role: string; content: string | Array<{ type: string; text?: string; image_url?: { url: string } }> };
const lastRequest = () => upstream.requests.filter((r) => r.url.includes('/chat/completions')).at(-1)?.body as { messages: SentMessage[] };
const partsOf = (m: SentMessage | undefined) => (typeof m?.content === 'string' ? [{ type: 'text', text: m.content }] : (m?.content ?? []));
const imagesOf = (m: SentMessage | undefined) => partsOf(m).filter((p) => p.type === 'image_url');
const dataUrl = (type: string, bytes: Uint8Array) => `data:${type};base64,${Buffer.from(bytes).toString('base64')}`;

async function newConversation(client: WebClient, model: string) {
  return (await client.json<Conversation>('POST', '/api/conversations', { model })).body;
}

describe('images attached to a chat message', () => {
  it('shows a model that reads images the image itself, on its turn and again on follow-ups', async () => {
    const documentId = await attach(alice, 'note.png', SCANNED_NOTE_PNG, 'image/png');
    const conversation = await newConversation(alice, 'sim/seer');
    const chunks = await turn(alice, conversation.id, 'What does this note say?', [documentId]);
    const user = lastRequest().messages.at(-1);
    expect(user?.role).toBe('user');
    expect(partsOf(user)).toEqual([
      { type: 'text', text: 'What does this note say?' },
      { type: 'image_url', image_url: { url: dataUrl('image/png', SCANNED_NOTE_PNG) } },
    ]);
    // The image is not given a second time as its OCR text.
    expect(chunks.some((c) => c.type === 'data-citations')).toBe(false);
    expect(JSON.stringify(lastRequest().messages)).not.toContain('Invoice 4521');

    const saved = await alice.json<ConversationWithMessages>('GET', `/api/conversations/${conversation.id}`);
    expect(saved.body.messages[0]?.attachments).toEqual([{ documentId, name: 'note.png', mediaType: 'image/png', readAs: 'image' }]);

    await turn(alice, conversation.id, 'And who paid it?');
    const messages = lastRequest().messages;
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(imagesOf(messages[0])).toEqual([{ type: 'image_url', image_url: { url: dataUrl('image/png', SCANNED_NOTE_PNG) } }]);
    expect(imagesOf(messages[2])).toEqual([]);
  });

  it('gives a model that does not read images the text OCR read in it, and records that', async () => {
    const documentId = await attach(alice, 'note.png', SCANNED_NOTE_PNG, 'image/png');
    const conversation = await newConversation(alice, 'sim/blind');
    const chunks = await turn(alice, conversation.id, 'What does this note say?', [documentId]);
    const messages = lastRequest().messages;
    expect(messages.flatMap(imagesOf)).toEqual([]);
    expect(JSON.stringify(messages)).not.toContain('base64');
    expect(messages[0]?.role).toBe('system');
    expect(JSON.stringify(messages[0])).toContain('Invoice 4521 paid');
    expect(chunks.some((c) => c.type === 'data-citations')).toBe(true);
    const saved = await alice.json<ConversationWithMessages>('GET', `/api/conversations/${conversation.id}`);
    expect(saved.body.messages[0]?.attachments).toEqual([{ documentId, name: 'note.png', mediaType: 'image/png', readAs: 'text' }]);

    // The same conversation on a model that reads images shows it the earlier image too.
    await alice.json('PATCH', `/api/conversations/${conversation.id}`, { model: 'sim/seer' });
    await turn(alice, conversation.id, 'Look again.');
    expect(imagesOf(lastRequest().messages.find((m) => m.role === 'user'))).toHaveLength(1);
  });

  it('takes a GIF as an image even though OCR finds no text in it', async () => {
    expect(imageDimensions(PIXEL_GIF)).toEqual({ width: 1, height: 1 });
    const documentId = await attach(alice, 'pixel.gif', PIXEL_GIF, 'image/gif');
    const document = await alice.json<{ mime: string; status: string }>('GET', `/api/documents/${documentId}`);
    expect(document.body).toMatchObject({ mime: 'image/gif', status: 'failed' });
    const conversation = await newConversation(alice, 'sim/seer');
    await turn(alice, conversation.id, 'What colour is it?', [documentId]);
    expect(imagesOf(lastRequest().messages.at(-1))).toEqual([{ type: 'image_url', image_url: { url: dataUrl('image/gif', PIXEL_GIF) } }]);
  });

  it("never shows anyone another user's image, and serves the original inline to its owner only", async () => {
    const documentId = await attach(alice, 'note.png', SCANNED_NOTE_PNG, 'image/png');
    const conversation = await newConversation(bob, 'sim/seer');
    await turn(bob, conversation.id, 'What is in it?', [documentId]);
    expect(JSON.stringify(lastRequest().messages)).not.toContain('base64');
    const saved = await bob.json<ConversationWithMessages>('GET', `/api/conversations/${conversation.id}`);
    expect(saved.body.messages[0]?.attachments).toEqual([]);
    expect((await bob.request('GET', `/api/documents/${documentId}/file`)).status).toBe(404);

    const original = await alice.request('GET', `/api/documents/${documentId}/file`);
    expect(original.status).toBe(200);
    expect(original.headers.get('content-type')).toBe('image/png');
    expect(original.headers.get('content-disposition')).toMatch(/^inline;/);
    expect(original.headers.get('x-content-type-options')).toBe('nosniff');
    expect(new Uint8Array(await original.arrayBuffer())).toEqual(SCANNED_NOTE_PNG);
  });
});
