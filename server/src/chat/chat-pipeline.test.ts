import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModelV3, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { type SimulatedUpstream, startSimulatedUpstream, tokenText } from '@axon/bench/simulated-upstream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAIChatModel } from '../providers/openai-chat-model';
import { runChatTurn } from './chat-pipeline';

const prompt = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }];

/** A model that replays scripted stream parts and records its calls. */
function scriptedModel(parts: LanguageModelV3StreamPart[], opts: { throwOnStart?: unknown } = {}) {
  const calls: unknown[] = [];
  const model: LanguageModelV3 = {
    specificationVersion: 'v3',
    provider: 'scripted',
    modelId: 'scripted',
    supportedUrls: {},
    doGenerate: async () => {
      throw new Error('not used');
    },
    doStream: async (options) => {
      calls.push(options);
      if (opts.throwOnStart) throw opts.throwOnStart;
      return {
        stream: new ReadableStream({
          start(controller) {
            for (const part of parts) controller.enqueue(part);
            controller.close();
          },
        }),
      };
    },
  };
  return { model, calls };
}

const finish: LanguageModelV3StreamPart = {
  type: 'finish',
  finishReason: { unified: 'stop', raw: 'stop' },
  usage: {
    inputTokens: { total: 3, noCache: 3, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: 2, text: 2, reasoning: undefined },
  },
};

describe('runChatTurn with a scripted model', () => {
  it('collects text, usage, finish reason and time to first token', async () => {
    const { model, calls } = scriptedModel([
      { type: 'stream-start', warnings: [] },
      { type: 'text-delta', id: '0', delta: 'Hello ' },
      { type: 'text-delta', id: '0', delta: 'world' },
      finish,
    ]);
    const deltas: string[] = [];
    const result = await runChatTurn({
      model,
      prompt,
      settings: { temperature: 0.2, maxOutputTokens: 9 },
      signal: new AbortController().signal,
      onTextDelta: (d) => deltas.push(d),
    });
    expect(result).toMatchObject({
      text: 'Hello world',
      status: 'complete',
      finishReason: 'stop',
      usage: { inputTokens: 3, outputTokens: 2 },
    });
    expect(deltas).toEqual(['Hello ', 'world']);
    expect(result.timing.ttftMs).toBeGreaterThanOrEqual(0);
    expect(calls[0]).toMatchObject({ temperature: 0.2, maxOutputTokens: 9 });
  });

  it('keeps the partial text and reports error when the stream carries an error part', async () => {
    const { model } = scriptedModel([
      { type: 'text-delta', id: '0', delta: 'part' },
      { type: 'error', error: Object.assign(new Error('boom'), { statusCode: 500 }) },
    ]);
    const result = await runChatTurn({ model, prompt, signal: new AbortController().signal });
    expect(result).toMatchObject({ text: 'part', status: 'error', failure: { kind: 'upstream', upstreamStatus: 500 } });
    expect(result.error?.code).toBe('upstream_error');
  });

  it('reports a stream that ends without a finish as an error, keeping the text', async () => {
    const { model } = scriptedModel([{ type: 'text-delta', id: '0', delta: 'cut' }]);
    const result = await runChatTurn({ model, prompt, signal: new AbortController().signal });
    expect(result).toMatchObject({ text: 'cut', status: 'error' });
  });

  it('classifies a failure before the stream starts', async () => {
    const { model } = scriptedModel([], { throwOnStart: Object.assign(new Error('limited'), { statusCode: 429, responseBody: '{}' }) });
    const result = await runChatTurn({ model, prompt, signal: new AbortController().signal });
    expect(result).toMatchObject({ text: '', status: 'error', failure: { kind: 'rate', retryable: true } });
    expect(result.error?.status).toBe(429);
  });
});

