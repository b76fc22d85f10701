import { type SimulatedUpstream, startSimulatedUpstream } from '@axon/bench/simulated-upstream';
import type { Collection } from '@axon/contracts';
import { Agent, Runner, tool } from '@openai/agents-core';
import { OpenAIResponsesModel } from '@openai/agents-openai';
import OpenAI from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAuthService } from '../auth/auth-service';
import { loadConfig } from '../config';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

// The official openai SDK (and the OpenAI Agents SDK) against Axon's /v1/responses: translated to
// chat completions for `sim`, forwarded as sent to `simr`, a connection marked as serving the
// Responses API. Both point at one simulated upstream that records what reaches it.
let upstream: SimulatedUpstream;
let t: TestServer;
let client: OpenAI;
let colleague: OpenAI;
let outsider: OpenAI;

beforeAll(async () => {
  upstream = await startSimulatedUpstream({ models: ['sim-1', 'sim-2'] });
  t = await startTestServer({
    overrides: {
      'localModel.wordDelayMs': 0,
      promptLog: { mode: 'full', retentionDays: 30 },
      connections: [
        { name: 'sim', baseURL: upstream.url },
        { name: 'simr', baseURL: upstream.url, responses: true },
      ],
    },
  });
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 1000 });
  const other = await t.server.store.organizations.create({ slug: 'other', name: 'Other', limits: {}, promptLogMode: null });
  const make = async (email: string, orgId?: string) => {
    const user = await auth.createUser({ email, password: 'a long password 1', role: 'member', ...(orgId ? { orgId } : {}) });
    return (await auth.createApiKey(user.id, 'sdk')).key;
  };
  client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: await make('agent@example.com'), maxRetries: 0 });
  colleague = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: await make('colleague@example.com'), maxRetries: 0 });
  outsider = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: await make('outsider@example.com', other.id), maxRetries: 0 });
});
afterAll(async () => {
  await t.close();
  await upstream.close();
});
beforeEach(() => upstream.set({ mode: 'ok', tokens: 8, tokenDelayMs: 0, answer: undefined }));

type Sent = Record<string, unknown>;
const sentTo = (path: string) => upstream.requests.filter((r) => r.url.endsWith(path)).map((r) => r.body as Sent);
const lastChat = () => sentTo('/chat/completions').at(-1) as Sent & { messages: Sent[] };
const lastResponses = () => sentTo('/responses').at(-1) as Sent;

/** A model that calls `get_weather` until it has the tool's result, then answers with it. */
const weatherAgent = (body: Record<string, unknown>) => {
  const messages = body.messages as Array<{ role: string; content?: unknown }>;
  const result = messages.find((m) => m.role === 'tool');
  if (result) return { content: `The weather is ${String(result.content)}.` };
  return { toolCalls: [{ name: 'get_weather', arguments: JSON.stringify({ city: 'Paris' }) }] };
};

const weatherTool: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
};

/** The function call of a response, as the tool loop needs it. */
function functionCall(response: OpenAI.Responses.Response) {
  const call = response.output.find((item) => item.type === 'function_call');
  if (call?.type !== 'function_call') throw new Error(`no function call in ${JSON.stringify(response.output)}`);
  return call;
}

