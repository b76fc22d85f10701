import { tokenText } from '@axon/bench/simulated-upstream';
import type { Conversation, ConversationWithMessages, Message } from '@axon/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseEventId } from '../streams';
import { WebClient } from '../testing/http-client';
import { countTextDeltas, readUntil, type SseEvent, textOfEvents } from '../testing/sse-events';
import { startTestServer, type TestServer } from '../testing/test-server';

// Resumable answers of the web chat over real HTTP on loopback, with the in-process stream log.

let t: TestServer;
let alice: WebClient;
let bob: WebClient;
const GRACE_MS = 1500;

beforeAll(async () => {
  t = await startTestServer({
    overrides: { 'streams.resumeGraceMs': GRACE_MS, 'streams.heartbeatMs': 200, 'streams.staleAfterMs': 1000 },
  });
  alice = new WebClient(t.url);
  await alice.setup('alice@example.com', 'correct horse battery');
  const { createAuthService } = await import('../auth/auth-service');
  await createAuthService({ store: t.server.store, sessionTtlMs: 60_000 }).createUser({
    email: 'bob@example.com',
    password: 'bobs password 1',
    role: 'member',
  });
  bob = new WebClient(t.url);
  await bob.login('bob@example.com', 'bobs password 1');
});
afterAll(() => t.close());
beforeEach(() => t.upstream.set({ mode: 'ok', tokens: 8, tokenDelayMs: 0, content: undefined }));

const fullAnswer = (tokens: number) => Array.from({ length: tokens }, (_, i) => tokenText(i)).join('');

