import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

// The Anthropic SDK against Axon's /v1/messages: passed through to an Anthropic upstream
// (`anthropic/sim-1`), translated for an OpenAI-wire upstream (`sim/sim-1`) and for the local model.
let t: TestServer;
let key: string;
let client: Anthropic;
let userId: string;

beforeAll(async () => {
  t = await startTestServer({
    env: { ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_MODELS: 'sim-1' },
    upstreamEnv: (url) => ({ ANTHROPIC_BASE_URL: url }),
    overrides: { 'localModel.wordDelayMs': 0, 'redaction.guardrail': true, promptLog: { mode: 'full', retentionDays: 30 } },
  });
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  const user = await auth.createUser({ email: 'coder@example.com', password: 'coder password 1', role: 'member' });
  userId = user.id;
  key = (await auth.createApiKey(user.id, 'coding tool')).key;
  client = new Anthropic({ baseURL: t.url, apiKey: key, maxRetries: 0 });
});
afterAll(() => t.close());
beforeEach(() => t.upstream.set({ mode: 'ok', tokens: 8, tokenDelayMs: 0, answer: undefined, content: undefined }));

type Recorded = { url: string; headers: Record<string, string | undefined>; body: Record<string, unknown> };
const upstreamRequests = () => t.upstream.requests as unknown as Recorded[];
const lastUpstream = () => upstreamRequests().at(-1) as Recorded;

/** A model that calls `get_weather` until it has a tool result, then answers with it (either wire format). */
const weatherAgent = (body: Record<string, unknown>) => {
  const messages = body.messages as Array<{ role: string; content?: unknown }>;
  const result = messages.find((m) => m.role === 'tool');
  if (result) return { content: `The weather is ${String(result.content)}.` };
  return { toolCalls: [{ name: 'get_weather', arguments: JSON.stringify({ city: 'Paris' }) }] };
};

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

const text = (message: Anthropic.Message) =>
  message.content
    .filter((b): b is Anthropic.TextBlock => b.type === 'text')
    .map((b) => b.text)
    .join('');

async function streamed(params: Anthropic.MessageStreamParams) {
  const stream = client.messages.stream(params);
  const events: string[] = [];
  let deltas = '';
  for await (const event of stream) {
    events.push(event.type);
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') deltas += event.delta.text;
  }
  return { events, deltas, final: await stream.finalMessage() };
}

const firstToolUse = (messages: Anthropic.MessageParam[]) =>
  (messages[1]?.content as Anthropic.ContentBlock[] | undefined)?.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');

/** Runs the agent loop a coding tool runs: call, run the tools it asks for, send the results back, until it answers. */
async function toolLoop(model: string, stream: boolean) {
  const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
  for (let turn = 0; turn < 4; turn++) {
    const params = { model, max_tokens: 256, tools: [weatherTool], messages };
    const reply = stream ? (await streamed(params)).final : await client.messages.create(params);
    if (reply.stop_reason !== 'tool_use') return { reply, messages };
    messages.push({ role: 'assistant', content: reply.content });
    messages.push({
      role: 'user',
      content: reply.content
        .filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')
        .map((b) => ({ type: 'tool_result' as const, tool_use_id: b.id, content: `sunny in ${(b.input as { city: string }).city}` })),
    });
  }
  throw new Error('the agent loop did not finish in 4 turns');
}

