import { tokenText, type UpstreamBehaviour } from '@axon/bench/simulated-upstream';
import type { ConversationWithMessages, CreatedApiKey } from '@axon/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseSseData, WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

// Upstream failures at each point of a turn, through the web chat stream and through /v1: the client
// gets a typed error (never a hang or a bare 500), what arrived before the failure is kept, and the
// server goes on serving.

const UPSTREAM_TIMEOUT_MS = 1500;
let t: TestServer;
let web: WebClient;
let key: string;

beforeAll(async () => {
  t = await startTestServer({
    overrides: {
      // The whole-call limit (model calls through the pipeline) and the silence limits (calls relayed as they are).
      upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS,
      upstreamTimeouts: { firstByteMs: UPSTREAM_TIMEOUT_MS, idleMs: UPSTREAM_TIMEOUT_MS },
      'promptLog.mode': 'full',
    },
  });
  web = new WebClient(t.url);
  await web.setup('admin@example.com', 'admin password 1');
  key = (await web.json<CreatedApiKey>('POST', '/api/keys', { name: 'faults' })).body.key;
});
afterAll(() => t.close());
beforeEach(() => t.upstream.set({ mode: 'ok', tokens: 8, tokenDelayMs: 0, dropAfter: 5, stallAfter: 3, content: undefined }));

const partial = (n: number) => Array.from({ length: n }, (_, i) => tokenText(i)).join('');

async function expectServing() {
  const health = await fetch(`${t.url}/healthz`, { signal: AbortSignal.timeout(2000) });
  expect(health.status).toBe(200);
  // And a normal turn still works after the failure.
  t.upstream.set({ mode: 'ok', tokens: 3, tokenDelayMs: 0 });
  const ok = await v1({ stream: false });
  expect(ok.status).toBe(200);
  expect(((await ok.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content).toBe(partial(3));
  await expect.poll(() => t.upstream.stats.open).toBe(0);
}

/** One web chat turn in a new conversation; resolves with the parsed stream, the saved answer and the time it took. */
async function webTurn() {
  const { body: conversation } = await web.json<{ id: string }>('POST', '/api/conversations', { model: 'sim/sim-1' });
  const started = Date.now();
  const response = await web.request('POST', `/api/conversations/${conversation.id}/chat`, {
    trigger: 'submit-message',
    message: { id: 'u1', text: 'tell me' },
  });
  const text = await response.text();
  const elapsedMs = Date.now() - started;
  const chunks = parseSseData(text).map((d) => (d === '[DONE]' ? { type: '[DONE]' } : JSON.parse(d))) as Array<Record<string, unknown>>;
  const saved = (await web.json<ConversationWithMessages>('GET', `/api/conversations/${conversation.id}`)).body;
  return { response, chunks, messages: saved.messages, elapsedMs, conversationId: conversation.id };
}

function v1(body: { stream: boolean }, init: RequestInit = {}) {
  return fetch(`${t.url}/v1/chat/completions`, {
    ...init,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'tell me' }], ...body }),
  });
}

/** The newest prompt-log row: what `/v1` kept of a call. */
async function lastPromptLogRow() {
  const { body } = await web.json<{ items: Array<{ response: string; status: string }> }>('GET', '/api/admin/prompt-log?limit=1');
  return body.items[0];
}

const metadataOf = (chunks: Array<Record<string, unknown>>) =>
  chunks.find((c) => c.type === 'finish')?.messageMetadata as Record<string, unknown> | undefined;

