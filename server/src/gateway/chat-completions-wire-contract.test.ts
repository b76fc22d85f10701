import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAuthService } from '../auth/auth-service';
import { startTestServer, type TestServer } from '../testing/test-server';

// One contract for /v1/chat/completions, whatever the upstream speaks: the same openai SDK code
// against `sim/sim-1` (OpenAI wire, relayed as sent) and `anthropic/sim-1` (Anthropic's Messages
// API, translated both ways) gets the same answers. The simulated upstream gives one scripted
// model both wire formats: `answer` sees an Anthropic request as the chat request it stands for.
let t: TestServer;
let client: OpenAI;

beforeAll(async () => {
  t = await startTestServer({
    env: { ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_MODELS: 'sim-1' },
    upstreamEnv: (url) => ({ ANTHROPIC_BASE_URL: url }),
  });
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 1000 });
  const user = await auth.createUser({ email: 'contract@example.com', password: 'contract test 1', role: 'member' });
  client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: (await auth.createApiKey(user.id, 'k')).key, maxRetries: 0 });
});
afterAll(() => t.close());
beforeEach(() => t.upstream.set({ mode: 'ok', tokens: 4, tokenDelayMs: 0, answer: undefined, content: undefined }));

type ChatView = { messages: Array<{ role: string; content?: unknown; tool_calls?: Array<{ id: string; function: { name: string } }> }> };

/** The conversations the scripted model saw, as chat requests (either wire format). */
let seen: ChatView[] = [];
const scripted = (answer: (view: ChatView) => { content?: string; toolCalls?: Array<{ name: string; arguments: string }> }) => {
  seen = [];
  t.upstream.set({
    answer: (body) => {
      seen.push(body as unknown as ChatView);
      return answer(body as unknown as ChatView);
    },
  });
};

/** A model that calls `get_weather` until it has a tool result, then answers with it. */
const weatherAgent = (view: ChatView) => {
  const result = view.messages.find((m) => m.role === 'tool');
  if (result) return { content: `The weather is ${String(result.content)}.` };
  return { toolCalls: [{ name: 'get_weather', arguments: JSON.stringify({ city: 'Paris' }) }] };
};

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  },
};

const RED_PIXEL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

describe.each([
  { model: 'sim/sim-1', wire: 'openai', path: '/v1/chat/completions', tooLong: /maximum context length is 8192 tokens/ },
  { model: 'anthropic/sim-1', wire: 'anthropic', path: '/v1/messages', tooLong: /prompt is too long/ },
])('/v1/chat/completions to $model ($wire wire)', ({ model, path, tooLong }) => {
  const lastPath = () => t.upstream.requests.at(-1)?.url.split('?')[0];

  it('answers text without streaming, with usage', async () => {
    const completion = await client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
      max_tokens: 50,
    });
    expect(lastPath()).toBe(path);
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'tok0 tok1 tok2 tok3 ' });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage?.completion_tokens).toBe(4);
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
  });

  it('streams text, and stops at max_tokens with finish_reason length', async () => {
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 50,
    });
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect({ text, finish, completion: usage?.completion_tokens }).toEqual({ text: 'tok0 tok1 tok2 tok3 ', finish: 'stop', completion: 4 });

    const short = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    expect(short.choices[0]?.message.content).toBe('tok0 tok1 ');
    expect(short.choices[0]?.finish_reason).toBe('length');
  });

  it('sends the system prompt and the conversation as the model reads them', async () => {
    scripted(() => ({ content: 'ok' }));
    await client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'one' },
        { role: 'user', content: 'second' },
      ],
    });
    expect(seen[0]?.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'one' },
      { role: 'user', content: 'second' },
    ]);
  });

  it('gives tool calls without streaming and streams them as deltas', async () => {
    scripted(weatherAgent);
    const first = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [weatherTool],
    });
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    expect(JSON.parse(call?.type === 'function' ? call.function.arguments : '')).toEqual({ city: 'Paris' });

    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [weatherTool],
      stream: true,
    });
    let name = '';
    let args = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += delta.function?.name ?? '';
        args += delta.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect({ name, args: JSON.parse(args), finish }).toEqual({ name: 'get_weather', args: { city: 'Paris' }, finish: 'tool_calls' });
  });

  it('runs a runTools agent loop to the final answer, the tool result reaching the model with its call id', async () => {
    scripted(weatherAgent);
    const runner = client.chat.completions.runTools({
      model,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Weather in a city',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
            function: (input: { city: string }) => `cloudy in ${input.city}`,
            parse: JSON.parse,
          },
        },
      ],
    });
    expect(await runner.finalContent()).toBe('The weather is cloudy in Paris.');
    expect(seen).toHaveLength(2);
    const history = seen[1]?.messages ?? [];
    const callId = history[1]?.tool_calls?.[0]?.id;
    expect(history[1]).toMatchObject({ role: 'assistant', tool_calls: [{ function: { name: 'get_weather' } }] });
    expect(history[2]).toMatchObject({ role: 'tool', tool_call_id: callId, content: 'cloudy in Paris' });
  });

  it('parses structured output with chat.completions.parse', async () => {
    scripted(() => ({ content: JSON.stringify({ city: 'Paris', celsius: 21 }) }));
    const Weather = z.object({ city: z.string(), celsius: z.number() });
    const completion = await client.chat.completions.parse({
      model,
      messages: [{ role: 'user', content: 'Weather in Paris as JSON' }],
      response_format: zodResponseFormat(Weather, 'weather'),
    });
    expect(completion.choices[0]?.message.parsed).toEqual({ city: 'Paris', celsius: 21 });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
  });

  it('passes an image to the model', async () => {
    scripted((view) => {
      const parts = view.messages.at(-1)?.content;
      const image = Array.isArray(parts) ? parts.find((p) => p.type === 'image_url') : undefined;
      return { content: image?.image_url?.url === `data:image/png;base64,${RED_PIXEL}` ? 'a red square' : 'no image' };
    });
    const completion = await client.chat.completions.create({
      model,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${RED_PIXEL}` } },
          ],
        },
      ],
    });
    expect(completion.choices[0]?.message.content).toBe('a red square');
  });

  it("raises the upstream's 400 as BadRequestError with its message, sent once", async () => {
    t.upstream.set({ mode: 'fail-400' });
    const before = t.upstream.requests.length;
    const error = (await client.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'long' }] })
      .catch((e) => e)) as InstanceType<typeof OpenAI.BadRequestError>;
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.status).toBe(400);
    expect(error.message).toMatch(tooLong);
    expect(t.upstream.requests.length - before).toBe(1);
  });

  it('ends a stream the upstream resets with an error the SDK raises, after the text that came before it', async () => {
    t.upstream.set({ mode: 'drop', dropAfter: 3, tokens: 10 });
    const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    })().catch((error: unknown) => error);
    expect(text).toBe('tok0 tok1 tok2 ');
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as Error).message).toMatch(/closed|reset/i);
  });

  it("raises the upstream's 429 as RateLimitError with Retry-After", async () => {
    t.upstream.set({ mode: 'fail-429' });
    const error = (await client.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e) => e)) as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.headers?.get('retry-after')).toBe('1');
  });
});
