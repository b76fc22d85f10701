import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { messagesAsChatRequest } from '@axon/bench/simulated-messages-api';
import { ChatOpenAI } from '@langchain/openai';
import { generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAuthService } from '../auth/auth-service';
import { startTestServer, type TestServer } from '../testing/test-server';

// Real clients (the openai SDK, the AI SDK, LangChain) against Axon's /v1, relaying to the simulated
// upstream that records what reaches it and answers in OpenAI's exact wire format (and, for the
// AI SDK and LangChain, in Anthropic's too).
let t: TestServer;
let key: string;
let client: OpenAI;

beforeAll(async () => {
  // The default model is the second one the upstream lists, so that falling back to the first shows.
  // Anthropic's Messages API on the same simulated upstream, for the clients run over both wire formats.
  t = await startTestServer({
    overrides: { 'localModel.wordDelayMs': 0, defaultModel: 'sim/sim-2' },
    env: { ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_MODELS: 'sim-1' },
    upstreamEnv: (url) => ({ ANTHROPIC_BASE_URL: url }),
  });
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 1000 });
  const user = await auth.createUser({ email: 'agent@example.com', password: 'agent password 1', role: 'member' });
  key = (await auth.createApiKey(user.id, 'agents')).key;
  client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key, maxRetries: 0 });
});
afterAll(() => t.close());
beforeEach(() => t.upstream.set({ mode: 'ok', tokens: 8, tokenDelayMs: 0, answer: undefined }));

type Sent = Record<string, unknown> & { messages: Array<Record<string, unknown>> };
const chatRequests = () => t.upstream.requests.filter((r) => r.url.endsWith('/chat/completions')).map((r) => r.body as Sent);
const lastSent = () => chatRequests().at(-1) as Sent;

/**
 * A model that calls `get_weather` until it has a tool result, then answers with it; offered no
 * such tool (a gateway that dropped `tools`), it says so, and no agent loop gets its answer.
 */
const weatherAgent = (body: Record<string, unknown>) => {
  const messages = body.messages as Array<{ role: string; content?: unknown }>;
  const result = messages.find((m) => m.role === 'tool');
  if (result) return { content: `The weather is ${String(result.content)}.` };
  const tools = (body.tools ?? []) as Array<{ function?: { name?: string } }>;
  if (!tools.some((t) => t.function?.name === 'get_weather')) return { content: 'I have no way to check the weather.' };
  return { toolCalls: [{ name: 'get_weather', arguments: JSON.stringify({ city: 'Paris' }) }] };
};

/**
 * A model that answers in JSON only when asked for it by a JSON schema, plain text otherwise: as
 * `response_format`, or as a tool it is made to call (which the simulated Anthropic model answers
 * by calling it with its text).
 */
const jsonWhenAsked = (json: Record<string, unknown>) => (body: Record<string, unknown>) => {
  const format = body.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined;
  // Made to call a tool: one named, or the only one offered with a call required.
  const choice = body.tool_choice as { type?: string } | string | undefined;
  const forced =
    (typeof choice === 'object' && choice.type === 'function') ||
    (choice === 'required' && (body.tools as unknown[] | undefined)?.length === 1);
  return (format?.type === 'json_schema' && format.json_schema?.schema) || forced
    ? { content: JSON.stringify(json) }
    : { content: 'Here is the weather.' };
};

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  },
};

