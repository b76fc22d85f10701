import {
  type AuditEvent,
  type Collection,
  type Conversation,
  type ConversationShare,
  type ConversationShareState,
  ConversationWithMessagesSchema,
  MessageSchema,
  SharedConversationSchema,
} from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '../testing/http-client';
import { buildPdf } from '../testing/sample-documents';
import { startTestServer, type TestServer } from '../testing/test-server';
import { conversationToMarkdown, exportFileName } from './conversation-export';

let t: TestServer;
let owner: WebClient;
let colleague: WebClient;
let outsider: WebClient;
/** A conversation of the owner's grounded in a PDF: one question, its answer regenerated once. */
let conversation: Conversation;

async function turn(client: WebClient, id: string, body: Record<string, unknown>, answer: string) {
  t.upstream.set({ mode: 'ok', tokenDelayMs: 0, content: answer });
  const response = await client.request('POST', `/api/conversations/${id}/chat`, body);
  expect(response.status).toBe(200);
  await response.text();
}

beforeAll(async () => {
  t = await startTestServer();
  owner = new WebClient(t.url);
  await owner.setup('owner@example.com', 'owner password 1');
  await owner.json('POST', '/api/admin/orgs', { slug: 'acme', name: 'Acme' });
  for (const [email, org] of [
    ['colleague@example.com', undefined],
    ['outsider@acme.test', 'acme'],
  ] as const) {
    const made = await owner.json('POST', '/api/admin/users', {
      email,
      password: 'a long password 1',
      role: 'member',
      ...(org ? { org } : {}),
    });
    expect(made.status).toBe(201);
  }
  colleague = new WebClient(t.url);
  await colleague.login('colleague@example.com', 'a long password 1');
  outsider = new WebClient(t.url);
  await outsider.login('outsider@acme.test', 'a long password 1');

  const { body: collection } = await owner.json<Collection>('POST', '/api/collections', { name: 'Minutes' });
  const form = new FormData();
  const pdf = await buildPdf([['The Committee raised the federal funds rate by 25 basis points in March.']]);
  form.append('file', new Blob([Buffer.from(pdf)], { type: 'application/pdf' }), 'minutes.pdf');
  const uploaded = await fetch(`${t.url}/api/collections/${collection.id}/documents`, {
    method: 'POST',
    headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrfToken ?? '' },
    body: form,
  });
  expect(uploaded.status).toBe(202);
  await t.server.ingestion.idle();

  ({ body: conversation } = await owner.json<Conversation>('POST', '/api/conversations', {
    title: 'Rates: March meeting',
    model: 'sim/sim-1',
    collectionIds: [collection.id],
  }));
  await turn(
    owner,
    conversation.id,
    { trigger: 'submit-message', message: { id: 'q1', text: 'What did the Committee do in March?' } },
    'A first draft.',
  );
  await turn(owner, conversation.id, { trigger: 'regenerate-message' }, 'It raised the rate by 25 basis points [1].');
}, 60_000);
afterAll(() => t.close());

const auditActions = async () =>
  (await owner.json<{ items: AuditEvent[] }>('GET', '/api/admin/audit?limit=100')).body.items.map((e) => [e.action, e.target]);