describe('/v1/responses translated to chat completions (sim/sim-1)', () => {
  it('runs a tool loop without streaming, continuing through previous_response_id', async () => {
    upstream.set({ answer: weatherAgent });
    const first = await client.responses.create({ model: 'sim/sim-1', input: 'Weather in Paris?', tools: [weatherTool] });
    expect(first).toMatchObject({ object: 'response', status: 'completed', model: 'sim/sim-1', store: true });
    expect(first.id).toMatch(/^resp_/);
    const call = functionCall(first);
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' });
    expect(call.call_id).toBeTruthy();
    expect(first.usage).toMatchObject({
      input_tokens: expect.any(Number),
      output_tokens: expect.any(Number),
      input_tokens_details: { cached_tokens: 3 },
      output_tokens_details: { reasoning_tokens: 2 },
    });
    expect(first.usage?.total_tokens).toBe((first.usage?.input_tokens ?? 0) + (first.usage?.output_tokens ?? 0));
    // What chat completions received: the tool as a function tool, the input as a user message.
    expect(lastChat()).toMatchObject({
      model: 'sim-1',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: weatherTool.parameters } }],
    });

    const second = await client.responses.create({
      model: 'sim/sim-1',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21 °C' }],
      tools: [weatherTool],
    });
    expect(second.output_text).toBe('The weather is sunny, 21 °C.');
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    // The thread reached the upstream whole: question, the call with its id, its result.
    expect(lastChat().messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: call.call_id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', tool_call_id: call.call_id, content: 'sunny, 21 °C' },
    ]);

    const read = await client.responses.retrieve(second.id);
    expect(read.id).toBe(second.id);
    expect(read.output_text).toBe('The weather is sunny, 21 °C.');
  });

  it('streams the events in OpenAI order, then finishes the loop with responses.stream', async () => {
    upstream.set({ answer: weatherAgent });
    const stream = await client.responses.create({ model: 'sim/sim-1', input: 'Weather in Paris?', tools: [weatherTool], stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type).filter((type, i, all) => type !== all[i - 1]);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const args = events.flatMap((e) => (e.type === 'response.function_call_arguments.delta' ? [e.delta] : [])).join('');
    expect(args).toBe('{"city":"Paris"}');
    const completed = events.at(-1);
    if (completed?.type !== 'response.completed') throw new Error('the stream did not complete');
    const call = functionCall(completed.response);
    expect(completed.response.usage?.output_tokens).toBeGreaterThan(0);

    const follow = client.responses.stream({
      model: 'sim/sim-1',
      previous_response_id: completed.response.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'rainy' }],
      tools: [weatherTool],
    });
    const seen: string[] = [];
    follow.on('response.output_text.delta', (event) => seen.push(event.delta));
    const final = await follow.finalResponse();
    expect(final.output_text).toBe('The weather is rainy.');
    expect(seen.join('')).toBe('The weather is rainy.');
    expect(final.output.map((item) => item.type)).toEqual(['message']);
  });

  it('gives structured outputs for text.format json_schema (responses.parse)', async () => {
    upstream.set({ answer: () => ({ content: JSON.stringify({ city: 'Paris', celsius: 21 }) }) });
    const Weather = z.object({ city: z.string(), celsius: z.number() });
    const parsed = await client.responses.parse({
      model: 'sim/sim-1',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris as JSON' }] }],
      instructions: 'Answer in JSON.',
      text: { format: zodTextFormat(Weather, 'weather') },
      max_output_tokens: 100,
      temperature: 0.2,
    });
    expect(parsed.output_parsed).toEqual({ city: 'Paris', celsius: 21 });
    expect(lastChat()).toMatchObject({
      messages: [
        { role: 'system', content: 'Answer in JSON.' },
        { role: 'user', content: 'Weather in Paris as JSON' },
      ],
      response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: expect.objectContaining({ type: 'object' }) } },
      max_tokens: 100,
      temperature: 0.2,
    });
  });

  it('ends a stream the upstream cuts with response.failed', async () => {
    upstream.set({ mode: 'drop', dropAfter: 3 });
    const stream = await client.responses.create({ model: 'sim/sim-1', input: 'hi', stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const last = events.at(-1);
    expect(last?.type).toBe('response.failed');
    if (last?.type !== 'response.failed') return;
    expect(last.response.status).toBe('failed');
    expect(last.response.error?.message).toBeTruthy();
    // What arrived before the cut was streamed as it came.
    expect(events.some((e) => e.type === 'response.output_text.delta')).toBe(true);
  });

  it('does not keep a response made with store: false', async () => {
    const kept = await client.responses.create({ model: 'sim/sim-1', input: 'hi', store: false });
    expect(kept).toMatchObject({ store: false, status: 'completed' });
    const before = upstream.requests.length;
    await expect(client.responses.create({ model: 'sim/sim-1', previous_response_id: kept.id, input: 'again' })).rejects.toMatchObject({
      status: 404,
    });
    await expect(client.responses.retrieve(kept.id)).rejects.toMatchObject({ status: 404 });
    expect(upstream.requests.length).toBe(before);
  });
});

