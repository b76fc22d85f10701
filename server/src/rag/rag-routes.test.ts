import type { Collection, ConversationWithMessages, DocumentInfo, UploadResult } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { parseSseData, WebClient } from '../testing/http-client';
import { buildDocx, buildPdf, SAMPLE_HTML } from '../testing/sample-documents';
import { startTestServer, type TestServer } from '../testing/test-server';

let t: TestServer;
let alice: WebClient;
let bob: WebClient;
let carol: WebClient;
let collection: Collection;

async function upload(client: WebClient, collectionId: string, files: Array<{ name: string; bytes: Uint8Array | string; type?: string }>) {
  const form = new FormData();
  for (const f of files)
    form.append(
      'file',
      new Blob([typeof f.bytes === 'string' ? f.bytes : Buffer.from(f.bytes)], { type: f.type ?? 'application/octet-stream' }),
      f.name,
    );
  const response = await fetch(`${t.url}/api/collections/${collectionId}/documents`, {
    method: 'POST',
    headers: { cookie: client.cookie, 'x-csrf-token': client.csrfToken ?? '' },
    body: form,
  });
  return { status: response.status, body: (await response.json()) as UploadResult };
}

async function waitForDocuments(client: WebClient, collectionId: string) {
  await t.server.ingestion.idle();
  return (await client.json<{ items: DocumentInfo[] }>('GET', `/api/collections/${collectionId}/documents`)).body.items;
}

beforeAll(async () => {
  t = await startTestServer({
    overrides: { 'localModel.wordDelayMs': 0, rag: { maxUploadMb: 1, chunkTokens: 120, chunkOverlapTokens: 20 } },
  });
  alice = new WebClient(t.url);
  await alice.setup('alice@example.com', 'alice password 1');
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 3_600_000 });
  for (const name of ['bob', 'carol'])
    await auth.createUser({ email: `${name}@example.com`, password: `${name} password 1`, role: 'member' });
  bob = new WebClient(t.url);
  await bob.login('bob@example.com', 'bob password 1');
  carol = new WebClient(t.url);
  await carol.login('carol@example.com', 'carol password 1');
  collection = (await alice.json<Collection>('POST', '/api/collections', { name: 'Fed notes' })).body;
});
afterAll(() => t.close());

