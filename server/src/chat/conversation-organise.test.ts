import type { Conversation, ConversationPage } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snippetAround } from '../store/sqlite/sqlite-store';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { cleanModelTitle, keyPhraseTitle } from './make-conversation-title';

let t: TestServer;
let web: WebClient;

beforeAll(async () => {
  t = await startTestServer({ overrides: { conversationTitles: 'auto' } });
  web = new WebClient(t.url);
  await web.setup('admin@example.com', 'admin password 1');
});
afterAll(() => t.close());

const isTitleRequest = (body: Record<string, unknown>) => JSON.stringify(body.messages).includes('You name conversations');

async function ask(id: string, text: string) {
  const response = await web.request('POST', `/api/conversations/${id}/chat`, { trigger: 'submit-message', message: { id: 'q', text } });
  expect(response.status).toBe(200);
  return response.text();
}
const titleOf = async (id: string) => (await web.json<Conversation>('GET', `/api/conversations/${id}`)).body.title;
const list = async (query = '') => (await web.json<ConversationPage>('GET', `/api/conversations${query}`)).body.items;

describe('titles made from the first exchange', () => {
  it('asks a generative model for a title once, after the first answer, and tells the web app in the stream', async () => {
    t.upstream.set({
      mode: 'ok',
      tokenDelayMs: 0,
      answer: (body) => ({
        content: isTitleRequest(body) ? '"Treasury Yield Curve Basics."' : 'The curve plots yields against maturities.',
      }),
    });
    const { body: c } = await web.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1' });
    const before = t.upstream.requests.length;
    const stream = await ask(c.id, 'can you explain what the treasury yield curve shows and why people watch it so closely?');
    const sent = t.upstream.requests.slice(before).map((r) => r.body as Record<string, unknown>);
    expect(sent.map(isTitleRequest)).toEqual([false, true]);
    expect(JSON.stringify(sent[1]?.messages)).toContain('The curve plots yields against maturities.');
    expect(sent[1]?.max_tokens).toBe(24);
    expect(await titleOf(c.id)).toBe('Treasury Yield Curve Basics');
    expect(stream).toContain('"type":"data-title"');

    // Later turns keep it.
    await ask(c.id, 'And when it inverts?');
    expect(t.upstream.requests.slice(before + 2).map((r) => isTitleRequest(r.body as Record<string, unknown>))).toEqual([false]);
    expect(await titleOf(c.id)).toBe('Treasury Yield Curve Basics');
  });

  it('takes key phrases when the model gives no title, and for the local model', async () => {
    t.upstream.set({ answer: (body) => ({ content: isTitleRequest(body) ? '' : 'Duration measures price sensitivity to rates.' }) });
    const { body: c } = await web.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1' });
    await ask(c.id, 'What does bond duration measure?');
    expect(await titleOf(c.id)).toBe('Bond duration measure');

    const models = (await web.json<{ models: { id: string; kind: string }[] }>('GET', '/api/models')).body.models;
    const local = models.find((m) => m.kind === 'local');
    expect(local, 'the test server offers the local model').toBeDefined();
    const { body: offline } = await web.json<Conversation>('POST', '/api/conversations', { model: local?.id });
    const before = t.upstream.requests.length;
    await ask(offline.id, 'Summarize this: The Federal Reserve kept its policy rate unchanged at the March meeting.');
    expect(t.upstream.requests.length).toBe(before);
    const title = await titleOf(offline.id);
    expect(title).not.toMatch(/^Summarize this/);
    expect(title).toMatch(/Federal Reserve|policy rate|March meeting/);
  });

  it('keeps a title the person gave before the first answer', async () => {
    const { body: c } = await web.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1', title: 'My notes' });
    t.upstream.set({ answer: () => ({ content: 'Generated' }) });
    await ask(c.id, 'Anything at all?');
    expect(await titleOf(c.id)).toBe('My notes');
  });
});

describe('key phrases and model replies as titles', () => {
  it('prefers the question’s longest content phrase and keeps the order of writing', () => {
    expect(keyPhraseTitle('What is the difference between the 2-year and 10-year Treasury yields?', 'The 10-year yield is higher.')).toBe(
      '10-year Treasury yields',
    );
    expect(keyPhraseTitle('hi', 'Hello! How can I help?')).toBe('Help');
    expect(keyPhraseTitle('???', '')).toBe('???');
    expect(
      keyPhraseTitle(`Explain ${'very '.repeat(3)}long supercalifragilistic expialidocious compound interest calculations thoroughly`, '')
        .length,
    ).toBeLessThanOrEqual(60);
  });

  it('cleans quotes, markdown, a "Title:" label and a closing full stop from a model reply', () => {
    expect(cleanModelTitle('**Title: "Bond Ladders Explained."**\nMore text')).toBe('Bond Ladders Explained');
    expect(cleanModelTitle('  \n « Taux directeurs » ')).toBe('Taux directeurs');
    expect(cleanModelTitle('""')).toBe('');
  });
});

