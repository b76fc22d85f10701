import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConversationWithMessages, UploadResult } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventId } from '../../server/src/streams';
import { WebClient } from '../../server/src/testing/http-client';
import { createTestDatabase, type TestDatabase } from '../../server/src/testing/postgres';
import {
  type AxonProcess,
  type ChildService,
  startAxonProcess,
  startRedisServer,
  startRoundRobinProxy,
} from '../../server/src/testing/processes';
import { countTextDeltas, readUntil, type SseEvent, textOfEvents } from '../../server/src/testing/sse-events';

// Three Axon processes sharing one PostgreSQL database and one Redis, behind HAProxy sending each
// request to the next replica in turn. Nothing is shared through the file system: each replica has
// a data directory of its own.

const ADMIN = { email: 'admin@example.com', password: 'admin password 1' };
const QUESTION =
  'The treasury yield curve inverted this quarter. Liquidity stayed thin across the curve. Spreads widened as the curve flattened. What happened to the yield curve this quarter?';

let database: TestDatabase;
let redis: ChildService;
let proxy: ChildService;
const replicas: AxonProcess[] = [];
const dataDirs: string[] = [];

function replicaEnv(): Record<string, string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'axon-replica-'));
  dataDirs.push(dataDir);
  return {
    AXON_DATA_DIR: dataDir,
    AXON_DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    AXON_ADMIN_EMAIL: ADMIN.email,
    AXON_ADMIN_PASSWORD: ADMIN.password,
    AXON_LOCAL_MODEL_DELAY_MS: '60',
    AXON_USER_RPM: '10',
    AXON_USER_TPM: '0',
    AXON_SHUTDOWN_GRACE_MS: '1000',
    AXON_STREAM_HEARTBEAT_MS: '500',
    AXON_STREAM_STALE_AFTER_MS: '3000',
    // Titles from the first message: the local model's title call would add a request to every chat.
    AXON_CONVERSATION_TITLES: 'first-message',
  };
}

/** Log lines of a replica, parsed (pino writes one JSON object per line). */
function logLines(replica: AxonProcess): Array<Record<string, unknown>> {
  return replica
    .log()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

async function signedIn(url: string): Promise<WebClient> {
  const web = new WebClient(url);
  await web.login(ADMIN.email, ADMIN.password);
  return web;
}

/** The same session, sent to another address. */
function through(web: WebClient, url: string): WebClient {
  const other = new WebClient(url);
  other.cookie = web.cookie;
  other.csrfToken = web.csrfToken;
  return other;
}

async function answerOf(client: WebClient, conversationId: string) {
  const { body } = await client.json<ConversationWithMessages>('GET', `/api/conversations/${conversationId}`);
  return body.messages.findLast((m) => m.role === 'assistant');
}

/** Starts a resumable answer and reads it until `deltas` text deltas arrived, then cuts the connection. */
async function startAndCut(client: WebClient, conversationId: string, deltas: number): Promise<SseEvent[]> {
  const cut = new AbortController();
  const response = await client.request(
    'POST',
    `/api/conversations/${conversationId}/chat`,
    { trigger: 'submit-message', message: { id: 'u1', text: QUESTION }, resumable: true },
    { signal: cut.signal },
  );
  expect(response.status).toBe(200);
  return readUntil(response, (events) => countTextDeltas(events) >= deltas, cut);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  database = await createTestDatabase('axon_fleet');
  redis = await startRedisServer();
  // All three start at once on the empty database.
  replicas.push(...(await Promise.all([0, 1, 2].map(() => startAxonProcess(replicaEnv())))));
  proxy = await startRoundRobinProxy(replicas.map((r) => r.port));
}, 180_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.kill()));
  await proxy?.stop();
  await redis?.stop();
  await database?.drop();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