describe('collections and ingestion over HTTP', () => {
  it('refuses a second collection of the same name for the same owner', async () => {
    expect((await alice.json('POST', '/api/collections', { name: 'Fed notes' })).status).toBe(409);
    expect((await bob.json('POST', '/api/collections', { name: 'Fed notes' })).status).toBe(201);
  });

  it('ingests several formats in one upload; a bad file fails alone with its reason', async () => {
    const pdf = await buildPdf([
      ['The Committee raised the federal funds rate by 25 basis points in March.'],
      ['Unemployment stayed near 3.5 percent through the spring.'],
    ]);
    const { status, body } = await upload(alice, collection.id, [
      { name: 'minutes.pdf', bytes: pdf },
      { name: 'report.docx', bytes: await buildDocx() },
      { name: 'note.html', bytes: SAMPLE_HTML },
      { name: 'fake.pdf', bytes: 'not really a pdf' },
      { name: 'empty.txt', bytes: '' },
      { name: 'huge.txt', bytes: 'x'.repeat(1_200_000) },
    ]);
    expect(status).toBe(202);
    expect(body.files.map((f) => [f.name, Boolean(f.document), f.error ?? ''])).toEqual([
      ['minutes.pdf', true, ''],
      ['report.docx', true, ''],
      ['note.html', true, ''],
      ['fake.pdf', false, expect.stringMatching(/named \.pdf but its content is text/)],
      ['empty.txt', false, 'The file is empty.'],
      ['huge.txt', false, expect.stringMatching(/larger than 1 MB/)],
    ]);
    const documents = await waitForDocuments(alice, collection.id);
    expect(documents.map((d) => [d.name, d.status])).toEqual(
      expect.arrayContaining([
        ['minutes.pdf', 'ready'],
        ['report.docx', 'ready'],
        ['note.html', 'ready'],
      ]),
    );
    expect(documents.find((d) => d.name === 'minutes.pdf')).toMatchObject({ pages: 2, mime: 'application/pdf' });
  });

  it('detects the same content uploaded again, and re-indexes a replaced document', async () => {
    const again = await upload(alice, collection.id, [{ name: 'note-copy.html', bytes: SAMPLE_HTML }]);
    expect(again.body.files[0]?.duplicateOf).toBeTruthy();
    const v1 = await upload(alice, collection.id, [{ name: 'memo.md', bytes: '# Memo\n\nThe old policy said rates would stay flat.' }]);
    await waitForDocuments(alice, collection.id);
    await upload(alice, collection.id, [{ name: 'memo.md', bytes: '# Memo\n\nThe new policy says rates will fall in autumn.' }]);
    const documents = await waitForDocuments(alice, collection.id);
    const memos = documents.filter((d) => d.name === 'memo.md');
    expect(memos).toHaveLength(1);
    expect(memos[0]?.id).not.toBe(v1.body.files[0]?.document?.id);
    const hits = await t.server.store.searchIndex.searchText('policy rates', {
      userId: (await t.server.store.users.findByEmail('alice@example.com'))?.id as string,
      collectionIds: [collection.id],
      k: 5,
    });
    expect(hits.map((h) => h.text).join(' ')).toContain('will fall in autumn');
    expect(hits.map((h) => h.text).join(' ')).not.toContain('stay flat');
  });

  it('answers from the documents with citations, streamed and saved', async () => {
    const { body: c } = await alice.json<{ id: string }>('POST', '/api/conversations', {
      model: 'local/extractive',
      collectionIds: [collection.id],
    });
    const response = await alice.request('POST', `/api/conversations/${c.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'u1', text: 'What did the Committee do with the federal funds rate?' },
    });
    const chunks = parseSseData(await response.text()).map((d) => (d === '[DONE]' ? d : JSON.parse(d)));
    const citations = chunks.find((x) => x.type === 'data-citations')?.data;
    expect(citations?.[0]).toMatchObject({ n: 1, documentName: 'minutes.pdf', page: 1 });
    const text = chunks
      .filter((x) => x.type === 'text-delta')
      .map((x) => x.delta)
      .join('');
    expect(text).toMatch(/raised the federal funds rate by 25 basis points in March\. \[1\]/);
    const saved = await alice.json<ConversationWithMessages>('GET', `/api/conversations/${c.id}`);
    expect(saved.body.collectionIds).toEqual([collection.id]);
    expect(saved.body.messages[1]?.citations[0]).toMatchObject({ documentName: 'minutes.pdf', page: 1 });
    // The citation panel reads the passage in its surrounding text.
    const cite = saved.body.messages[1]?.citations[0];
    const window = await alice.json<{ passage: string; after: string }>(
      'GET',
      `/api/documents/${cite?.documentId}/text?start=${cite?.startOffset}&end=${cite?.endOffset}&context=200`,
    );
    expect(window.body.passage).toContain('federal funds rate');
    expect(window.body.after).toContain('Unemployment');
    const file = await alice.request('GET', `/api/documents/${cite?.documentId}/file`);
    expect(file.headers.get('content-type')).toBe('application/pdf');
    expect(new Uint8Array(await file.arrayBuffer()).slice(0, 4)).toEqual(new Uint8Array([0x25, 0x50, 0x44, 0x46]));
  });
});

describe("another user's private collection", () => {
  it('is invisible through every route', async () => {
    const documents = await waitForDocuments(alice, collection.id);
    const doc = documents[0] as DocumentInfo;
    for (const [method, path, body] of [
      ['GET', `/api/collections/${collection.id}`, undefined],
      ['PATCH', `/api/collections/${collection.id}`, { description: 'mine now' }],
      ['DELETE', `/api/collections/${collection.id}`, undefined],
      ['GET', `/api/collections/${collection.id}/documents`, undefined],
      ['GET', `/api/documents/${doc.id}`, undefined],
      ['GET', `/api/documents/${doc.id}/file`, undefined],
      ['GET', `/api/documents/${doc.id}/text?start=0&end=10`, undefined],
      ['DELETE', `/api/documents/${doc.id}`, undefined],
      ['POST', '/api/conversations', { collectionIds: [collection.id] }],
    ] as const) {
      expect((await bob.json(method, path, body)).status, `${method} ${path}`).toBe(404);
    }
    expect((await upload(bob, collection.id, [{ name: 'x.txt', bytes: 'hello' }])).status).toBe(404);
    expect((await bob.json<{ items: Collection[] }>('GET', '/api/collections')).body.items.map((c) => c.id)).not.toContain(collection.id);
  });

  it('is never retrieved or cited for them, even when a conversation names it', async () => {
    const bobId = (await t.server.store.users.findByEmail('bob@example.com'))?.id as string;
    const conversation = await t.server.store.conversations.create({
      userId: bobId,
      title: 'sneaky',
      model: 'local/extractive',
      collectionIds: [collection.id],
    });
    const response = await bob.request('POST', `/api/conversations/${conversation.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'u', text: 'federal funds rate Committee' },
    });
    const text = await response.text();
    expect(text).not.toContain('data-citations');
    expect(text).not.toContain('basis points');
    expect(
      await t.server.store.searchIndex.searchText('federal funds rate', { userId: bobId, collectionIds: [collection.id], k: 5 }),
    ).toEqual([]);
  });

  it('opens to a member as viewer, and to everyone when shared with the organisation', async () => {
    expect(
      (await alice.json('PUT', `/api/collections/${collection.id}/members`, { members: [{ email: 'bob@example.com', role: 'viewer' }] }))
        .status,
    ).toBe(200);
    expect((await bob.json<Collection>('GET', `/api/collections/${collection.id}`)).body.access).toBe('viewer');
    expect((await upload(bob, collection.id, [{ name: 'x.txt', bytes: 'hello' }])).status).toBe(403);
    expect((await carol.json('GET', `/api/collections/${collection.id}`)).status).toBe(404);
    await alice.json('PATCH', `/api/collections/${collection.id}`, { visibility: 'organisation' });
    expect((await carol.json<Collection>('GET', `/api/collections/${collection.id}`)).body.access).toBe('viewer');
    expect((await carol.json('PATCH', `/api/collections/${collection.id}`, { visibility: 'private' })).status).toBe(403);
  });

  it('keeps retrieval settings per collection, validated', async () => {
    const saved = await alice.json<Collection>('PATCH', `/api/collections/${collection.id}`, { topK: 4, minScore: 0.25, mmr: true });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ topK: 4, minScore: 0.25, mmr: true });
    expect((await alice.json<Collection>('GET', `/api/collections/${collection.id}`)).body).toMatchObject({ topK: 4, mmr: true });
    for (const bad of [{ topK: 0 }, { topK: 51 }, { minScore: 1.5 }, { mmr: 'yes' }]) {
      const refused = await alice.json<{ type: string }>('PATCH', `/api/collections/${collection.id}`, bad);
      expect(refused.status).toBe(400);
    }
    await alice.json('PATCH', `/api/collections/${collection.id}`, { topK: 8, minScore: 0, mmr: false });
  });
});