describe.each([
  { model: 'anthropic/sim-1', how: 'passed through', answer: 'tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7 ' },
  { model: 'sim/sim-1', how: 'translated from the OpenAI wire', answer: 'tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7 ' },
])('/v1/messages to $model ($how)', ({ model, answer }) => {
  it('answers a message without streaming', async () => {
    const message = await client.messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn', stop_sequence: null });
    expect(text(message)).toBe(answer);
    expect(message.usage.output_tokens).toBe(8);
    expect(message.usage.input_tokens).toBeGreaterThan(0);
  });

  it('streams with messages.stream, in the order of Anthropic events', async () => {
    const { events, deltas, final } = await streamed({ model, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    expect(deltas).toBe(answer);
    expect(text(final)).toBe(answer);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(8);
    const distinct = events.filter((e, i) => e !== events[i - 1] && e !== 'ping');
    expect(distinct).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
  });

  it('stops at max_tokens with stop_reason max_tokens', async () => {
    const message = await client.messages.create({ model, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] });
    expect(text(message)).toBe('tok0 tok1 tok2 ');
    expect(message.stop_reason).toBe('max_tokens');
  });

  it.each([false, true])('runs a tool-use loop to the final answer (stream: %s)', async (stream) => {
    t.upstream.set({ answer: weatherAgent });
    const { reply, messages } = await toolLoop(model, stream);
    expect(text(reply)).toBe('The weather is sunny in Paris.');
    expect(reply.stop_reason).toBe('end_turn');
    const call = firstToolUse(messages);
    expect(call).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } });
    expect(call?.id).toMatch(/\S/);
  });

  it('raises a bad key as AuthenticationError', async () => {
    const stranger = new Anthropic({ baseURL: t.url, apiKey: 'axn_not-a-real-key', maxRetries: 0 });
    const error = await stranger.messages.create({ model, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it("raises the upstream's 429 as RateLimitError with its Retry-After, sent once", async () => {
    t.upstream.set({ mode: 'fail-429' });
    const before = upstreamRequests().length;
    const error = await client.messages.create({ model, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect(error.headers.get('retry-after')).toBe('1');
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(upstreamRequests().length - before).toBe(1);
  });

  it('redacts personal data before the prompt leaves (guardrail on)', async () => {
    await client.messages.create({
      model,
      max_tokens: 8,
      system: 'The customer is dana.smith@example.com.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Write to dana.smith@example.com' }] }],
    });
    const sent = JSON.stringify(lastUpstream().body);
    expect(sent).not.toContain('dana.smith@example.com');
    expect(sent).toContain('<EMAIL_1>');
  });
});