describe('/v1/responses forwarded to an upstream that serves it (simr/sim-1)', () => {
  it('sends the body as sent and relays the answer as sent, through a tool loop', async () => {
    upstream.set({ answer: weatherAgent });
    const params = {
      model: 'simr/sim-1',
      input: 'Weather in Paris?',
      tools: [weatherTool],
      tool_choice: 'auto' as const,
      parallel_tool_calls: false,
      reasoning: { effort: 'low' as const },
      include: ['message.output_text.logprobs' as const],
      prompt_cache_key: 'weather',
      safety_identifier: 'user-42',
      truncation: 'auto' as const,
      metadata: { trace: 'abc' },
    };
    const first = await client.responses.create(params);
    expect(lastResponses()).toEqual({ ...params, model: 'sim-1' });
    // The upstream's own ids and model name come back unchanged.
    expect(first.id).toMatch(/^resp_sim/);
    expect(first.model).toBe('sim-1');
    const call = functionCall(first);
    expect(call.call_id).toMatch(/^call_sim/);

    const second = await client.responses.create({
      model: 'simr/sim-1',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny' }],
      tools: [weatherTool],
    });
    expect(second.output_text).toBe('The weather is sunny.');
    // The upstream keeps the thread: Axon forwards previous_response_id as sent.
    expect(lastResponses()).toMatchObject({ model: 'sim-1', previous_response_id: first.id });
    expect(second.usage).toMatchObject({ input_tokens_details: { cached_tokens: 3 }, output_tokens_details: { reasoning_tokens: 2 } });
  });

  it('relays the upstream event stream as sent', async () => {
    upstream.set({ answer: () => ({ content: 'Bonjour tout le monde' }) });
    const stream = await client.responses.create({ model: 'simr/sim-2', input: 'hi', stream: true, instructions: 'be brief' });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(lastResponses()).toEqual({ model: 'sim-2', input: 'hi', stream: true, instructions: 'be brief' });
    expect(events[0]?.type).toBe('response.created');
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const text = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('');
    expect(text).toBe('Bonjour tout le monde');
    const last = events.at(-1);
    expect(last?.type).toBe('response.completed');
    if (last?.type !== 'response.completed') return;
    expect(last.response.usage?.output_tokens).toBe(4);

    // Tapped on the way: usage from response.completed, the text for the prompt log.
    const usage = (await t.server.app.usage.events({ from: '2000-01-01', to: '3000-01-01', orgId: null })).filter(
      (row) => row.route === '/v1/responses' && row.model === 'simr/sim-2',
    );
    expect(usage.at(-1)).toMatchObject({ status: 'complete', outputTokens: 4, inputTokens: last.response.usage?.input_tokens });
    const logged = await t.server.promptLog.list({ orgId: 'org_default', limit: 20 });
    expect(logged.find((row) => row.model === 'simr/sim-2')).toMatchObject({
      route: '/v1/responses',
      prompt: 'instructions: be brief\nuser: hi',
      response: 'Bonjour tout le monde',
    });

    // The streamed response's id was recorded as the caller's: it can be continued.
    const next = await client.responses.create({ model: 'simr/sim-2', previous_response_id: last.response.id, input: 'more' });
    expect(next.output_text).toBe('Bonjour tout le monde');
  });

  it('answers an upstream refusal with its status and message', async () => {
    upstream.set({ mode: 'fail-400' });
    const error = await client.responses.create({ model: 'simr/sim-1', input: 'hi' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, code: 'context_length_exceeded' });
  });
});