describe('the openai SDK', () => {
  it('gets tool calls without streaming, and the history with them reaches the upstream unchanged', async () => {
    t.upstream.set({ answer: weatherAgent });
    const first = await client.chat.completions.create({
      model: 'sim/sim-1',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [weatherTool],
      tool_choice: 'auto',
      parallel_tool_calls: false,
    });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    expect(lastSent()).toMatchObject({ tools: [weatherTool], tool_choice: 'auto', parallel_tool_calls: false });
    const history = [
      { role: 'user' as const, content: 'Weather in Paris?' },
      first.choices[0]?.message as OpenAI.ChatCompletionMessageParam,
      { role: 'tool' as const, tool_call_id: call?.id ?? '', content: 'sunny, 21 °C' },
    ];
    const second = await client.chat.completions.create({ model: 'sim/sim-1', messages: history, tools: [weatherTool] });
    expect(second.choices[0]?.message.content).toBe('The weather is sunny, 21 °C.');
    const sent = lastSent().messages;
    expect(sent[1]).toMatchObject({ role: 'assistant', tool_calls: [{ id: call?.id, function: { name: 'get_weather' } }] });
    expect(sent[2]).toEqual({ role: 'tool', tool_call_id: call?.id, content: 'sunny, 21 °C' });
  });

  it('streams tool-call deltas as the upstream sent them', async () => {
    t.upstream.set({ answer: weatherAgent });
    const stream = await client.chat.completions.create({
      model: 'sim/sim-1',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [weatherTool],
      stream: true,
    });
    let args = '';
    let name = '';
    let finish: string | null | undefined;
    let deltas = 0;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        deltas++;
        name += call.function?.name ?? '';
        args += call.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect({ name, args, finish }).toEqual({ name: 'get_weather', args: '{"city":"Paris"}', finish: 'tool_calls' });
    expect(deltas).toBeGreaterThan(2);
  });

  it('runs an agent loop with runTools to completion', async () => {
    t.upstream.set({ answer: weatherAgent });
    const runner = client.chat.completions.runTools({
      model: 'sim/sim-1',
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
  });

  it('parses structured outputs with a zod schema (response_format json_schema passed through)', async () => {
    t.upstream.set({ answer: jsonWhenAsked({ city: 'Paris', celsius: 21 }) });
    const Weather = z.object({ city: z.string(), celsius: z.number() });
    const completion = await client.chat.completions.parse({
      model: 'sim/sim-1',
      messages: [{ role: 'user', content: 'Weather in Paris as JSON' }],
      response_format: zodResponseFormat(Weather, 'weather'),
    });
    expect(completion.choices[0]?.message.parsed).toEqual({ city: 'Paris', celsius: 21 });
    expect(lastSent().response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'weather', strict: true } });
  });

  it('passes images, n, logprobs and current fields through, and brings every choice, logprobs and usage details back', async () => {
    t.upstream.set({ answer: () => ({ content: 'a red square' }) });
    const image = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    const completion = await client.chat.completions.create({
      model: 'sim/sim-1',
      messages: [
        {
          role: 'user',
          name: 'dana',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: image, detail: 'low' } },
          ],
        },
      ],
      n: 2,
      logprobs: true,
      top_logprobs: 2,
      max_completion_tokens: 50,
      user: 'user-123',
      reasoning_effort: 'low',
      logit_bias: { '50256': -100 },
      service_tier: 'auto',
      store: false,
      prompt_cache_key: 'k1',
      safety_identifier: 'hash-1',
      verbosity: 'low',
      modalities: ['text'],
      prediction: { type: 'content', content: 'a red' },
    });
    expect(completion.choices).toHaveLength(2);
    expect(completion.choices[1]?.logprobs?.content?.[0]).toMatchObject({ token: 'a ', logprob: -0.5 });
    expect(completion.usage?.prompt_tokens_details?.cached_tokens).toBe(3);
    expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(2);
    const sent = lastSent();
    expect(sent).toMatchObject({
      model: 'sim-1',
      n: 2,
      logprobs: true,
      top_logprobs: 2,
      max_completion_tokens: 50,
      user: 'user-123',
      reasoning_effort: 'low',
      logit_bias: { '50256': -100 },
      service_tier: 'auto',
      store: false,
      prompt_cache_key: 'k1',
      safety_identifier: 'hash-1',
      verbosity: 'low',
      modalities: ['text'],
      prediction: { type: 'content', content: 'a red' },
    });
    expect(sent).not.toHaveProperty('max_tokens');
    expect(sent.messages[0]).toEqual({
      role: 'user',
      name: 'dana',
      content: [
        { type: 'text', text: 'What is this?' },
        { type: 'image_url', image_url: { url: image, detail: 'low' } },
      ],
    });
  });

  it('forwards a field nobody knows yet, and only asks for usage in the stream when the caller did not', async () => {
    const stream = await client.chat.completions.create({
      model: 'sim/sim-1',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      ...({ future_field: { a: 1 } } as object),
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(lastSent()).toMatchObject({ future_field: { a: 1 }, stream: true, stream_options: { include_usage: true } });
    // Axon asked for usage (for its ledger); the caller did not, so the usage chunk is not passed on.
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7 ');
  });

  it("raises the upstream's 400 as the SDK's BadRequestError, without retrying", async () => {
    t.upstream.set({ mode: 'fail-400' });
    const retrying = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key, maxRetries: 3 });
    const before = chatRequests().length;
    const error = (await retrying.chat.completions
      .create({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'long' }] })
      .catch((e) => e)) as InstanceType<typeof OpenAI.BadRequestError>;
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.code).toBe('context_length_exceeded');
    expect(error.message).toMatch(/maximum context length is 8192 tokens/);
    expect(chatRequests().length - before).toBe(1);
  });

  it("raises the upstream's 404 for a model it does not serve as NotFoundError, with the upstream's message and code", async () => {
    // A model the configuration names (OPENAI_MODELS) but the server at OPENAI_BASE_URL does not have.
    const other = await startTestServer({ env: { OPENAI_MODELS: 'ghost-1' }, upstreamEnv: (url) => ({ OPENAI_BASE_URL: url }) });
    try {
      const auth = createAuthService({ store: other.server.store, sessionTtlMs: 1000 });
      const user = await auth.createUser({ email: 'ghost@example.com', password: 'ghost password 1', role: 'member' });
      const ghostClient = new OpenAI({ baseURL: `${other.url}/v1`, apiKey: (await auth.createApiKey(user.id, 'g')).key, maxRetries: 3 });
      const error = (await ghostClient.chat.completions
        .create({ model: 'openai/ghost-1', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e) => e)) as InstanceType<typeof OpenAI.NotFoundError>;
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error.code).toBe('model_not_found');
      expect(error.message).toContain('The model `ghost-1` does not exist');
      expect(other.upstream.requests.filter((r) => r.url.endsWith('/chat/completions'))).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('names the capability a model lacks instead of dropping it', async () => {
    const cases: Array<[Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>, string]> = [
      [{ tools: [weatherTool] }, 'tools'],
      [{ response_format: { type: 'json_object' } }, 'response_format'],
      [{ n: 2 }, 'n'],
    ];
    for (const [extra, param] of cases) {
      const error = (await client.chat.completions
        .create({ model: 'local/extractive', messages: [{ role: 'user', content: 'hi' }], ...extra })
        .catch((e) => e)) as InstanceType<typeof OpenAI.BadRequestError>;
      expect(error, param).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error.message).toContain(`(${param})`);
    }
  });

  it('uses the default model when the request names none', async () => {
    const response = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    // The answer names the upstream's id, as for a request that names the model.
    expect(((await response.json()) as { model: string }).model).toBe('sim-2');
    expect(lastSent().model).toBe('sim-2');
  });

  it('lists what each model can do', async () => {
    const list = (await client.models.list()).data as Array<OpenAI.Model & { capabilities?: Record<string, unknown> }>;
    expect(list.find((m) => m.id === 'local/extractive')?.capabilities).toMatchObject({
      tools: false,
      vision: false,
      structuredOutputs: false,
    });
    expect(list.find((m) => m.id === 'sim/sim-1')?.capabilities).toMatchObject({ tools: true });
  });
});