describe('/v1/messages passed through to an Anthropic upstream', () => {
  it('forwards the body as sent (model id replaced) with the connection key and the caller’s Anthropic headers', async () => {
    const params = {
      model: 'anthropic/sim-1',
      max_tokens: 64,
      system: [{ type: 'text' as const, text: 'Be brief.', cache_control: { type: 'ephemeral' as const } }],
      messages: [{ role: 'user' as const, content: 'hi' }],
      temperature: 0.2,
      top_k: 5,
      stop_sequences: ['###'],
      metadata: { user_id: 'u-42' },
      thinking: { type: 'enabled' as const, budget_tokens: 1024 },
      ...({ future_field: { a: 1 } } as object),
    };
    const message = await client.messages.create(params, { headers: { 'anthropic-beta': 'some-beta-2099-01-01' } });
    const sent = lastUpstream();
    expect(sent.url).toBe('/v1/messages');
    expect(sent.body).toEqual({ ...params, model: 'sim-1' });
    expect(sent.headers['x-api-key']).toBe('sk-ant-test');
    expect(sent.headers['anthropic-beta']).toBe('some-beta-2099-01-01');
    expect(sent.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(JSON.stringify(sent.headers)).not.toContain(key);
    // The upstream's own message, as it sent it.
    expect(message.id).toMatch(/^msg_sim/);
    expect(message.model).toBe('sim-1');
  });

  it('streams the upstream’s events as sent', async () => {
    const response = await fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'anthropic/sim-1', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await response.text();
    expect(body).toContain('event: ping\n');
    expect(body).toMatch(/^event: message_start\ndata: \{"type":"message_start","message":\{"id":"msg_sim/);
    expect(body.trimEnd().endsWith('event: message_stop\ndata: {"type":"message_stop"}')).toBe(true);
  });

  it("raises the upstream's 400 as BadRequestError with Anthropic's message", async () => {
    t.upstream.set({ mode: 'fail-400' });
    const error = await client.messages
      .create({ model: 'anthropic/sim-1', max_tokens: 8, messages: [{ role: 'user', content: 'long' }] })
      .catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error.error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'prompt is too long: 9000 tokens > 8192 maximum' },
    });
  });
});

describe('/v1/messages translated for an OpenAI-wire upstream', () => {
  const chatBody = () => lastUpstream().body as { messages: Array<Record<string, unknown>>; [k: string]: unknown };

  it('sends system, sampling settings, tools and tool_choice as chat completions', async () => {
    t.upstream.set({ answer: weatherAgent });
    await client.messages.create({
      model: 'sim/sim-1',
      max_tokens: 100,
      system: 'Be brief.',
      // Sampling settings older models take (this SDK's types no longer list them).
      ...({ temperature: 0.3, top_p: 0.9 } as object),
      stop_sequences: ['END'],
      tools: [weatherTool],
      tool_choice: { type: 'any' },
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    expect(lastUpstream().url).toBe('/v1/chat/completions');
    expect(chatBody()).toMatchObject({
      model: 'sim-1',
      max_tokens: 100,
      temperature: 0.3,
      top_p: 0.9,
      stop: ['END'],
      tool_choice: 'required',
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: weatherTool.input_schema } }],
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Paris?' },
      ],
    });
  });

  it('sends tool_use and tool_result blocks as tool calls and tool messages with their ids', async () => {
    t.upstream.set({ answer: weatherAgent });
    const { messages } = await toolLoop('sim/sim-1', false);
    const call = firstToolUse(messages);
    const sent = chatBody().messages;
    expect(sent[1]).toMatchObject({
      role: 'assistant',
      tool_calls: [{ id: call?.id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    });
    expect(sent[2]).toEqual({ role: 'tool', tool_call_id: call?.id, content: 'sunny in Paris' });
  });

  it('sends base64 and url images as image parts', async () => {
    t.upstream.set({ answer: () => ({ content: 'two images' }) });
    const pixel = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    const message = await client.messages.create({
      model: 'sim/sim-1',
      max_tokens: 32,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: pixel } },
            { type: 'image', source: { type: 'url', url: 'https://images.example.com/cat.jpg' } },
            { type: 'text', text: 'What are these?' },
          ],
        },
      ],
    });
    expect(text(message)).toBe('two images');
    const parts = chatBody().messages[0]?.content as Array<{ type: string; image_url?: { url: string }; text?: string }>;
    expect(parts.map((p) => p.image_url?.url ?? p.text)).toEqual([
      `data:image/png;base64,${pixel}`,
      'https://images.example.com/cat.jpg',
      'What are these?',
    ]);
  });

  it.each([false, true])('ends at a stop sequence the model passes over (stream: %s)', async (stream) => {
    const params = { model: 'sim/sim-1', max_tokens: 64, stop_sequences: ['tok3'], messages: [{ role: 'user' as const, content: 'hi' }] };
    const message = stream ? (await streamed(params)).final : await client.messages.create(params);
    expect(text(message)).toBe('tok0 tok1 tok2 ');
    expect(message).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'tok3' });
  });

  it("raises the upstream's 400 as BadRequestError with the upstream's message", async () => {
    t.upstream.set({ mode: 'fail-400' });
    const error = await client.messages
      .create({ model: 'sim/sim-1', max_tokens: 8, messages: [{ role: 'user', content: 'long' }] })
      .catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error.error.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringMatching(/maximum context length/) });
  });

  it('ends the stream with an error event when the upstream fails after the start', async () => {
    t.upstream.set({ mode: 'drop', dropAfter: 3 });
    const stream = client.messages.stream({ model: 'sim/sim-1', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    const events: string[] = [];
    const failure = await (async () => {
      for await (const event of stream) events.push(event.type);
    })().catch((e) => e);
    expect(events[0]).toBe('message_start');
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    expect(String(failure.message)).toMatch(/model provider/);
  });
});