describe('previous_response_id belongs to its user and organisation', () => {
  it('answers 404 for another user’s or another organisation’s response, before anything goes upstream', async () => {
    const translated = await client.responses.create({ model: 'sim/sim-1', input: 'secret plans' });
    const relayed = await client.responses.create({ model: 'simr/sim-1', input: 'secret plans' });
    const before = upstream.requests.length;
    for (const stranger of [colleague, outsider]) {
      for (const [model, id] of [
        ['sim/sim-1', translated.id],
        ['simr/sim-1', relayed.id],
        ['simr/sim-1', 'resp_sim999999'],
      ] as const) {
        const error = await stranger.responses.create({ model, previous_response_id: id, input: 'tell me' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OpenAI.NotFoundError);
        expect(error).toMatchObject({ status: 404, param: 'previous_response_id' });
      }
      await expect(stranger.responses.retrieve(translated.id)).rejects.toMatchObject({ status: 404 });
    }
    expect(upstream.requests.length).toBe(before);
    // The owner still can.
    const mine = await client.responses.create({ model: 'sim/sim-1', previous_response_id: translated.id, input: 'go on' });
    expect(mine.status).toBe('completed');
  });

  it('continues a translated thread on an upstream that serves responses by sending its items', async () => {
    upstream.set({ answer: weatherAgent });
    const first = await client.responses.create({ model: 'sim/sim-1', input: 'Weather in Paris?', tools: [weatherTool] });
    const call = functionCall(first);
    const second = await client.responses.create({
      model: 'simr/sim-1',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'windy' }],
    });
    expect(second.output_text).toBe('The weather is windy.');
    const sent = lastResponses();
    expect(sent.previous_response_id).toBeUndefined();
    expect(sent.input).toEqual([
      { type: 'message', role: 'user', content: 'Weather in Paris?' },
      expect.objectContaining({ type: 'function_call', call_id: call.call_id, name: 'get_weather' }),
      { type: 'function_call_output', call_id: call.call_id, output: 'windy' },
    ]);
  });
});