/** What the model of the last call on `wire` was asked, as a chat request (an Anthropic request read as the one it stands for). */
const seenOn = (wire: 'openai' | 'anthropic', back = 1): Sent => {
  const path = wire === 'openai' ? '/chat/completions' : '/messages';
  const raw = t.upstream.requests.filter((r) => r.url.split('?')[0]?.endsWith(path)).at(-back)?.body as Record<string, unknown>;
  return (wire === 'openai' ? raw : messagesAsChatRequest(raw)) as Sent;
};

/** The JSON schema the last call on `wire` asked the model to answer in: as `response_format`, or as the one tool it was made to call. */
const askedSchema = (wire: 'openai' | 'anthropic'): unknown => {
  const seen = seenOn(wire) as Sent & {
    response_format?: { json_schema?: { schema?: unknown } };
    tool_choice?: { function?: { name?: string } } | string;
    tools?: Array<{ function: { name: string; parameters?: unknown } }>;
  };
  if (seen.response_format?.json_schema?.schema) return seen.response_format.json_schema.schema;
  // The tool named, or the only one offered with a call required (the AI SDK's `json` tool for Anthropic).
  const only = seen.tool_choice === 'required' && seen.tools?.length === 1 ? seen.tools[0]?.function.name : undefined;
  const forced = (typeof seen.tool_choice === 'object' ? seen.tool_choice.function?.name : undefined) ?? only;
  return seen.tools?.find((t) => t.function.name === forced)?.function.parameters;
};