describe('pin, archive, folders and search snippets', () => {
  it('lists pinned conversations first, hides archived ones unless asked, and files conversations in folders', async () => {
    const make = async (title: string) => (await web.json<Conversation>('POST', '/api/conversations', { title })).body;
    const a = await make('Alpha plans');
    const b = await make('Beta plans');
    const c = await make('Gamma plans');
    const pinned = await web.json<Conversation>('PATCH', `/api/conversations/${a.id}`, { pinned: true, folder: 'Work' });
    expect(pinned.body.pinnedAt).not.toBeNull();
    expect(pinned.body.folder).toBe('Work');
    // Organising does not move a conversation up the list.
    expect(pinned.body.updatedAt).toBe(a.updatedAt);
    await web.json('PATCH', `/api/conversations/${b.id}`, { archived: true });

    let titles = (await list()).map((x) => x.title);
    expect(titles.slice(0, 2)).toEqual(['Alpha plans', 'Gamma plans']);
    expect(titles).not.toContain('Beta plans');
    expect((await list('?archived=true')).map((x) => x.title)).toEqual(['Beta plans']);
    // A search finds archived conversations too.
    expect((await list('?q=plans')).map((x) => x.title).sort()).toEqual(['Alpha plans', 'Beta plans', 'Gamma plans']);

    // Paging keeps pinned ones first and loses none.
    const first = await web.json<ConversationPage>('GET', '/api/conversations?limit=1');
    expect(first.body.items.map((x) => x.title)).toEqual(['Alpha plans']);
    const next = await web.json<ConversationPage>('GET', `/api/conversations?limit=1&cursor=${first.body.nextCursor}`);
    expect(next.body.items.map((x) => x.title)).toEqual(['Gamma plans']);

    await web.json('PATCH', `/api/conversations/${a.id}`, { pinned: false, folder: null });
    await web.json('PATCH', `/api/conversations/${b.id}`, { archived: false });
    titles = (await list()).map((x) => x.title);
    expect(titles.slice(0, 3)).toEqual(['Gamma plans', 'Beta plans', 'Alpha plans']);
    const unfiled = (await web.json<Conversation>('GET', `/api/conversations/${a.id}`)).body;
    expect(unfiled).toMatchObject({ pinnedAt: null, folder: null, archivedAt: null });
    expect((await web.json('PATCH', `/api/conversations/${c.id}`, { folder: '' })).status).toBe(400);
    expect((await web.json('PATCH', `/api/conversations/${c.id}`, { folder: 'x'.repeat(61) })).status).toBe(400);
  });

  it('returns a snippet of the matching text with each search result', async () => {
    t.upstream.set({ answer: () => ({ content: 'Noted.' }) });
    const { body: c } = await web.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1', title: 'Desk chat' });
    const long = `${'Some opening words about the market. '.repeat(6)}The desk hedged its convexity exposure with swaptions before the auction. ${'Closing remarks follow here. '.repeat(6)}`;
    await ask(c.id, long);
    const [hit] = await list('?q=CONVEXITY');
    expect(hit?.id).toBe(c.id);
    expect(hit?.snippet).toContain('convexity exposure');
    expect(hit?.snippet?.startsWith('…')).toBe(true);
    expect(hit?.snippet?.endsWith('…')).toBe(true);
    expect(hit?.snippet?.length).toBeLessThanOrEqual(125);
    const [byTitle] = await list('?q=desk chat');
    expect(byTitle?.snippet).toBe('Desk chat');
    expect((await list())[0]?.snippet).toBeUndefined();
  });

  it('cuts a snippet at whole words around the match', () => {
    expect(snippetAround('short text with a match inside', 'match')).toBe('short text with a match inside');
    const text = `${'alpha '.repeat(40)}needle ${'omega '.repeat(40)}`;
    const snippet = snippetAround(text, 'needle', 40) as string;
    expect(snippet).toMatch(/^…(alpha )+needle( omega)+…$/);
    expect(snippetAround('nothing here', 'absent')).toBeUndefined();
  });
});