// The language-model seam's contract, for both clients of OpenAI-compatible upstreams.
const CLIENTS: Array<[string, (baseURL: string) => LanguageModelV3]> = [
  [
    'the AI SDK openai-compatible provider',
    (baseURL) => createOpenAICompatible({ name: 'sim', baseURL, includeUsage: true }).chatModel('sim-1'),
  ],
  ["Axon's lean OpenAI wire client", (baseURL) => createOpenAIChatModel({ provider: 'sim', baseURL }, 'sim-1')],
];

describe.each(CLIENTS)('runChatTurn against a simulated OpenAI-compatible upstream, through %s', (_name, makeModel) => {
  let upstream: SimulatedUpstream;
  let model: LanguageModelV3;
  beforeAll(async () => {
    upstream = await startSimulatedUpstream({ models: ['sim-1'] });
    model = makeModel(upstream.url);
  });
  afterAll(() => upstream.close());
  beforeEach(() => upstream.set({ mode: 'ok', tokens: 8, tokenDelayMs: 0 }));

  it('answers without streaming in generate mode, with usage and finish reason', async () => {
    const result = await runChatTurn({
      model,
      prompt,
      signal: new AbortController().signal,
      mode: 'generate',
      settings: { maxOutputTokens: 3 },
    });
    expect(result).toMatchObject({
      status: 'complete',
      text: [0, 1, 2].map(tokenText).join(''),
      finishReason: 'length',
      usage: { outputTokens: 3 },
    });
    expect(upstream.requests.at(-1)?.body).toMatchObject({ model: 'sim-1', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] });
  });

  it('streams every token and reads usage from the final chunk', async () => {
    const result = await runChatTurn({ model, prompt, signal: new AbortController().signal });
    expect(result.status).toBe('complete');
    expect(result.text).toBe(Array.from({ length: 8 }, (_, i) => tokenText(i)).join(''));
    expect(result.usage.outputTokens).toBe(8);
  });

  it('aborts the upstream request on the caller signal and keeps the partial answer as stopped', async () => {
    upstream.set({ tokens: 200, tokenDelayMs: 5 });
    const controller = new AbortController();
    let seen = 0;
    const result = await runChatTurn({
      model,
      prompt,
      signal: controller.signal,
      onTextDelta: () => {
        if (++seen === 3) controller.abort();
      },
    });
    expect(result.status).toBe('stopped');
    expect(result.text).toBe(`${tokenText(0)}${tokenText(1)}${tokenText(2)}`);
    await expect.poll(() => upstream.stats.open).toBe(0);
    expect(upstream.stats.clientAborts).toBeGreaterThanOrEqual(1);
  });

  it('keeps what arrived when the upstream drops the connection mid-stream', async () => {
    upstream.set({ mode: 'drop', dropAfter: 4, tokenDelayMs: 2, tokens: 50 });
    const result = await runChatTurn({ model, prompt, signal: new AbortController().signal });
    expect(result.status).toBe('error');
    expect(result.text).toBe([0, 1, 2, 3].map(tokenText).join(''));
  });

  it('ends a stalled stream with a timeout error and keeps the partial text', async () => {
    upstream.set({ mode: 'stall', stallAfter: 2, tokenDelayMs: 1 });
    const result = await runChatTurn({ model, prompt, signal: new AbortController().signal, timeoutMs: 300 });
    expect(result).toMatchObject({ status: 'error', failure: { kind: 'timeout' }, text: `${tokenText(0)}${tokenText(1)}` });
    expect(result.error?.status).toBe(504);
  });

  it.each([
    ['fail-429', 'rate', 429],
    ['fail-400', 'rejected', 400],
    ['fail-500', 'upstream', 502],
    ['fail-401', 'auth', 502],
  ] as const)('maps upstream %s to %s (HTTP %i)', async (mode, kind, status) => {
    upstream.set({ mode });
    const result = await runChatTurn({ model, prompt, signal: new AbortController().signal });
    expect(result).toMatchObject({ status: 'error', text: '', failure: { kind } });
    expect(result.error?.status).toBe(status);
  });
});
