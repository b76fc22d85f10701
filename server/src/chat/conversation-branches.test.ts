import type { Conversation, ConversationWithMessages } from '@axon/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

let t: TestServer;
let web: WebClient;

beforeAll(async () => {
  t = await startTestServer();
  web = new WebClient(t.url);
  await web.setup('admin@example.com', 'admin password 1');
});
afterAll(() => t.close());
beforeEach(() => t.upstream.set({ mode: 'ok', tokens: 4, tokenDelayMs: 0, content: undefined }));

async function turn(id: string, body: Record<string, unknown>, answer: string) {
  t.upstream.set({ content: answer });
  const response = await web.request('POST', `/api/conversations/${id}/chat`, body);
  expect(response.status).toBe(200);
  await response.text();
}
const ask = (id: string, text: string, answer: string, extra: Record<string, unknown> = {}) =>
  turn(id, { trigger: 'submit-message', message: { id: `m-${text.length}`, text }, ...extra }, answer);
const shown = async (id: string) => (await web.json<ConversationWithMessages>('GET', `/api/conversations/${id}`)).body.messages;
const lastPrompt = () => JSON.stringify((t.upstream.requests.at(-1)?.body as { messages: unknown[] } | undefined)?.messages);

describe('versions of answers and questions', () => {
  it('keeps every regenerated answer as a version, and shows the one picked, also after a reload', async () => {
    const { body: c } = await web.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1' });
    await ask(c.id, 'What is a bond?', 'First answer.');
    await turn(c.id, { trigger: 'regenerate-message' }, 'Second answer.');
    await turn(c.id, { trigger: 'regenerate-message' }, 'Third answer.');
    let messages = await shown(c.id);
    expect(messages.map((m) => m.content)).toEqual(['What is a bond?', 'Third answer.']);
    expect(messages[1]?.versions).toHaveLength(3);
    expect(messages[0]?.versions).toEqual([]);

    const first = messages[1]?.versions[0] as string;
    const { body: picked } = await web.json<ConversationWithMessages>('POST', `/api/conversations/${c.id}/branch`, { messageId: first });
    expect(picked.messages.map((m) => m.content)).toEqual(['What is a bond?', 'First answer.']);
    messages = await shown(c.id);
    expect(messages.map((m) => m.content)).toEqual(['What is a bond?', 'First answer.']);
    expect(messages[1]?.versions.indexOf(messages[1].id)).toBe(0);

    // A question after picking the first answer continues that branch.
    await ask(c.id, 'And a share?', 'Shares are equity.');
    expect(lastPrompt()).toContain('First answer.');
    expect(lastPrompt()).not.toContain('Third answer.');
    expect((await shown(c.id)).map((m) => m.content)).toEqual(['What is a bond?', 'First answer.', 'And a share?', 'Shares are equity.']);
  });

  it('makes an edited question a new branch, sends the model only that branch, and can go back to the first', async () => {
    const { body: c } = await web.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1' });
    await ask(c.id, 'Name a bond type.', 'Treasuries.');
    await ask(c.id, 'What yield do they pay today?', 'About four percent.');
    const before = await shown(c.id);
    const edited = before[2];
    await ask(c.id, 'What yield did they pay in 2020?', 'Under one percent.', { parentId: edited?.parentId });
    expect(lastPrompt()).toContain('What yield did they pay in 2020?');
    expect(lastPrompt()).not.toContain('today');
    const after = await shown(c.id);
    expect(after.map((m) => m.content)).toEqual([
      'Name a bond type.',
      'Treasuries.',
      'What yield did they pay in 2020?',
      'Under one percent.',
    ]);
    expect(after[2]?.versions).toEqual([edited?.id, after[2]?.id]);

    const { body: back } = await web.json<ConversationWithMessages>('POST', `/api/conversations/${c.id}/branch`, {
      messageId: edited?.id,
    });
    expect(back.messages.map((m) => m.content)).toEqual([
      'Name a bond type.',
      'Treasuries.',
      'What yield do they pay today?',
      'About four percent.',
    ]);
  });

  it('edits the first question into a new first message', async () => {
    const { body: c } = await web.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1' });
    await ask(c.id, 'Hello there', 'Hi.');
    await ask(c.id, 'Good morning', 'Morning.', { parentId: null });
    const messages = await shown(c.id);
    expect(messages.map((m) => m.content)).toEqual(['Good morning', 'Morning.']);
    expect(messages[0]?.versions).toHaveLength(2);
    expect(lastPrompt()).not.toContain('Hello there');
  });

  it('refuses a parent from elsewhere', async () => {
    const { body: c } = await web.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1' });
    const response = await web.json('POST', `/api/conversations/${c.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'x', text: 'hi' },
      parentId: 'not-a-message',
    });
    expect(response.status).toBe(404);
    expect((await web.json('POST', `/api/conversations/${c.id}/branch`, { messageId: 'nope' })).status).toBe(404);
  });
});