async function newConversation(): Promise<Conversation> {
  return (await alice.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1' })).body;
}

async function answerOf(conversationId: string): Promise<Message | undefined> {
  const { body } = await alice.json<ConversationWithMessages>('GET', `/api/conversations/${conversationId}`);
  return body.messages.findLast((m) => m.role === 'assistant');
}

/** Starts a resumable turn and reads it until `deltas` text deltas arrived, then cuts the connection. */
async function startAndCut(conversationId: string, deltas: number): Promise<SseEvent[]> {
  const cut = new AbortController();
  const response = await alice.request(
    'POST',
    `/api/conversations/${conversationId}/chat`,
    { trigger: 'submit-message', message: { id: 'u1', text: 'Tell me a long story' }, resumable: true },
    { signal: cut.signal },
  );
  expect(response.status).toBe(200);
  return readUntil(response, (events) => countTextDeltas(events) >= deltas, cut);
}

const sequenceOf = (event: SseEvent) => parseEventId(event.id)?.seq;

describe('resumable answers', () => {
  it('a client cut off mid-answer reconnects with Last-Event-ID and gets the rest: the whole answer exactly once', async () => {
    t.upstream.set({ tokens: 60, tokenDelayMs: 15 });
    const conversation = await newConversation();
    const first = await startAndCut(conversation.id, 10);
    const last = first.at(-1) as SseEvent;
    const position = parseEventId(last.id);
    expect(position).toMatchObject({ epoch: 1 });
    // Every event carries its id, in order.
    expect(first.map(sequenceOf)).toEqual(first.map((_, i) => i + 1));
    const answerId = (JSON.parse(first[0]?.data ?? '{}') as { messageId?: string }).messageId;
    expect(position?.messageId).toBe(answerId);

    await new Promise((resolve) => setTimeout(resolve, 150));
    const resumed = await alice.request('GET', `/api/conversations/${conversation.id}/stream`, undefined, {
      headers: { 'last-event-id': last.id as string },
    });
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(resumed.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    const rest = await readUntil(resumed, () => false);
    expect(rest.at(-1)?.data).toBe('[DONE]');
    const logged = rest.filter((e) => e.id !== undefined);
    // No gap, no duplicate: the ids go on from the last one seen.
    expect(logged.map(sequenceOf)).toEqual(logged.map((_, i) => (position?.seq ?? 0) + i + 1));
    expect(textOfEvents(first) + textOfEvents(rest)).toBe(fullAnswer(60));
    expect(rest.some((e) => e.data.startsWith('{"type":"finish",'))).toBe(true);
    expect(await answerOf(conversation.id)).toMatchObject({ id: answerId, status: 'complete', content: fullAnswer(60) });
  });

  it('replays from the start without Last-Event-ID (a reloaded page), and answers 204 once nothing is being written', async () => {
    t.upstream.set({ tokens: 40, tokenDelayMs: 15 });
    const conversation = await newConversation();
    const first = await startAndCut(conversation.id, 3);
    const resumed = await alice.request('GET', `/api/conversations/${conversation.id}/stream`);
    expect(resumed.status).toBe(200);
    const replay = await readUntil(resumed, () => false);
    expect(replay[0]?.data).toBe(first[0]?.data);
    expect(replay.filter((e) => e.id).map(sequenceOf)).toEqual(replay.filter((e) => e.id).map((_, i) => i + 1));
    expect(textOfEvents(replay)).toBe(fullAnswer(40));
    expect((await alice.request('GET', `/api/conversations/${conversation.id}/stream`)).status).toBe(204);
    // A conversation with no answer at all has nothing to resume either.
    expect((await alice.request('GET', `/api/conversations/${(await newConversation()).id}/stream`)).status).toBe(204);
  });

  it('Stop goes through the stream log: it stops an answer whose connection is gone; only the owner may stop or resume', async () => {
    t.upstream.set({ tokens: 2000, tokenDelayMs: 20 });
    const conversation = await newConversation();
    const first = await startAndCut(conversation.id, 5);
    const answerId = parseEventId(first.at(-1)?.id)?.messageId;
    expect((await bob.request('GET', `/api/conversations/${conversation.id}/stream`)).status).toBe(404);
    expect((await bob.json('POST', `/api/conversations/${conversation.id}/stop`, {})).status).toBe(404);
    expect((await answerOf(conversation.id))?.status).toBe('streaming');

    const stop = await alice.json<{ stopping: string[] }>('POST', `/api/conversations/${conversation.id}/stop`, {});
    expect(stop).toMatchObject({ status: 200, body: { stopping: [answerId] } });
    await expect.poll(() => t.upstream.stats.open, { timeout: 5000 }).toBe(0);
    await expect.poll(async () => (await answerOf(conversation.id))?.status, { timeout: 5000 }).toBe('stopped');
    const stopped = await answerOf(conversation.id);
    expect(stopped?.content.startsWith(textOfEvents(first))).toBe(true);
    expect(stopped?.content).not.toContain(tokenText(1999));
    // Nothing is being written any more.
    expect((await alice.json<{ stopping: string[] }>('POST', `/api/conversations/${conversation.id}/stop`, {})).body.stopping).toEqual([]);
    expect((await alice.json('POST', `/api/conversations/${conversation.id}/stop`, { messageId: 'not-one-of-these' })).status).toBe(404);
  });

  it('a resumable answer goes on while nobody reads it for the grace period, and is stopped after it', async () => {
    t.upstream.set({ tokens: 2000, tokenDelayMs: 20 });
    const conversation = await newConversation();
    const first = await startAndCut(conversation.id, 3);
    const cutAt = Date.now();
    await expect.poll(async () => (await answerOf(conversation.id))?.status, { timeout: GRACE_MS + 5000, interval: 100 }).toBe('stopped');
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
    const stopped = await answerOf(conversation.id);
    // It kept being written after the connection was cut (20 ms a token: dozens more).
    expect(stopped?.content.length).toBeGreaterThan(textOfEvents(first).length + 10 * tokenText(100).length);
    await expect.poll(() => t.upstream.stats.open, { timeout: 5000 }).toBe(0);
  });

  it('an answer whose writer stopped giving heartbeats is marked interrupted, with the text its stream log holds', async () => {
    const conversation = await newConversation();
    const store = t.server.store;
    const question = await store.messages.append({
      conversationId: conversation.id,
      role: 'user',
      content: 'What happened?',
      status: 'complete',
      model: null,
    });
    // A writer that died: its last heartbeat saved less than it had streamed into the log.
    const answer = await store.messages.append({
      conversationId: conversation.id,
      role: 'assistant',
      content: '',
      status: 'streaming',
      model: 'sim/sim-1',
      parentId: question.id,
    });
    const log = t.server.streamLog;
    await log.append(answer.id, 1, JSON.stringify({ type: 'start', messageId: answer.id }));
    await log.append(answer.id, 1, JSON.stringify({ type: 'text-start', id: 'text-0' }));
    for (const word of ['The ', 'curve ', 'inverted '])
      await log.append(answer.id, 1, JSON.stringify({ type: 'text-delta', id: 'text-0', delta: word }));
    await store.messages.heartbeat(answer.id, 'The ');

    // A page that reloads meanwhile reads the answer so far, then how it ended.
    const resumed = await alice.request('GET', `/api/conversations/${conversation.id}/stream`);
    expect(resumed.status).toBe(200);
    const events = await readUntil(resumed, () => false);
    expect(textOfEvents(events)).toBe('The curve inverted ');
    const chunks = events.filter((e) => e.data.startsWith('{')).map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect(chunks.slice(-3)).toEqual([
      { type: 'message-metadata', messageMetadata: expect.objectContaining({ messageId: answer.id, status: 'error' }) },
      { type: 'error', errorText: expect.stringMatching(/server stopped/) },
      { type: 'finish', messageMetadata: expect.objectContaining({ status: 'error' }) },
    ]);
    expect(await answerOf(conversation.id)).toMatchObject({
      id: answer.id,
      status: 'error',
      content: 'The curve inverted ',
      error: expect.stringMatching(/server stopped/),
    });
    expect(await log.info(answer.id)).toMatchObject({ ended: true });
  });
});