describe.each<{
  name: string;
  behaviour: Partial<UpstreamBehaviour>;
  /** The code the web chat reports. */
  code: string;
  /** The code `/v1` reports: Axon's, or the upstream's own OpenAI error code passed through as it came. */
  v1Code?: RegExp;
  status: number;
  kept: number;
}>([
  {
    name: 'an upstream 429 before the first token',
    behaviour: { mode: 'fail-429' },
    code: 'upstream_rate_limited',
    v1Code: /^(upstream_rate_limited|rate_limit_exceeded)$/,
    status: 429,
    kept: 0,
  },
  { name: 'an upstream 500 before the first token', behaviour: { mode: 'fail-500' }, code: 'upstream_error', status: 502, kept: 0 },
  {
    name: 'a connection reset mid-stream',
    behaviour: { mode: 'drop', dropAfter: 5, tokens: 50, tokenDelayMs: 5 },
    code: 'upstream_error',
    status: 502,
    kept: 5,
  },
  {
    name: 'a stalled stream (the upstream timeout ends it)',
    behaviour: { mode: 'stall', stallAfter: 3, tokens: 50, tokenDelayMs: 5 },
    code: 'upstream_timeout',
    status: 504,
    kept: 3,
  },
])('$name', ({ behaviour, code, v1Code, status, kept }) => {
  it('web chat: ends the stream with a typed error and saves what arrived', async () => {
    t.upstream.set(behaviour);
    const turn = await webTurn();
    expect(turn.response.status).toBe(200);
    expect(turn.elapsedMs).toBeLessThan(UPSTREAM_TIMEOUT_MS + 3000);
    expect(metadataOf(turn.chunks)).toMatchObject({ status: 'error', errorCode: code });
    expect(turn.chunks.find((c) => c.type === 'error')?.errorText).toMatch(/model provider/i);
    expect(turn.chunks.at(-1)?.type).toBe('[DONE]');
    expect(turn.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(turn.messages[1]).toMatchObject({ status: 'error', content: partial(kept) });
    expect(turn.messages[1]?.error).toMatch(/model provider/i);
    await expectServing();
  });

  it('/v1 streaming: a typed error, as an HTTP error before the first token or an error event after it', async () => {
    t.upstream.set(behaviour);
    const started = Date.now();
    const response = await v1({ stream: true });
    const text = await response.text();
    expect(Date.now() - started).toBeLessThan(UPSTREAM_TIMEOUT_MS + 3000);
    if (kept === 0) {
      expect(response.status).toBe(status);
      expect(JSON.parse(text)).toMatchObject({ error: { code: expect.stringMatching(v1Code ?? new RegExp(`^${code}$`)) } });
    } else {
      expect(response.status).toBe(200);
      const events = parseSseData(text);
      expect(events).not.toContain('[DONE]');
      const deltas = events
        .slice(0, -1)
        .map((e) => (JSON.parse(e) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '');
      expect(deltas.join('')).toBe(partial(kept));
      expect(JSON.parse(events.at(-1) as string)).toMatchObject({ error: { code } });
    }
    await expect.poll(lastPromptLogRow).toMatchObject({ status: 'error', response: partial(kept) });
    await expectServing();
  });

  it('/v1 without streaming: an HTTP error with the OpenAI error shape', async () => {
    t.upstream.set(behaviour);
    const response = await v1({ stream: false });
    // Without streaming the upstream's answer is read whole: a cut or stalled body fails as a whole.
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({
      error: {
        code: expect.stringMatching(v1Code ?? new RegExp(`^${code}$`)),
        type: expect.any(String),
        message: expect.stringMatching(/\S/),
      },
    });
    await expectServing();
  });
});

describe('an upstream 429 with Retry-After', () => {
  it('passes the wait on to the client', async () => {
    t.upstream.set({ mode: 'fail-429' });
    const response = await v1({ stream: false });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    await response.body?.cancel();
  });
});

describe('the client goes away mid-stream', () => {
  it('web chat: the upstream request is aborted and the partial answer saved as stopped', async () => {
    t.upstream.set({ tokens: 2000, tokenDelayMs: 10 });
    const aborts = t.upstream.stats.clientAborts;
    const { body: conversation } = await web.json<{ id: string }>('POST', '/api/conversations', { model: 'sim/sim-1' });
    const controller = new AbortController();
    const response = await web.request(
      'POST',
      `/api/conversations/${conversation.id}/chat`,
      { trigger: 'submit-message', message: { id: 'u1', text: 'long' } },
      { signal: controller.signal },
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = '';
    while (!received.includes(tokenText(5))) received += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    await expect.poll(() => t.upstream.stats.clientAborts, { timeout: 5000 }).toBe(aborts + 1);
    await expect.poll(() => t.upstream.stats.open).toBe(0);
    await expect
      .poll(async () => (await web.json<ConversationWithMessages>('GET', `/api/conversations/${conversation.id}`)).body.messages[1]?.status)
      .toBe('stopped');
    const saved = (await web.json<ConversationWithMessages>('GET', `/api/conversations/${conversation.id}`)).body.messages[1];
    expect(saved?.content.startsWith(partial(6))).toBe(true);
    expect(saved?.content.length).toBeLessThan(partial(2000).length);
    await expectServing();
  });

  it('/v1 streaming: the upstream request is aborted and the prompt log keeps the partial answer as stopped', async () => {
    t.upstream.set({ tokens: 2000, tokenDelayMs: 10 });
    const aborts = t.upstream.stats.clientAborts;
    const controller = new AbortController();
    const response = await v1({ stream: true }, { signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = '';
    while (!received.includes(tokenText(5))) received += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    await expect.poll(() => t.upstream.stats.clientAborts, { timeout: 5000 }).toBe(aborts + 1);
    await expect.poll(() => t.upstream.stats.open).toBe(0);
    await expect.poll(lastPromptLogRow).toMatchObject({ status: 'stopped' });
    expect((await lastPromptLogRow())?.response.startsWith(partial(6))).toBe(true);
    await expectServing();
  });

  it('/v1 without streaming: the upstream request is aborted', async () => {
    t.upstream.set({ mode: 'stall' });
    const aborts = t.upstream.stats.clientAborts;
    const controller = new AbortController();
    const pending = v1({ stream: false }, { signal: controller.signal }).catch((error: Error) => error);
    await expect.poll(() => t.upstream.stats.open).toBe(1);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await expect.poll(() => t.upstream.stats.clientAborts, { timeout: 5000 }).toBe(aborts + 1);
    await expect.poll(() => t.upstream.stats.open).toBe(0);
    await expect.poll(lastPromptLogRow).toMatchObject({ status: 'stopped' });
    await expectServing();
  });
});