const WIRES = [
  { model: 'sim/sim-1', wire: 'openai' as const },
  { model: 'anthropic/sim-1', wire: 'anthropic' as const },
];

// The same client code against an OpenAI-wire upstream (relayed as sent) and an Anthropic one
// (translated both ways): agent loops and structured outputs work through either.
describe.each(WIRES)('the AI SDK, to $model ($wire wire)', ({ model, wire }) => {
  const provider = () => createOpenAICompatible({ name: 'axon', baseURL: `${t.url}/v1`, apiKey: key, supportsStructuredOutputs: true });

  it('runs generateText with tools and stopWhen to the final answer', async () => {
    t.upstream.set({ answer: weatherAgent });
    const result = await generateText({
      model: provider().chatModel(model),
      prompt: 'Weather in Paris?',
      tools: {
        get_weather: tool({
          description: 'Weather in a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => `rainy in ${city}`,
        }),
      },
      stopWhen: stepCountIs(4),
    });
    expect(result.text).toBe('The weather is rainy in Paris.');
    expect(result.steps.length).toBe(2);
    // The second step's history holds the call and its result, with their roles and ids.
    const first = seenOn(wire, 2);
    const second = seenOn(wire);
    expect((first.tools as Array<{ function: { name: string } }>).map((t) => t.function.name)).toEqual(['get_weather']);
    const call = second.messages.find((m) => m.role === 'assistant') as { tool_calls: Array<{ id: string; function: { name: string } }> };
    expect(call.tool_calls[0]?.function.name).toBe('get_weather');
    expect(second.messages.find((m) => m.role === 'tool')).toMatchObject({ tool_call_id: call.tool_calls[0]?.id });
  });

  it('generates an object with a schema', async () => {
    t.upstream.set({ answer: jsonWhenAsked({ city: 'Lyon', celsius: 18 }) });
    const { object } = await generateObject({
      model: provider().chatModel(model),
      schema: z.object({ city: z.string(), celsius: z.number() }),
      prompt: 'Weather in Lyon',
    });
    expect(object).toEqual({ city: 'Lyon', celsius: 18 });
    expect(askedSchema(wire)).toMatchObject({ properties: { city: { type: 'string' }, celsius: { type: 'number' } } });
  });

  it('streams text', async () => {
    const result = streamText({ model: provider().chatModel(model), prompt: 'hi' });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7 ');
  });
});

describe.each(WIRES)('LangChain, to $model ($wire wire)', ({ model, wire }) => {
  const chat = () => new ChatOpenAI({ model, apiKey: key, configuration: { baseURL: `${t.url}/v1` }, maxRetries: 0 });

  it('binds tools and gets tool calls back', async () => {
    t.upstream.set({ answer: weatherAgent });
    const message = await chat().bindTools([weatherTool]).invoke('Weather in Paris?');
    expect(message.tool_calls?.[0]).toMatchObject({ name: 'get_weather', args: { city: 'Paris' } });
    expect((seenOn(wire).tools as Array<{ function: { name: string } }>).map((t) => t.function.name)).toEqual(['get_weather']);
  });

  it('gives structured output', async () => {
    t.upstream.set({ answer: jsonWhenAsked({ city: 'Nice', celsius: 25 }) });
    const structured = chat().withStructuredOutput(z.object({ city: z.string(), celsius: z.number() }), { name: 'weather' });
    expect(await structured.invoke('Weather in Nice')).toEqual({ city: 'Nice', celsius: 25 });
    expect(askedSchema(wire)).toMatchObject({ properties: { city: { type: 'string' }, celsius: { type: 'number' } } });
  });
});
