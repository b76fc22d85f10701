import { tokenText } from '@axon/bench/simulated-upstream';
import type { Conversation, ConversationWithMessages, Problem } from '@axon/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseSseData, WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

let t: TestServer;
let alice: WebClient;
let bob: WebClient;

beforeAll(async () => {
  t = await startTestServer({ overrides: { 'localModel.wordDelayMs': 0 } });
  alice = new WebClient(t.url);
  await alice.setup('alice@example.com', 'correct horse battery');
  const admin = t.server.store;
  const { createAuthService } = await import('../auth/auth-service');
  await createAuthService({ store: admin, sessionTtlMs: 1 }).createUser({
    email: 'bob@example.com',
    password: 'bobs password 1',
    role: 'member',
  });
  bob = new WebClient(t.url);
  await bob.login('bob@example.com', 'bobs password 1');
});
afterAll(() => t.close());
beforeEach(() => t.upstream.set({ mode: 'ok', tokens: 8, tokenDelayMs: 0 }));

async function newConversation(client: WebClient, model = 'sim/sim-1') {
  const { status, body } = await client.json<Conversation>('POST', '/api/conversations', { model });
  expect(status).toBe(201);
  return body;
}

/** Sends a chat turn and returns the parsed UI message stream chunks. */
async function chatTurn(client: WebClient, id: string, body: Record<string, unknown>) {
  const response = await client.request('POST', `/api/conversations/${id}/chat`, body);
  const text = await response.text();
  return { response, chunks: parseSseData(text).map((d) => (d === '[DONE]' ? d : JSON.parse(d))) };
}