describe('/v1/messages translated for the local model', () => {
  const params = {
    model: 'local/extractive',
    max_tokens: 200,
    system: 'The Eiffel Tower is in Paris. It is 330 metres tall. It was finished in 1889.',
    messages: [{ role: 'user' as const, content: 'How tall is the Eiffel Tower?' }],
  };

  it('answers from the system text, the same with and without streaming', async () => {
    const message = await client.messages.create(params);
    expect(text(message)).toContain('330 metres');
    expect(message.stop_reason).toBe('end_turn');
    const { final, deltas } = await streamed(params);
    expect(deltas).toBe(text(message));
    expect(text(final)).toBe(text(message));
  });

  it.each([
    [{ tools: [weatherTool] }, 'tools'],
    [
      {
        messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://images.example.com/cat.jpg' } }] }],
      },
      'messages',
    ],
  ])('refuses what the model cannot do with a 400 naming it (%#)', async (extra, capability) => {
    const error = await client.messages.create({ ...params, ...extra } as Anthropic.MessageCreateParamsNonStreaming).catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error.error.error.type).toBe('invalid_request_error');
    expect(error.error.error.message).toContain(`(${capability})`);
  });

  it("raises Axon's own rate limit as RateLimitError with Retry-After", async () => {
    const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
    const limited = new Anthropic({
      baseURL: t.url,
      apiKey: (await auth.createApiKey(userId, 'one a minute', { rpm: 1 })).key,
      maxRetries: 0,
    });
    await limited.messages.create(params);
    const error = await limited.messages.create(params).catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect(Number(error.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(error.error.error.type).toBe('rate_limit_error');
  });
});

describe('/v1/messages requests', () => {
  it.each(['anthropic/sim-1', 'sim/sim-1'])(
    'taps usage and the answer of %s on the way, for the ledger and the prompt log',
    async (model) => {
      const { final } = await streamed({ model, max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: 'tap me' }] });
      const rows = (await t.server.app.usage.events({ from: '2000-01-01', to: '3000-01-01', orgId: null })).filter(
        (row) => row.route === '/v1/messages' && row.model === model,
      );
      // Anthropic counts cached input apart; the ledger counts all of it (the simulated upstream reads 2 from its cache).
      const cached = model.startsWith('anthropic/') ? 2 : 0;
      expect(rows.at(-1)).toMatchObject({ status: 'complete', outputTokens: 8, inputTokens: final.usage.input_tokens + cached });
      const logged = await t.server.promptLog.list({ orgId: 'org_default', limit: 50 });
      expect(logged.find((row) => row.model === model && row.prompt.includes('tap me'))).toMatchObject({
        route: '/v1/messages',
        prompt: 'system: Be brief.\nuser: tap me',
        response: 'tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7 ',
      });
    },
  );

  it('raises an unknown model as NotFoundError', async () => {
    const error = await client.messages
      .create({ model: 'nowhere/nothing', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it('takes the key as Authorization: Bearer too, and needs one', async () => {
    const bearer = new Anthropic({ baseURL: t.url, authToken: key, apiKey: null, maxRetries: 0 });
    const message = await bearer.messages.create({ model: 'sim/sim-1', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
    expect(text(message)).toBe('tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7 ');
    const anonymous = await fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim/sim-1', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('validates what Axon reads, in Anthropic’s error shape', async () => {
    const send = (body: unknown) =>
      fetch(`${t.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const missing = await send({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }] });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') },
    });
    const badRole = await send({ model: 'sim/sim-1', max_tokens: 8, messages: [{ role: 'system', content: 'hi' }] });
    expect(badRole.status).toBe(400);
    const serverTool = await send({
      model: 'sim/sim-1',
      max_tokens: 8,
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(serverTool.status).toBe(400);
    expect(((await serverTool.json()) as { error: { message: string } }).error.message).toMatch(/only on Anthropic models/);
  });

  it('applies a prompt template named in metadata or X-Axon-Prompt, its variables consumed', async () => {
    const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
    await auth.createUser({ email: 'builder@example.com', password: 'builder password 1', role: 'builder' });
    const builder = new WebClient(t.url);
    await builder.login('builder@example.com', 'builder password 1');
    const created = await builder.json('POST', '/api/prompts', {
      name: 'support',
      description: 'Support tone',
      system: 'You help customers of {{ company }}.',
      message: 'Customer question: {{ input }}',
      variables: [{ name: 'company', type: 'string' }],
    });
    expect(created.status).toBe(201);

    await client.messages.create({
      model: 'anthropic/sim-1',
      max_tokens: 8,
      system: 'Be brief.',
      metadata: { prompt: 'support', company: 'Acme', user_id: 'u-1' } as Anthropic.Metadata,
      messages: [{ role: 'user', content: 'Where is my order?' }],
    });
    expect(lastUpstream().body).toMatchObject({
      system: [
        { type: 'text', text: 'You help customers of Acme.' },
        { type: 'text', text: 'Be brief.' },
      ],
      messages: [{ role: 'user', content: 'Customer question: Where is my order?' }],
      metadata: { user_id: 'u-1' },
    });

    await client.messages.create(
      {
        model: 'sim/sim-1',
        max_tokens: 8,
        metadata: { company: 'Initech' } as Anthropic.Metadata,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }],
      },
      { headers: { 'x-axon-prompt': 'support' } },
    );
    expect((lastUpstream().body as { messages: unknown[] }).messages).toEqual([
      { role: 'system', content: 'You help customers of Initech.' },
      { role: 'user', content: 'Customer question: Hello' },
    ]);
  });
});