describe('sharing a conversation inside the organisation', () => {
  let share: ConversationShare;

  it('lets the owner make a link, and gives the same one back when asked again', async () => {
    expect((await owner.json<ConversationShareState>('GET', `/api/conversations/${conversation.id}/share`)).body).toEqual({ share: null });
    const made = await owner.json<ConversationShare>('POST', `/api/conversations/${conversation.id}/share`);
    expect(made.status).toBe(201);
    share = made.body;
    expect(share).toEqual({
      token: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
      path: `/shared/${share.token}`,
      createdAt: expect.any(String),
    });
    const again = await owner.json<ConversationShare>('POST', `/api/conversations/${conversation.id}/share`);
    expect([again.status, again.body]).toEqual([200, share]);
    expect((await owner.json<ConversationShareState>('GET', `/api/conversations/${conversation.id}/share`)).body).toEqual({ share });
    expect(await auditActions()).toContainEqual(['conversation.shared', `conversation:${conversation.id}`]);

    // Nobody else may make, see or revoke the conversation's link.
    for (const client of [colleague, outsider]) {
      expect((await client.json('POST', `/api/conversations/${conversation.id}/share`)).status).toBe(404);
      expect((await client.json('GET', `/api/conversations/${conversation.id}/share`)).status).toBe(404);
      expect((await client.request('DELETE', `/api/conversations/${conversation.id}/share`)).status).toBe(404);
    }
  });

  it('shows a member of the same organisation the branch shown, with citations, read-only', async () => {
    const { status, body } = await colleague.json<unknown>('GET', `/api/shared/${share.token}`);
    expect(status).toBe(200);
    const shared = SharedConversationSchema.parse(body);
    expect(shared).toMatchObject({
      token: share.token,
      title: 'Rates: March meeting',
      sharedBy: 'owner@example.com',
      sharedAt: share.createdAt,
    });
    expect(shared.messages.map((m) => [m.role, m.content])).toEqual([
      ['user', 'What did the Committee do in March?'],
      ['assistant', 'It raised the rate by 25 basis points [1].'],
    ]);
    expect(shared.messages[1]?.citations[0]).toMatchObject({ n: 1, documentName: 'minutes.pdf', page: 1 });
    expect(shared.messages.every((m) => m.versions.length === 0 && m.feedback === null)).toBe(true);

    // Showing the other version changes what the link shows.
    const answers = (await owner.json<{ messages: Array<{ versions: string[] }> }>('GET', `/api/conversations/${conversation.id}`)).body
      .messages[1];
    await owner.json('POST', `/api/conversations/${conversation.id}/branch`, { messageId: answers?.versions[0] });
    expect(
      (await colleague.json<{ messages: Array<{ content: string }> }>('GET', `/api/shared/${share.token}`)).body.messages[1]?.content,
    ).toBe('A first draft.');
    await owner.json('POST', `/api/conversations/${conversation.id}/branch`, { messageId: answers?.versions[1] });

    // The link gives no way into the conversation itself.
    expect((await colleague.json('GET', `/api/conversations/${conversation.id}`)).status).toBe(404);
    expect((await colleague.json('PATCH', `/api/conversations/${conversation.id}`, { title: 'Mine now' })).status).toBe(404);
    const reply = await colleague.request('POST', `/api/conversations/${conversation.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'q2', text: 'And in May?' },
    });
    expect(reply.status).toBe(404);
    expect((await owner.json<{ messages: unknown[] }>('GET', `/api/conversations/${conversation.id}`)).body.messages).toHaveLength(2);
  });

  it('reads as missing to another organisation, and needs a signed-in caller', async () => {
    const other = await outsider.json<{ code: string }>('GET', `/api/shared/${share.token}`);
    expect([other.status, other.body.code]).toEqual([404, 'not_found']);
    const anonymous = await fetch(`${t.url}/api/shared/${share.token}`);
    expect(anonymous.status).toBe(401);
    expect((await colleague.json('GET', '/api/shared/not-a-token')).status).toBe(400);
    expect((await colleague.json('GET', `/api/shared/${'x'.repeat(32)}`)).status).toBe(404);
  });

  it('stops working once revoked; sharing again makes a new link', async () => {
    expect((await owner.request('DELETE', `/api/conversations/${conversation.id}/share`)).status).toBe(204);
    expect((await colleague.json('GET', `/api/shared/${share.token}`)).status).toBe(404);
    expect((await owner.json('GET', `/api/shared/${share.token}`)).status).toBe(404);
    expect((await owner.request('DELETE', `/api/conversations/${conversation.id}/share`)).status).toBe(404);
    expect((await owner.json<ConversationShareState>('GET', `/api/conversations/${conversation.id}/share`)).body).toEqual({ share: null });
    expect(await auditActions()).toContainEqual(['conversation.share_revoked', `conversation:${conversation.id}`]);

    const next = await owner.json<ConversationShare>('POST', `/api/conversations/${conversation.id}/share`);
    expect(next.status).toBe(201);
    expect(next.body.token).not.toBe(share.token);
    expect((await colleague.json('GET', `/api/shared/${next.body.token}`)).status).toBe(200);
    expect((await colleague.json('GET', `/api/shared/${share.token}`)).status).toBe(404);
  });
});

describe('exporting a conversation', () => {
  it('downloads Markdown with the title, a heading per turn and the citations as footnotes', async () => {
    const response = await owner.request('GET', `/api/conversations/${conversation.id}/export?format=markdown`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="rates-march-meeting-\d{4}-\d{2}-\d{2}\.md"$/);
    const markdown = await response.text();
    const day = new Date().toISOString().slice(0, 10);
    expect(markdown).toBe(
      [
        '# Rates: March meeting',
        '',
        `*Exported from Axon on ${day}.*`,
        '',
        '## You',
        '',
        'What did the Committee do in March?',
        '',
        '## Assistant (sim/sim-1)',
        '',
        'It raised the rate by 25 basis points [^1].',
        '',
        '[^1]: minutes.pdf, page 1 — “The Committee raised the federal funds rate by 25 basis points in March.”',
        '',
      ].join('\n'),
    );
    expect(markdown).not.toContain('A first draft.');
    // Markdown is the default.
    const plain = await owner.request('GET', `/api/conversations/${conversation.id}/export`);
    expect(await plain.text()).toBe(markdown);
  });

  it('downloads JSON: the conversation as the API returns it, and the versions its branch does not show', async () => {
    const response = await owner.request('GET', `/api/conversations/${conversation.id}/export?format=json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="rates-march-meeting-\d{4}-\d{2}-\d{2}\.json"$/);
    const body = (await response.json()) as Record<string, unknown>;
    const { body: api } = await owner.json<Record<string, unknown>>('GET', `/api/conversations/${conversation.id}`);
    const { exportedAt, otherVersions, ...conversationPart } = body;
    expect(conversationPart).toEqual(api);
    expect(ConversationWithMessagesSchema.parse(conversationPart).messages.map((m) => m.content)).toEqual([
      'What did the Committee do in March?',
      'It raised the rate by 25 basis points [1].',
    ]);
    expect(exportedAt).toEqual(expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/));
    expect(
      MessageSchema.array()
        .parse(otherVersions)
        .map((m) => m.content),
    ).toEqual(['A first draft.']);
    expect(await auditActions()).toContainEqual(['conversation.exported', `conversation:${conversation.id}`]);
  });

  it('exports only one’s own conversations, in the formats it knows', async () => {
    expect((await colleague.request('GET', `/api/conversations/${conversation.id}/export?format=json`)).status).toBe(404);
    expect((await outsider.request('GET', `/api/conversations/${conversation.id}/export`)).status).toBe(404);
    expect((await owner.request('GET', `/api/conversations/${conversation.id}/export?format=pdf`)).status).toBe(400);
  });
});

