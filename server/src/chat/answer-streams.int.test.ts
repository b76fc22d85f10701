import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenText } from '@axon/bench/simulated-upstream';
import type { Conversation, ConversationWithMessages, Message } from '@axon/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStaleAnswerSweeper, parseEventId, textOfStream } from '../streams';
import { WebClient } from '../testing/http-client';
import { freePort } from '../testing/processes';
import { countTextDeltas, readUntil, type SseEvent, textOfEvents } from '../testing/sse-events';
import { connectTestRedis, TEST_REDIS_URL } from '../testing/test-redis';
import { startTestServer, type TestServer } from '../testing/test-server';

// Replicas sharing one data directory and one Redis: an answer written by one is resumed and
// stopped through another, and one whose replica is killed is marked interrupted by another.

const AXON = join(import.meta.dirname, '../../bin/axon.mjs');
const dataDir = mkdtempSync(join(tmpdir(), 'axon-replicas-'));
const ADMIN = { email: 'alice@example.com', password: 'correct horse battery' };
const shared = { dataDir, redisUrl: TEST_REDIS_URL, 'streams.heartbeatMs': 500, 'streams.staleAfterMs': 3000 };
const servers: TestServer[] = [];
const children: ChildProcess[] = [];
let a: TestServer;
let b: TestServer;
let onA: WebClient;
let onB: WebClient;

/** A client of another replica, signed in with the same session (sessions live in the shared store). */
function sameSessionOn(url: string, client: WebClient): WebClient {
  const other = new WebClient(url);
  other.cookie = client.cookie;
  other.csrfToken = client.csrfToken;
  return other;
}

beforeAll(async () => {
  await (await connectTestRedis()).quit();
  a = await startTestServer({ overrides: shared });
  servers.push(a);
  onA = new WebClient(a.url);
  await onA.setup(ADMIN.email, ADMIN.password);
  b = await startTestServer({ overrides: shared });
  servers.push(b);
  onB = sameSessionOn(b.url, onA);
}, 60_000);
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const server of servers) await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});
beforeEach(() => {
  for (const server of servers) server.upstream.set({ mode: 'ok', tokens: 8, tokenDelayMs: 0, content: undefined });
});

const fullAnswer = (tokens: number) => Array.from({ length: tokens }, (_, i) => tokenText(i)).join('');

async function answerOf(client: WebClient, conversationId: string): Promise<Message | undefined> {
  const { body } = await client.json<ConversationWithMessages>('GET', `/api/conversations/${conversationId}`);
  return body.messages.findLast((m) => m.role === 'assistant');
}

async function startAndCut(client: WebClient, conversationId: string, deltas: number, text = 'Tell me a long story'): Promise<SseEvent[]> {
  const cut = new AbortController();
  const response = await client.request(
    'POST',
    `/api/conversations/${conversationId}/chat`,
    { trigger: 'submit-message', message: { id: 'u1', text }, resumable: true },
    { signal: cut.signal },
  );
  expect(response.status).toBe(200);
  return readUntil(response, (events) => countTextDeltas(events) >= deltas, cut);
}

