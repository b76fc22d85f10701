import type { Conversation, Preferences } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

interface SentBody {
  messages: { role: string; content: string }[];
  temperature?: number;
  max_tokens?: number;
}

async function ask(id: string, text: string): Promise<SentBody> {
  t.upstream.set({ mode: 'ok', tokenDelayMs: 0, content: 'Noted.' });
  const before = t.upstream.requests.length;
  const response = await web.request('POST', `/api/conversations/${id}/chat`, { trigger: 'submit-message', message: { id: 'q', text } });
  expect(response.status).toBe(200);
  await response.text();
  // The answer's own request (a title request may follow the first exchange).
  return t.upstream.requests[before]?.body as SentBody;
}

describe('per-conversation settings and personal instructions', () => {
  it('saves a system prompt, temperature and max tokens with the conversation and applies them to its turns', async () => {
    const created = await web.json<Conversation>('POST', '/api/conversations', {
      model: 'sim/sim-1',
      systemPrompt: 'Answer as a bond trader.',
      temperature: 0.2,
      maxTokens: 300,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ systemPrompt: 'Answer as a bond trader.', temperature: 0.2, maxTokens: 300 });

    let sent = await ask(created.body.id, 'What is duration?');
    expect(sent.temperature).toBe(0.2);
    expect(sent.max_tokens).toBe(300);
    expect(sent.messages[0]).toEqual({ role: 'system', content: 'Answer as a bond trader.' });

    const patched = await web.json<Conversation>('PATCH', `/api/conversations/${created.body.id}`, {
      systemPrompt: 'Answer in French.',
      temperature: null,
      maxTokens: 50,
    });
    expect(patched.body).toMatchObject({ systemPrompt: 'Answer in French.', temperature: null, maxTokens: 50 });
    const reloaded = await web.json<Conversation>('GET', `/api/conversations/${created.body.id}`);
    expect(reloaded.body).toMatchObject({ systemPrompt: 'Answer in French.', temperature: null, maxTokens: 50 });

    sent = await ask(created.body.id, 'And convexity?');
    expect(sent.temperature).toBeUndefined();
    expect(sent.max_tokens).toBe(50);
    expect(sent.messages.filter((m) => m.role === 'system').map((m) => m.content)).toEqual(['Answer in French.']);
    expect(JSON.stringify(sent.messages)).not.toContain('bond trader');
  });

  it('refuses settings out of range, naming the field', async () => {
    const { body: c } = await web.json<Conversation>('POST', '/api/conversations', {});
    const hot = await web.json<{ errors: { path: string }[] }>('PATCH', `/api/conversations/${c.id}`, { temperature: 3 });
    expect(hot.status).toBe(400);
    expect(hot.body.errors.map((e) => e.path)).toContain('body.temperature');
    expect((await web.json('PATCH', `/api/conversations/${c.id}`, { maxTokens: 0 })).status).toBe(400);
    expect((await web.json('POST', '/api/conversations', { systemPrompt: 'x'.repeat(8001) })).status).toBe(400);
  });

  it('keeps personal default instructions and sends them before the conversation’s own', async () => {
    expect((await web.json<Preferences>('GET', '/api/account/preferences')).body).toEqual({ instructions: '' });
    const saved = await web.json<Preferences>('PUT', '/api/account/preferences', { instructions: '  I work in treasury; be brief.  ' });
    expect(saved.body).toEqual({ instructions: 'I work in treasury; be brief.' });
    expect((await web.json<Preferences>('GET', '/api/account/preferences')).body.instructions).toBe('I work in treasury; be brief.');

    const { body: plain } = await web.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1' });
    let sent = await ask(plain.id, 'What is a repo?');
    expect(sent.messages[0]).toEqual({ role: 'system', content: 'I work in treasury; be brief.' });

    const { body: own } = await web.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-1', systemPrompt: 'Use tables.' });
    sent = await ask(own.id, 'Compare repo and reverse repo.');
    expect(sent.messages.slice(0, 2)).toEqual([
      { role: 'system', content: 'I work in treasury; be brief.' },
      { role: 'system', content: 'Use tables.' },
    ]);

    await web.json('PUT', '/api/account/preferences', { instructions: '' });
    sent = await ask(plain.id, 'Thanks.');
    expect(sent.messages.some((m) => m.role === 'system')).toBe(false);
  });
});