describe('capabilities and what Axon refuses', () => {
  it('refuses tools for local/extractive with a 400 naming tools', async () => {
    const error = await client.responses.create({ model: 'local/extractive', input: 'hi', tools: [weatherTool] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, param: 'tools' });
    expect((error as Error).message).toMatch(/cannot call tools/);
  });

  it('answers local/extractive without tools, translated', async () => {
    const response = await client.responses.create({ model: 'local/extractive', input: 'hi' });
    expect(response).toMatchObject({ object: 'response', status: 'completed', model: 'local/extractive' });
  });

  it('refuses item references and conversations, which could name other users’ upstream state', async () => {
    const reference = await client.responses
      .create({ model: 'simr/sim-1', input: [{ type: 'item_reference', id: 'msg_someone' }] })
      .catch((e: unknown) => e);
    expect(reference).toMatchObject({ status: 400, param: 'input.0' });
    const conversation = await client.responses
      .create({ model: 'simr/sim-1', input: 'hi', conversation: 'conv_x' })
      .catch((e: unknown) => e);
    expect(conversation).toMatchObject({ status: 400, param: 'conversation' });
  });

  it('marks an OpenAI-compatible server as serving the Responses API through OPENAI_RESPONSES', () => {
    const config = loadConfig({ env: { OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1', OPENAI_RESPONSES: 'true' }, cwd: t.dataDir });
    expect(config.openai?.responses).toBe(true);
    expect(loadConfig({ env: { OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1' }, cwd: t.dataDir }).openai?.responses).toBeUndefined();
  });
});

describe('the OpenAI Agents SDK', () => {
  it('runs an agent with one tool through Axon, translated and forwarded', async () => {
    upstream.set({ answer: weatherAgent });
    const calls: string[] = [];
    const getWeather = tool({
      name: 'get_weather',
      description: 'Weather in a city',
      parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        calls.push(city);
        return `foggy in ${city}`;
      },
    });
    const runner = new Runner({ tracingDisabled: true });
    for (const model of ['sim/sim-1', 'simr/sim-1']) {
      const agent = new Agent({
        name: 'Weather',
        instructions: 'Use the tool.',
        model: new OpenAIResponsesModel(client, model),
        tools: [getWeather],
      });
      const result = await runner.run(agent, 'Weather in Paris?');
      expect(result.finalOutput).toBe('The weather is foggy in Paris.');
    }
    expect(calls).toEqual(['Paris', 'Paris']);
    // The forwarded run went to the upstream's /responses with the tool's output as an item.
    expect(lastResponses()).toMatchObject({
      model: 'sim-1',
      instructions: 'Use the tool.',
      input: expect.arrayContaining([expect.objectContaining({ type: 'function_call_output', output: 'foggy in Paris' })]),
    });
  });
});

describe('Axon’s edits on /v1/responses: passages from collections, the redaction guardrail', () => {
  let g: TestServer;
  let sim: SimulatedUpstream;
  let owner: OpenAI;
  let other: OpenAI;
  let collectionId: string;

  beforeAll(async () => {
    sim = await startSimulatedUpstream({ models: ['sim-1'] });
    g = await startTestServer({
      overrides: {
        redaction: { guardrail: true, patterns: [] },
        connections: [
          { name: 'sim', baseURL: sim.url },
          { name: 'simr', baseURL: sim.url, responses: true },
        ],
      },
    });
    const web = new WebClient(g.url);
    await web.setup('owner@example.com', 'owner password 1');
    collectionId = (await web.json<Collection>('POST', '/api/collections', { name: 'Handbook' })).body.id;
    const form = new FormData();
    form.append('file', new Blob(['# Leave\n\nStaff get thirty days of paid leave each year.'], { type: 'text/markdown' }), 'leave.md');
    const uploaded = await fetch(`${g.url}/api/collections/${collectionId}/documents`, {
      method: 'POST',
      headers: { cookie: web.cookie, 'x-csrf-token': web.csrfToken ?? '' },
      body: form,
    });
    expect(uploaded.status).toBe(202);
    await g.server.ingestion.idle();
    const key = (await web.json<{ key: string }>('POST', '/api/keys', { name: 'sdk', scopes: ['chat'] })).body.key;
    owner = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: key, maxRetries: 0 });
    const auth = createAuthService({ store: g.server.store, sessionTtlMs: 1000 });
    const user = await auth.createUser({ email: 'nosy@example.com', password: 'a long password 1', role: 'member' });
    other = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: (await auth.createApiKey(user.id, 'sdk')).key, maxRetries: 0 });
  });
  afterAll(async () => {
    await g.close();
    await sim.close();
  });

  const question = 'How many days of paid leave do staff get? Write to dana.smith@example.com';

  it('grounds a translated response in the passages and redacts what leaves', async () => {
    sim.set({ answer: () => ({ content: 'Thirty days [1].' }) });
    const response = await owner.responses.create({
      model: 'sim/sim-1',
      input: question,
      instructions: 'Be brief.',
      collections: [collectionId],
    } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    expect(response.output_text).toBe('Thirty days [1].');
    expect((response as unknown as { citations: Array<{ text: string }> }).citations[0]?.text).toContain('thirty days of paid leave');
    const sent = sim.requests.at(-1)?.body as { messages: Array<{ role: string; content: string }> };
    expect(sent.messages[0]?.role).toBe('system');
    expect(sent.messages[0]?.content).toContain('thirty days of paid leave');
    expect(sent.messages[1]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(sent.messages[2]?.content).not.toContain('dana.smith@example.com');
    expect(sent.messages[2]?.content).toContain('How many days of paid leave');
  });

  it('puts the passages before the instructions and redacts the input of a forwarded request', async () => {
    await owner.responses.create({
      model: 'simr/sim-1',
      input: question,
      instructions: 'Be brief.',
      collections: [collectionId],
    } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    const sent = sim.requests.at(-1)?.body as { instructions: string; input: Array<{ content: string }>; collections?: unknown };
    expect(sent.collections).toBeUndefined();
    expect(sent.instructions).toContain('thirty days of paid leave');
    expect(sent.instructions.endsWith('\n\nBe brief.')).toBe(true);
    expect(sent.input[0]?.content).not.toContain('dana.smith@example.com');
  });

  it('answers 404 for a collection the caller may not read', async () => {
    const before = sim.requests.length;
    const error = await other.responses
      .create({ model: 'sim/sim-1', input: 'hi', collections: [collectionId] } as OpenAI.Responses.ResponseCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 404 });
    expect(sim.requests.length).toBe(before);
  });
});