describe('answers across replicas (Redis stream log)', () => {
  it('an answer written by one replica is resumed on another from Last-Event-ID: all of it, exactly once', async () => {
    a.upstream.set({ tokens: 60, tokenDelayMs: 15 });
    const conversation = (await onA.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1' })).body;
    const first = await startAndCut(onA, conversation.id, 10);
    const last = first.at(-1) as SseEvent;
    const resumed = await onB.request('GET', `/api/conversations/${conversation.id}/stream`, undefined, {
      headers: { 'last-event-id': last.id as string },
    });
    expect(resumed.status).toBe(200);
    const rest = await readUntil(resumed, () => false);
    const logged = rest.filter((e) => e.id !== undefined);
    expect(logged.map((e) => parseEventId(e.id)?.seq)).toEqual(logged.map((_, i) => (parseEventId(last.id)?.seq ?? 0) + i + 1));
    expect(textOfEvents(first) + textOfEvents(rest)).toBe(fullAnswer(60));
    expect(await answerOf(onB, conversation.id)).toMatchObject({ status: 'complete', content: fullAnswer(60) });
  });

  it('Stop sent to another replica stops the answer on the replica writing it', async () => {
    a.upstream.set({ tokens: 2000, tokenDelayMs: 20 });
    const conversation = (await onA.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1' })).body;
    const first = await startAndCut(onA, conversation.id, 5);
    expect(a.upstream.stats.open).toBe(1);
    const stop = await onB.json<{ stopping: string[] }>('POST', `/api/conversations/${conversation.id}/stop`, {});
    expect(stop.body.stopping).toEqual([parseEventId(first.at(-1)?.id)?.messageId]);
    await expect.poll(() => a.upstream.stats.open, { timeout: 5000 }).toBe(0);
    await expect.poll(async () => (await answerOf(onB, conversation.id))?.status, { timeout: 5000 }).toBe('stopped');
  });

  it('a replica that starts leaves the answers other replicas are writing alone', async () => {
    a.upstream.set({ tokens: 150, tokenDelayMs: 20 });
    const conversation = (await onA.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1' })).body;
    const response = await onA.request('POST', `/api/conversations/${conversation.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'u1', text: 'A long one' },
      resumable: true,
    });
    const reading = readUntil(response, () => false);
    await expect.poll(async () => (await answerOf(onB, conversation.id))?.status).toBe('streaming');
    const c = await startTestServer({ overrides: shared });
    servers.push(c);
    expect((await answerOf(onB, conversation.id))?.status).toBe('streaming');
    expect(textOfEvents(await reading)).toBe(fullAnswer(150));
    expect(await answerOf(onB, conversation.id)).toMatchObject({ status: 'complete', content: fullAnswer(150) });
  }, 60_000);

  it('a replica that only stalled, and whose answer another took as interrupted, stops: its client saw no more than was saved', async () => {
    a.upstream.set({ tokens: 400, tokenDelayMs: 15 });
    const conversation = (await onA.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1' })).body;
    const response = await onA.request('POST', `/api/conversations/${conversation.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'u1', text: 'A long one' },
      resumable: true,
    });
    const seen: SseEvent[] = [];
    const reading = readUntil(response, (events) => {
      seen.splice(0, seen.length, ...events);
      return false;
    });
    await expect.poll(() => countTextDeltas(seen), { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    // Named before the sweep: the stream may end (with an event that has no id) before the sweep resolves.
    const answerId = parseEventId(seen.findLast((e) => e.id !== undefined)?.id)?.messageId;
    expect(answerId).toEqual(expect.any(String));
    // B concludes that A's heartbeats stopped (as when A's event loop stalls past the stale limit).
    const sweeper = createStaleAnswerSweeper({
      messages: b.server.store.messages,
      log: b.server.streamLog,
      staleAfterMs: -60_000,
      intervalMs: 1000,
    });
    const marked = await sweeper.sweep();
    expect(marked.map((m) => m.id)).toEqual([answerId]);
    const streamedToClient = textOfEvents(await reading);
    expect(streamedToClient.length).toBeLessThan(fullAnswer(400).length);
    // Everything the client got is in the log, which another replica's readers replay.
    expect(await textOfStream(b.server.streamLog, answerId as string)).toBe(streamedToClient);
    await expect.poll(() => a.upstream.stats.open, { timeout: 5000 }).toBe(0);
    const saved = await answerOf(onB, conversation.id);
    expect(saved).toMatchObject({ id: answerId, status: 'error', error: expect.stringMatching(/server stopped/) });
    expect(saved?.content.startsWith(streamedToClient)).toBe(true);
  });

  it('an answer whose replica is killed is marked interrupted by another, with the text streamed up to the kill', async () => {
    // A third replica as its own process, so that it can be killed outright.
    const port = await freePort();
    const child = spawn(process.execPath, [AXON, 'serve'], {
      env: {
        ...process.env,
        AXON_FROM_SOURCE: '1',
        AXON_CONFIG: '',
        AXON_DATA_DIR: dataDir,
        REDIS_URL: TEST_REDIS_URL,
        PORT: String(port),
        HOST: '127.0.0.1',
        AXON_LOCAL_MODEL_DELAY_MS: '150',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr = (stderr + String(d)).slice(-4000);
    });
    const url = `http://127.0.0.1:${port}`;
    await expect
      .poll(
        () =>
          fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
            (r) => r.status,
            () => 0,
          ),
        { timeout: 60_000, interval: 200 },
      )
      .toBe(200)
      .catch((error: unknown) => {
        throw new Error(`the replica did not start: ${stderr}`, { cause: error });
      });
    const onKilled = sameSessionOn(url, onA);
    const conversation = (await onKilled.json<Conversation>('POST', '/api/conversations', { model: 'local/extractive' })).body;
    const question =
      'The treasury yield curve inverted this quarter. Liquidity stayed thin across the curve. What happened to the yield curve this quarter?';
    const response = await onKilled.request('POST', `/api/conversations/${conversation.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'u1', text: question },
      resumable: true,
    });
    const seen: SseEvent[] = [];
    const reading = readUntil(response, (events) => {
      seen.splice(0, seen.length, ...events);
      return false;
    }).catch(() => seen);
    await expect.poll(() => countTextDeltas(seen), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    // Let one heartbeat save part of the answer.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const checkpoint = await answerOf(onB, conversation.id);
    expect(checkpoint?.status).toBe('streaming');
    expect(checkpoint?.content.length).toBeGreaterThan(0);

    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    await reading;
    const streamedToClient = textOfEvents(seen);
    const answerId = parseEventId(seen.findLast((e) => e.id !== undefined)?.id)?.messageId as string;
    // A page resuming on a live replica gets what was written, then how it ended once the answer is marked.
    const resumed = await onB.request('GET', `/api/conversations/${conversation.id}/stream`);
    expect(resumed.status).toBe(200);
    const replay = await readUntil(resumed, () => false);
    expect(textOfEvents(replay).startsWith(streamedToClient)).toBe(true);
    expect(replay.some((e) => e.data.includes('"type":"error"') && /server stopped/.test(e.data))).toBe(true);

    const marked = await answerOf(onB, conversation.id);
    expect(marked).toMatchObject({ id: answerId, status: 'error', error: expect.stringMatching(/server stopped/) });
    // The text is what the stream log held at the kill: at least what the client saw and the last checkpoint.
    expect(marked?.content).toBe(await textOfStream(b.server.streamLog, answerId));
    expect(marked?.content.startsWith(streamedToClient)).toBe(true);
    expect(marked?.content.length).toBeGreaterThanOrEqual(checkpoint?.content.length ?? 0);
  }, 120_000);
});