describe('the Markdown of a conversation', () => {
  const at = new Date('2030-01-02T10:00:00Z');
  const message = (patch: Partial<ReturnType<typeof MessageSchema.parse>>) =>
    MessageSchema.parse({
      id: 'm',
      conversationId: 'c',
      role: 'assistant',
      content: '',
      status: 'complete',
      model: null,
      usage: { inputTokens: null, outputTokens: null },
      timing: { ttftMs: null, totalMs: null },
      error: null,
      createdAt: at.toISOString(),
      ...patch,
    });
  const citation = (n: number, text: string) => ({
    n,
    documentId: 'd',
    documentName: 'notes.md',
    collectionId: 'c',
    chunkId: 'k',
    page: null,
    section: 'Outlook',
    startOffset: 0,
    endOffset: 1,
    score: 1,
    text,
  });

  it('numbers footnotes through the document, leaves code and links alone, and says how an answer ended', () => {
    const markdown = conversationToMarkdown(
      { title: 'Two  answers' },
      [
        message({ content: 'First [1] and [2].', citations: [citation(1, 'one'), citation(2, `two ${'x'.repeat(300)}`)] }),
        message({
          content: 'Again [1], a link [1](https://example.com), [7] uncited.\n\n```\nlist[1]\n```',
          citations: [citation(1, 'three')],
          status: 'stopped',
        }),
        message({ role: 'user', content: 'Why?', attachments: [{ documentId: 'd', name: 'brief.pdf' }] }),
        message({ content: 'Part', status: 'error', error: 'The model provider is not reachable' }),
      ],
      at,
    );
    expect(markdown).toContain('# Two answers\n');
    expect(markdown).toContain('First [^1] and [^2].');
    expect(markdown).toContain('Again [^3], a link [1](https://example.com), [7] uncited.\n\n```\nlist[1]\n```');
    expect(markdown).toContain('[^1]: notes.md, Outlook — “one”');
    expect(markdown).toMatch(/\[\^2\]: notes\.md, Outlook — “two x{236}…”/);
    expect(markdown).toContain('[^3]: notes.md, Outlook — “three”');
    expect(markdown).toContain('*The answer was stopped here.*');
    expect(markdown).toContain('## You\n\n*Attached: brief.pdf*\n\nWhy?');
    expect(markdown).toContain('*The answer ended with an error: The model provider is not reachable.*');
  });

  it('names the file after the title', () => {
    expect(exportFileName('Zürich: Q3 “outlook” / rates?', at, 'md')).toBe('zurich-q3-outlook-rates-2030-01-02.md');
    expect(exportFileName('???', at, 'json')).toBe('conversation-2030-01-02.json');
  });
});