describe('three replicas on one PostgreSQL and one Redis', () => {
  it('migrated the empty database once although all three started at once', () => {
    const applied = replicas.map((replica) =>
      logLines(replica)
        .filter((line) => line.msg === 'database migrated')
        .flatMap((line) => line.applied as number[]),
    );
    const all = applied.flat();
    expect(all.length).toBeGreaterThan(5);
    expect(new Set(all).size).toBe(all.length);
    // One replica did the work; the others waited on the lock and found nothing to do.
    expect(applied.filter((versions) => versions.length > 0)).toHaveLength(1);
  });

  it('signs in through one replica and chats through another', async () => {
    const [a, b] = replicas as [AxonProcess, AxonProcess];
    const web = await signedIn(a.url);
    const onB = through(web, b.url);
    const { status, body: conversation } = await onB.json<{ id: string }>('POST', '/api/conversations', { model: 'local/extractive' });
    expect(status).toBe(201);
    const answer = await onB.request('POST', `/api/conversations/${conversation.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'u1', text: QUESTION },
    });
    expect(answer.status).toBe(200);
    const text = await answer.text();
    expect(text).toContain('"text-delta"');
    // Stored in the shared database: read back through the third replica.
    const onC = through(web, (replicas[2] as AxonProcess).url);
    const saved = (await onC.json<ConversationWithMessages>('GET', `/api/conversations/${conversation.id}`)).body;
    expect(saved.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(saved.messages[1]?.status).toBe('complete');
  });

  it('finds a document uploaded through A when searching through B', async () => {
    const [a, b] = replicas as [AxonProcess, AxonProcess];
    const web = await signedIn(a.url);
    const { body: collection } = await web.json<{ id: string }>('POST', '/api/collections', { name: 'Fleet notes' });
    const form = new FormData();
    form.append(
      'file',
      new Blob(['The quarterly liquidity review found that the repo market absorbed the reserve drain without strain.'], {
        type: 'text/plain',
      }),
      'liquidity-review.txt',
    );
    const uploaded = await fetch(`${a.url}/api/collections/${collection.id}/documents`, {
      method: 'POST',
      headers: { cookie: web.cookie, 'x-csrf-token': web.csrfToken ?? '' },
      body: form,
    });
    expect(uploaded.status).toBe(202);
    const documentId = ((await uploaded.json()) as UploadResult).files[0]?.document?.id as string;
    const onB = through(web, b.url);
    await waitFor('the document to be indexed', async () => {
      const { body } = await onB.json<{ status: string }>('GET', `/api/documents/${documentId}`);
      return body.status === 'ready' ? true : undefined;
    });
    const { body: found } = await onB.json<{ items: Array<{ documentId: string }> }>('POST', '/api/search', {
      query: 'repo market reserve drain',
      collectionIds: [collection.id],
    });
    expect(found.items[0]?.documentId).toBe(documentId);
    // The original is readable from a replica that did not receive it.
    const original = await through(web, (replicas[2] as AxonProcess).url).request('GET', `/api/documents/${documentId}/file`);
    expect(original.status).toBe(200);
    expect(await original.text()).toContain('repo market absorbed the reserve drain');
  });

  it('admits exactly 10 of a burst of 30 requests against a limit of 10 per minute, across replicas', async () => {
    // A user of its own, so the other tests' requests do not count.
    const admin = await signedIn(proxy.url);
    const email = `burst-${Date.now()}@example.com`;
    const created = await admin.json('POST', '/api/admin/users', { email, password: 'burst password 1', role: 'member' });
    expect(created.status).toBe(201);
    const user = new WebClient(proxy.url);
    await user.login(email, 'burst password 1');
    const { body: key } = await user.json<{ key: string }>('POST', '/api/keys', { name: 'burst' });
    const statuses = await Promise.all(
      Array.from({ length: 30 }, () =>
        fetch(`${proxy.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'local/extractive', messages: [{ role: 'user', content: 'Say hello.' }] }),
        }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
  });

  it('resumes an answer cut on A through B from Last-Event-ID: no gap, no duplicate', async () => {
    const [a, b] = replicas as [AxonProcess, AxonProcess];
    const onA = await signedIn(a.url);
    const onB = through(onA, b.url);
    const { body: conversation } = await onA.json<{ id: string }>('POST', '/api/conversations', { model: 'local/extractive' });
    const first = await startAndCut(onA, conversation.id, 3);
    const last = first.at(-1) as SseEvent;
    const resumed = await onB.request('GET', `/api/conversations/${conversation.id}/stream`, undefined, {
      headers: { 'last-event-id': last.id as string },
    });
    expect(resumed.status).toBe(200);
    const rest = await readUntil(resumed, () => false);
    const logged = rest.filter((e) => e.id !== undefined);
    const from = parseEventId(last.id)?.seq ?? 0;
    expect(logged.map((e) => parseEventId(e.id)?.seq)).toEqual(logged.map((_, i) => from + i + 1));
    const answer = await waitFor('the answer to be saved', async () => {
      const message = await answerOf(onB, conversation.id);
      return message?.status === 'complete' ? message : undefined;
    });
    expect(answer.content.length).toBeGreaterThan(20);
    expect(textOfEvents(first) + textOfEvents(rest)).toBe(answer.content);
  });

  it('stops an answer generated on A when Stop is sent to C', async () => {
    const [a, , c] = replicas as [AxonProcess, AxonProcess, AxonProcess];
    const onA = await signedIn(a.url);
    const { body: conversation } = await onA.json<{ id: string }>('POST', '/api/conversations', { model: 'local/extractive' });
    const first = await startAndCut(onA, conversation.id, 2);
    const stop = await through(onA, c.url).json<{ stopping: string[] }>('POST', `/api/conversations/${conversation.id}/stop`, {});
    expect(stop.status).toBe(200);
    expect(stop.body.stopping).toEqual([parseEventId(first.at(-1)?.id)?.messageId]);
    const stopped = await waitFor('the answer to stop', async () => {
      const message = await answerOf(onA, conversation.id);
      return message?.status === 'stopped' ? message : undefined;
    });
    // Stopped early: part of the answer, kept.
    expect(stopped.content.length).toBeGreaterThan(0);
    expect(stopped.content.startsWith(textOfEvents(first))).toBe(true);
  });

  it('keeps the text streamed by a replica killed mid-answer, marked interrupted by the others', async () => {
    const doomed = await startAxonProcess(replicaEnv());
    replicas.push(doomed);
    const onDoomed = await signedIn(doomed.url);
    // A first answer loads the modules a chat uses (from source, here): a replica that stalls that long
    // while answering is rightly taken as interrupted by the others, which is not what this test is about.
    const { body: warmUp } = await onDoomed.json<{ id: string }>('POST', '/api/conversations', { model: 'local/extractive' });
    const warmed = await onDoomed.request('POST', `/api/conversations/${warmUp.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'w1', text: 'Hello there.' },
    });
    await readUntil(warmed, () => false);
    const { body: conversation } = await onDoomed.json<{ id: string }>('POST', '/api/conversations', { model: 'local/extractive' });
    const response = await onDoomed.request('POST', `/api/conversations/${conversation.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'u1', text: QUESTION },
      resumable: true,
    });
    const seen: SseEvent[] = [];
    const reading = readUntil(response, (events) => {
      seen.splice(0, seen.length, ...events);
      return false;
    }).catch(() => seen);
    await waitFor('three words', async () => (countTextDeltas(seen) >= 3 ? true : undefined));
    await doomed.kill();
    await reading;
    const streamed = textOfEvents(seen);
    const onB = through(onDoomed, (replicas[1] as AxonProcess).url);
    const marked = await waitFor('the answer to be marked interrupted', async () => {
      const message = await answerOf(onB, conversation.id);
      return message?.status === 'error' ? message : undefined;
    });
    expect(marked.error).toMatch(/server stopped/i);
    expect(marked.content.startsWith(streamed)).toBe(true);
    expect(marked.content.length).toBeGreaterThanOrEqual(streamed.length);
  });
});