describe('retrieval through the OpenAI-compatible API', () => {
  it('grounds /v1/chat/completions in named collections and returns the citations', async () => {
    const { default: OpenAI } = await import('openai');
    const auth = createAuthService({ store: t.server.store, sessionTtlMs: 1000 });
    const aliceId = (await t.server.store.users.findByEmail('alice@example.com'))?.id as string;
    const bobId = (await t.server.store.users.findByEmail('bob@example.com'))?.id as string;
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: (await auth.createApiKey(aliceId, 'sdk')).key, maxRetries: 0 });
    const question = [{ role: 'user' as const, content: 'What did the Committee do with the federal funds rate?' }];
    const completion = await client.chat.completions.create({
      model: 'local/extractive',
      messages: question,
      ...({ collections: ['Fed notes'] } as object),
    });
    const message = completion.choices[0]?.message as unknown as { content: string; citations: Array<{ n: number; documentName: string }> };
    expect(message.content).toContain('[1]');
    expect(message.citations[0]).toMatchObject({ n: 1, documentName: 'minutes.pdf' });

    const stream = await client.chat.completions.create(
      { model: 'local/extractive', messages: question, stream: true },
      { headers: { 'X-Axon-Collections': collection.id } },
    );
    let last: unknown;
    for await (const chunk of stream) if (chunk.choices[0]?.finish_reason) last = chunk;
    expect((last as { citations: Array<{ documentName: string }> }).citations[0]?.documentName).toBe('minutes.pdf');

    // A plain OpenAI request sees no citations field at all.
    const plain = await client.chat.completions.create({ model: 'local/extractive', messages: question });
    expect(plain.choices[0]?.message).not.toHaveProperty('citations');

    // Carol may not read the collection (it is shared with Bob only, then with everyone: reset it to private first).
    await t.server.store.collections.update(collection.id, { visibility: 'private' });
    const carolId = (await t.server.store.users.findByEmail('carol@example.com'))?.id as string;
    const carolClient = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: (await auth.createApiKey(carolId, 'sdk')).key, maxRetries: 0 });
    for (const ref of ['Fed notes', collection.id]) {
      await expect(
        carolClient.chat.completions.create({ model: 'local/extractive', messages: question, ...({ collections: [ref] } as object) }),
      ).rejects.toMatchObject({ status: 404 });
    }
    expect(bobId).toBeTruthy();
  });
});

