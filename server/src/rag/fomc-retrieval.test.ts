import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Citation, Collection, DocumentInfo } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { parseSseData, WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

/** The 53 FOMC statements of the shared data (one file per release date, `YYYYMMDD.txt`). */
const STATEMENTS = resolve(import.meta.dirname, '../../../../shared/data/fomc-statements');

let t: TestServer;
let alice: WebClient;
let apiKey: string;
let statements: Collection;
let documents: DocumentInfo[];

interface SearchHit {
  documentName: string;
  documentDate: string | null;
  text: string;
}

async function chat(question: string, collectionIds: string[]) {
  const { body: c } = await alice.json<{ id: string }>('POST', '/api/conversations', { model: 'local/extractive', collectionIds });
  const response = await alice.request('POST', `/api/conversations/${c.id}/chat`, {
    trigger: 'submit-message',
    message: { id: `u-${Date.now()}`, text: question },
  });
  const chunks = parseSseData(await response.text())
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d) as { type: string; delta?: string; id?: string; data?: Citation[] });
  const text = chunks
    .filter((x) => x.type === 'text-delta')
    .map((x) => x.delta)
    .join('');
  const events = chunks.filter((x) => x.type === 'data-citations');
  return { conversationId: c.id, text, first: events[0]?.data ?? [], last: events.at(-1)?.data ?? [], events };
}

const search = (body: Record<string, unknown>) =>
  alice.json<{ items: SearchHit[] }>('POST', '/api/search', { collectionIds: [statements.id], ...body });

beforeAll(async () => {
  if (!existsSync(STATEMENTS))
    throw new Error(`The FOMC statements are missing at ${STATEMENTS}: these tests read the shared data folder (../shared/data).`);
  t = await startTestServer({ overrides: { 'localModel.wordDelayMs': 0 } });
  alice = new WebClient(t.url);
  const session = await alice.setup('alice@example.com', 'alice password 1');
  apiKey = (await createAuthService({ store: t.server.store, sessionTtlMs: 3_600_000 }).createApiKey(session.user?.id as string, 'script'))
    .key;
  statements = (await alice.json<Collection>('POST', '/api/collections', { name: 'FOMC statements' })).body;
  const files = readdirSync(STATEMENTS)
    .filter((f) => /^\d{8}\.txt$/.test(f))
    .sort();
  expect(files).toHaveLength(53);
  for (let i = 0; i < files.length; i += 10) {
    const form = new FormData();
    for (const f of files.slice(i, i + 10)) form.append('file', new Blob([readFileSync(join(STATEMENTS, f))]), f);
    const response = await fetch(`${t.url}/api/collections/${statements.id}/documents`, {
      method: 'POST',
      headers: { cookie: alice.cookie, 'x-csrf-token': alice.csrfToken ?? '' },
      body: form,
    });
    expect(response.status).toBe(202);
  }
  await t.server.ingestion.idle();
  documents = (await alice.json<{ items: DocumentInfo[] }>('GET', `/api/collections/${statements.id}/documents`)).body.items;
}, 120_000);
afterAll(() => t?.close());

