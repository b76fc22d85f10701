import { tokenText } from '@axon/bench/simulated-upstream';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { startTestServer, type TestServer } from '../testing/test-server';

let t: TestServer;
let client: OpenAI;

beforeAll(async () => {
  t = await startTestServer({ overrides: { 'localModel.wordDelayMs': 0 } });
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 1000 });
  const user = await auth.createUser({ email: 'dev@example.com', password: 'dev password 1', role: 'member' });
  const { key } = await auth.createApiKey(user.id, 'sdk');
  client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key, maxRetries: 0 });
});
afterAll(() => t.close());
beforeEach(() => t.upstream.set({ mode: 'ok', tokens: 16, tokenDelayMs: 0 }));

const expected = (n: number) => Array.from({ length: n }, (_, i) => tokenText(i)).join('');

describe('the official openai SDK against /v1', () => {
  it('lists models namespaced by connection', async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['sim/sim-1', 'sim/sim-2', 'local/extractive']));
  });

  it('completes without streaming, with usage', async () => {
    const completion = await client.chat.completions.create({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.object).toBe('chat.completion');
    // The upstream's answer as it sent it: its own model id.
    expect(completion.model).toBe('sim-1');
    expect(completion.choices[0]?.message.content).toBe(expected(16));
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage?.completion_tokens).toBe(16);
  });

  it('streams chunks ending with usage when include_usage is set', async () => {
    const stream = await client.chat.completions.create({
      model: 'sim/sim-2',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(expected(16));
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBe(16);
    const sent = t.upstream.requests.at(-1)?.body as { model: string; messages: unknown[] };
    expect(sent.model).toBe('sim-2');
    expect(sent.messages).toHaveLength(2);
  });

  it('passes max_tokens, temperature and stop to the upstream and reports a length finish', async () => {
    const completion = await client.chat.completions.create({
      model: 'sim/sim-1',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 4,
      temperature: 0.3,
      stop: ['END'],
    });
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(t.upstream.requests.at(-1)?.body).toMatchObject({ max_tokens: 4, temperature: 0.3, stop: ['END'] });
  });

  it('answers with the local extractive model, streaming', async () => {
    const stream = await client.chat.completions.create({
      model: 'local/extractive',
      messages: [{ role: 'user', content: 'hello' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toMatch(/extractive/);
  });

  it('raises AuthenticationError (401) for a bad key', async () => {
    const bad = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'axn_not-a-real-key', maxRetries: 0 });
    await expect(bad.chat.completions.create({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    await expect(bad.models.list()).rejects.toMatchObject({ status: 401 });
  });

  it('raises NotFoundError (404) for an unknown model, without calling any upstream', async () => {
    const before = t.upstream.requests.filter((r) => r.url.endsWith('/chat/completions')).length;
    for (const model of ['sim/nope', 'nope', 'other/gpt-4o']) {
      await expect(client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(
        OpenAI.NotFoundError,
      );
    }
    expect(t.upstream.requests.filter((r) => r.url.endsWith('/chat/completions')).length).toBe(before);
  });

  it("raises BadRequestError (400) for what Axon reads, and passes on the upstream's own 400 as it sent it", async () => {
    await expect(client.chat.completions.create({ model: 'sim/sim-1', messages: [] })).rejects.toMatchObject({
      status: 400,
      error: { type: 'invalid_request_error' },
    });
    await expect(
      client.chat.completions.create({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }], temperature: 7 }),
    ).rejects.toMatchObject({ status: 400, error: { param: 'temperature', code: 'decimal_above_max_value' } });
  });

  it('maps an upstream failure before streaming to an HTTP error the SDK raises', async () => {
    t.upstream.set({ mode: 'fail-500' });
    await expect(
      client.chat.completions.create({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    ).rejects.toMatchObject({ status: 502 });
    t.upstream.set({ mode: 'fail-429' });
    await expect(client.chat.completions.create({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject(
      { status: 429, headers: expect.objectContaining({}) },
    );
  });

  it('raises an error to the SDK when the upstream drops mid-stream, after the tokens that arrived', async () => {
    t.upstream.set({ mode: 'drop', dropAfter: 5, tokenDelayMs: 1, tokens: 40 });
    const stream = await client.chat.completions.create({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    await expect(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })(),
    ).rejects.toThrow(/model provider/i);
    expect(text).toBe(expected(5));
  });

  it('aborts the upstream request when the SDK client aborts', async () => {
    t.upstream.set({ tokens: 1000, tokenDelayMs: 5 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }], stream: true },
      { signal: controller.signal },
    );
    const abortsBefore = t.upstream.stats.clientAborts;
    let seen = 0;
    // The SDK ends the iteration quietly (or with an abort error, depending on timing) once aborted.
    await (async () => {
      for await (const _chunk of stream) if (++seen === 5) controller.abort();
    })().catch((error: Error) => expect(error.name).toMatch(/Abort/));
    expect(seen).toBeLessThan(100);
    await expect.poll(() => t.upstream.stats.open).toBe(0);
    expect(t.upstream.stats.clientAborts).toBe(abortsBefore + 1);
  });
});