describe('conversations', () => {
  it('creates, lists newest first, searches, renames and deletes', async () => {
    const a = await newConversation(alice);
    const b = await newConversation(alice);
    await alice.json('PATCH', `/api/conversations/${a.id}`, { title: 'Treasury yields' });
    const list = await alice.json<{ items: Conversation[] }>('GET', '/api/conversations');
    expect(list.body.items[0]?.id).toBe(a.id);
    expect(list.body.items.map((c) => c.id)).toContain(b.id);
    const search = await alice.json<{ items: Conversation[] }>('GET', '/api/conversations?q=treasury');
    expect(search.body.items.map((c) => c.title)).toEqual(['Treasury yields']);
    expect((await alice.request('DELETE', `/api/conversations/${b.id}`)).status).toBe(204);
    expect((await alice.json('GET', `/api/conversations/${b.id}`)).status).toBe(404);
  });

  it('pages with a cursor', async () => {
    for (let i = 0; i < 3; i++) await newConversation(alice);
    const first = await alice.json<{ items: Conversation[]; nextCursor: string }>('GET', '/api/conversations?limit=2');
    expect(first.body.items).toHaveLength(2);
    const second = await alice.json<{ items: Conversation[] }>('GET', `/api/conversations?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items[0]?.id).not.toBe(first.body.items[1]?.id);
    expect(second.body.items.length).toBeGreaterThan(0);
  });

  it("answers 404 for another user's conversation on every route", async () => {
    const mine = await newConversation(alice);
    for (const [method, path, body] of [
      ['GET', `/api/conversations/${mine.id}`, undefined],
      ['PATCH', `/api/conversations/${mine.id}`, { title: 'x' }],
      ['DELETE', `/api/conversations/${mine.id}`, undefined],
      ['POST', `/api/conversations/${mine.id}/chat`, { trigger: 'submit-message', message: { id: 'm1', text: 'hi' } }],
    ] as const) {
      const response = await bob.json<Problem>(method, path, body);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    expect((await bob.json<{ items: Conversation[] }>('GET', '/api/conversations')).body.items.map((c) => c.id)).not.toContain(mine.id);
  });

  it('refuses a model no connection offers', async () => {
    const response = await alice.json<Problem>('POST', '/api/conversations', { model: 'sim/not-there' });
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('model_not_found');
  });
});

describe('chat turn stream', () => {
  it('streams the answer as UI message chunks and stores both messages with usage and timing', async () => {
    const c = await newConversation(alice);
    const { response, chunks } = await chatTurn(alice, c.id, { trigger: 'submit-message', message: { id: 'u1', text: 'What is up?' } });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    const types = chunks.map((c) => (typeof c === 'string' ? c : c.type));
    expect(types.slice(0, 3)).toEqual(['start', 'start-step', 'text-start']);
    expect(types.at(-1)).toBe('[DONE]');
    const text = chunks
      .filter((c) => c.type === 'text-delta')
      .map((c) => c.delta)
      .join('');
    expect(text).toBe(Array.from({ length: 8 }, (_, i) => tokenText(i)).join(''));
    const saved = await alice.json<ConversationWithMessages>('GET', `/api/conversations/${c.id}`);
    expect(saved.body.title).toBe('What is up?');
    expect(saved.body.messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'complete'],
    ]);
    const answer = saved.body.messages[1];
    expect(answer?.content).toBe(text);
    expect(answer?.model).toBe('sim/sim-1');
    expect(answer?.usage.outputTokens).toBe(8);
    expect(answer?.timing.ttftMs).toBeGreaterThan(0);
    // The upstream saw the whole conversation.
    const sent = t.upstream.requests.at(-1)?.body as { messages: Array<{ role: string; content: string }> };
    expect(sent.messages.at(-1)).toMatchObject({ role: 'user', content: 'What is up?' });
  });

  it('answers offline with the local extractive model by default', async () => {
    const { body: c } = await alice.json<Conversation>('POST', '/api/conversations', { model: 'local/extractive' });
    const { chunks } = await chatTurn(alice, c.id, {
      trigger: 'submit-message',
      message: { id: 'u1', text: 'The ten-year yield rose to 4.2 percent. Oil fell. Stocks were flat.\n\nWhat did the ten-year yield do?' },
    });
    const text = chunks
      .filter((c) => c.type === 'text-delta')
      .map((c) => c.delta)
      .join('');
    expect(text).toContain('> The ten-year yield rose to 4.2 percent.');
  });

  it('keeps the partial answer as stopped when the client stops mid-stream', async () => {
    t.upstream.set({ tokens: 500, tokenDelayMs: 10 });
    const c = await newConversation(alice);
    const controller = new AbortController();
    const response = await alice.request(
      'POST',
      `/api/conversations/${c.id}/chat`,
      { trigger: 'submit-message', message: { id: 'u1', text: 'long please' } },
      { signal: controller.signal },
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = '';
    while (!received.includes(tokenText(4))) received += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    await expect
      .poll(async () => (await alice.json<ConversationWithMessages>('GET', `/api/conversations/${c.id}`)).body.messages[1]?.status, {
        timeout: 5000,
      })
      .toBe('stopped');
    const saved = await alice.json<ConversationWithMessages>('GET', `/api/conversations/${c.id}`);
    const partial = saved.body.messages[1]?.content ?? '';
    expect(partial.startsWith(`${tokenText(0)}${tokenText(1)}${tokenText(2)}${tokenText(3)}${tokenText(4)}`)).toBe(true);
    expect(partial.length).toBeLessThan(500 * 5);
    await expect.poll(() => t.upstream.stats.open).toBe(0);
  });

  it('saves what arrived with status error when the upstream drops, and sends an error chunk', async () => {
    t.upstream.set({ mode: 'drop', dropAfter: 3, tokenDelayMs: 1, tokens: 50 });
    const c = await newConversation(alice);
    const { chunks } = await chatTurn(alice, c.id, { trigger: 'submit-message', message: { id: 'u1', text: 'go' } });
    expect(chunks.find((c) => c.type === 'error')?.errorText).toMatch(/model provider/i);
    const saved = await alice.json<ConversationWithMessages>('GET', `/api/conversations/${c.id}`);
    expect(saved.body.messages[1]).toMatchObject({ status: 'error', content: [0, 1, 2].map(tokenText).join('') });
    expect(saved.body.messages[1]?.error).toMatch(/model provider/i);
  });

  it('keeps the question of a turn that fails before its answer starts, with the title it gives', async () => {
    const c = await newConversation(alice);
    const owner = await t.server.store.users.findByEmail('alice@example.com');
    // A template removed after the conversation chose it: preparing the prompt fails.
    await t.server.store.conversations.update(c.id, owner?.id as string, { prompt: 'no-such-template' });
    const response = await alice.request('POST', `/api/conversations/${c.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'u1', text: 'what was asked stays' },
    });
    expect(response.status).toBe(404);
    const saved = await alice.json<ConversationWithMessages>('GET', `/api/conversations/${c.id}`);
    expect(saved.body.messages.map((m) => [m.role, m.content])).toEqual([['user', 'what was asked stays']]);
    expect(saved.body.title).toBe('what was asked stays');
  });

  it('reports an upstream 429 as an error the UI can show', async () => {
    t.upstream.set({ mode: 'fail-429' });
    const c = await newConversation(alice);
    const { chunks } = await chatTurn(alice, c.id, { trigger: 'submit-message', message: { id: 'u1', text: 'go' } });
    const metadata = chunks.find((c) => c.type === 'finish' || c.type === 'message-metadata')?.messageMetadata;
    expect(metadata).toMatchObject({ status: 'error', errorCode: 'upstream_rate_limited' });
  });

  it('regenerates the last answer, replacing it', async () => {
    const c = await newConversation(alice);
    await chatTurn(alice, c.id, { trigger: 'submit-message', message: { id: 'u1', text: 'first' } });
    t.upstream.set({ tokens: 3 });
    await chatTurn(alice, c.id, { trigger: 'regenerate-message' });
    const saved = await alice.json<ConversationWithMessages>('GET', `/api/conversations/${c.id}`);
    expect(saved.body.messages).toHaveLength(2);
    expect(saved.body.messages[1]?.content).toBe([0, 1, 2].map(tokenText).join(''));
  });

  it('refuses to regenerate when there is no question', async () => {
    const c = await newConversation(alice);
    const response = await alice.json<Problem>('POST', `/api/conversations/${c.id}/chat`, { trigger: 'regenerate-message' });
    expect(response.status).toBe(409);
  });
});