describe('files attached to one message', () => {
  it('grounds that answer in the attached file only, and never in another user’s attachment', async () => {
    const form = new FormData();
    form.append('file', new Blob(['# Travel policy\n\nEmployees book economy class for flights under six hours.']), 'policy.md');
    const uploaded = await fetch(`${t.url}/api/attachments`, {
      method: 'POST',
      headers: { cookie: alice.cookie, 'x-csrf-token': alice.csrfToken ?? '' },
      body: form,
    });
    expect(uploaded.status).toBe(202);
    const documentId = ((await uploaded.json()) as UploadResult).files[0]?.document?.id as string;
    await t.server.ingestion.idle();
    const { body: c } = await alice.json<{ id: string }>('POST', '/api/conversations', { model: 'local/extractive' });
    const ask = async (client: WebClient, conversationId: string) => {
      const response = await client.request('POST', `/api/conversations/${conversationId}/chat`, {
        trigger: 'submit-message',
        message: { id: 'u1', text: 'Which class do employees book for flights?' },
        attachments: [documentId],
      });
      return parseSseData(await response.text()).map((d) => (d === '[DONE]' ? d : JSON.parse(d)));
    };
    const chunks = await ask(alice, c.id);
    expect(chunks.find((x) => x.type === 'data-citations')?.data[0]).toMatchObject({ n: 1, documentName: 'policy.md' });
    expect(
      chunks
        .filter((x) => x.type === 'text-delta')
        .map((x) => x.delta)
        .join(''),
    ).toMatch(/economy class.*\[1\]/);
    // The next message, without the attachment, is not grounded in it.
    const next = await alice.request('POST', `/api/conversations/${c.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'u2', text: 'economy class flights' },
    });
    expect(await next.text()).not.toContain('data-citations');
    // Bob cannot use Alice's attachment by its id.
    const { body: bc } = await bob.json<{ id: string }>('POST', '/api/conversations', { model: 'local/extractive' });
    const bobChunks = await ask(bob, bc.id);
    expect(bobChunks.some((x) => x.type === 'data-citations')).toBe(false);
    expect(JSON.stringify(bobChunks)).not.toContain('economy');
  });
});