describe('document dates', () => {
  it('dates each statement from the date in its file name', () => {
    expect(documents).toHaveLength(53);
    expect(documents.every((d) => d.status === 'ready')).toBe(true);
    expect(documents.find((d) => d.name === '20231213.txt')).toMatchObject({ date: '2023-12-13', dateSource: 'name', metadata: {} });
    expect(documents.every((d) => d.date === `${d.name.slice(0, 4)}-${d.name.slice(4, 6)}-${d.name.slice(6, 8)}`)).toBe(true);
  });

  it('takes a date and metadata fields set by hand, and refuses malformed ones', async () => {
    const doc = documents.find((d) => d.name === '20200827.txt') as DocumentInfo;
    const patched = await alice.json<DocumentInfo>('PATCH', `/api/documents/${doc.id}`, {
      metadata: { type: 'strategy statement', tags: ['framework', 'goals'], source: 'Federal Reserve Board' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.metadata).toEqual({ type: 'strategy statement', tags: ['framework', 'goals'], source: 'Federal Reserve Board' });
    expect((await alice.json('PATCH', `/api/documents/${doc.id}`, { date: '2020-02-30' })).status).toBe(400);
    expect((await alice.json('PATCH', `/api/documents/${doc.id}`, { metadata: { 'bad key': 'x' } })).status).toBe(400);
    const audit = await t.server.store.audit.list({ limit: 50 });
    expect(audit.some((e) => e.action === 'document.updated' && e.target === `document:${doc.id}`)).toBe(true);
  });
});

describe('retrieval that understands time', () => {
  it('cites the December 2023 statement for a question about December 2023', async () => {
    const { text, first, last, events } = await chat('What target range did the Committee set in December 2023?', [statements.id]);
    expect(first.length).toBeGreaterThan(0);
    expect(first.every((c) => c.documentName === '20231213.txt' && c.documentDate === '2023-12-13')).toBe(true);
    expect(text).toMatch(/5-1\/4 to 5-1\/2 percent/);
    // The local model says which date each quote comes from.
    expect(text).toContain('(dated 2023-12-13)');
    // The answer's sentences are pointed at: the citations are sent again, under the same id, with highlights.
    expect(events).toHaveLength(2);
    expect(events.every((e) => e.id === 'citations')).toBe(true);
    const highlighted = last.filter((c) => (c.highlights ?? []).length > 0);
    expect(highlighted.length).toBeGreaterThan(0);
    const cite = highlighted[0] as Citation;
    const documentText = (await t.server.store.documents.getText(cite.documentId)) as string;
    const sentences = (cite.highlights ?? []).map((h) => documentText.slice(h.start, h.end));
    expect(sentences.some((s) => s.includes('5-1/4 to 5-1/2 percent'))).toBe(true);
    for (const s of sentences) expect(text.replace(/\s+/g, ' ')).toContain(s.replace(/\s+/g, ' '));
  });

  it('answers "the latest" and "the last meeting" from the newest statement', async () => {
    for (const question of [
      'What is the latest target range for the federal funds rate?',
      'What did the Committee decide at its last meeting?',
    ]) {
      const { first, text } = await chat(question, [statements.id]);
      expect(first[0]?.documentName).toBe('20231213.txt');
      expect(text).toContain('(dated 2023-12-13)');
    }
  });

  it('filters by a range read from the question: "since", "before", a day', async () => {
    const since = (await search({ query: 'What did the Committee decide about the target range since 2023?', k: 20 })).body.items;
    expect(since.length).toBeGreaterThan(0);
    expect(since.every((h) => (h.documentDate as string) >= '2023-01-01')).toBe(true);
    const before = (await search({ query: 'decisions on the target range before March 2018', k: 20 })).body.items;
    expect(new Set(before.map((h) => h.documentName))).toEqual(new Set(['20180131.txt']));
    const day = (await search({ query: 'What did the Committee do on March 15, 2020?' })).body.items;
    expect(new Set(day.map((h) => h.documentName))).toEqual(new Set(['20200315.txt']));
    // Without understanding time, the same words rank by content alone.
    const plain = (await search({ query: 'What did the Committee do on March 15, 2020?', understandTime: false, k: 20 })).body.items;
    expect(new Set(plain.map((h) => h.documentName)).size).toBeGreaterThan(1);
  });

  it('takes explicit filters on the search API: dates and metadata fields', async () => {
    const dated = (
      await search({ query: 'target range federal funds rate', k: 50, filters: { dateFrom: '2022-03-01', dateTo: '2022-06-30' } })
    ).body.items;
    expect(new Set(dated.map((h) => h.documentName))).toEqual(new Set(['20220316.txt', '20220504.txt', '20220615.txt']));
    const tagged = (await search({ query: 'longer-run goals', filters: { metadata: { tags: 'Framework' } } })).body.items;
    expect(new Set(tagged.map((h) => h.documentName))).toEqual(new Set(['20200827.txt']));
    expect((await search({ query: 'goals', filters: { metadata: { tags: ['none of these'] } } })).body.items).toEqual([]);
    expect((await search({ query: 'goals', filters: { dateFrom: '2023-13-01' } })).status).toBe(400);
  });

  it('takes filters on /v1/chat/completions and does not send them upstream', async () => {
    const response = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'local/extractive',
        collections: [statements.id],
        filters: { dateFrom: '2019-07-01', dateTo: '2019-07-31' },
        messages: [{ role: 'user', content: 'What did the Committee decide about the target range?' }],
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { choices: Array<{ message: { content: string; citations: Citation[] } }> };
    const message = body.choices[0]?.message;
    expect(message?.citations.length).toBeGreaterThan(0);
    expect(message?.citations.every((c) => c.documentName === '20190731.txt')).toBe(true);
    expect(message?.content).toMatch(/2 to 2-1\/4 percent/);

    const before = t.upstream.requests.length;
    const relayed = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'sim/sim-1',
        collections: [statements.id],
        filters: { dateFrom: '2019-07-01', dateTo: '2019-07-31' },
        messages: [{ role: 'user', content: 'What did the Committee decide?' }],
      }),
    });
    expect(relayed.status).toBe(200);
    const sent = t.upstream.requests.slice(before).find((r) => r.url.endsWith('/chat/completions'))?.body as Record<string, unknown>;
    expect(sent).toBeDefined();
    expect(sent).not.toHaveProperty('filters');
    expect(sent).not.toHaveProperty('collections');
    expect(JSON.stringify(sent.messages)).toContain('20190731.txt, dated 2019-07-31');
  });
});
