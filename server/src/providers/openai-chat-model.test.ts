import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readAllParts } from '../testing/read-stream';
import { createOpenAIChatModel, plainContentDeltaLength, plainContentDeltaLengthOf, readPlainContentDelta } from './openai-chat-model';

const prompt = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }];
const frame = (delta: string, finish: string | null = null) =>
  JSON.stringify({
    id: 'c1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta: { content: delta }, logprobs: null, finish_reason: finish }],
  });

describe('readPlainContentDelta', () => {
  it('reads the content of a plain delta chunk, escapes included', () => {
    expect(readPlainContentDelta(frame('Hello'))).toBe('Hello');
    expect(readPlainContentDelta(frame('say "hi"\\n\u00e9 \\\\'))).toBe('say "hi"\\n\u00e9 \\\\');
    expect(readPlainContentDelta(frame('line\nbreak'))).toBe('line\nbreak');
  });

  it('leaves every other chunk to the full parser', () => {
    expect(readPlainContentDelta(frame('end', 'stop'))).toBeUndefined();
    expect(
      readPlainContentDelta(JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })),
    ).toBeUndefined();
    expect(
      readPlainContentDelta(JSON.stringify({ choices: [{ index: 0, delta: { content: 'a', tool_calls: [] }, finish_reason: null }] })),
    ).toBeUndefined();
    expect(readPlainContentDelta(JSON.stringify({ choices: [], usage: { prompt_tokens: 1 } }))).toBeUndefined();
    const two = JSON.stringify({
      choices: [0, 1].map((index) => ({ index, delta: { content: 'x' }, logprobs: null, finish_reason: null })),
    });
    expect(readPlainContentDelta(two)).toBeUndefined();
    const first = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ id: 'c1', choices: [{ index: 0, delta: { content: 'x' }, ...choice }], ...extra });
    expect(readPlainContentDelta(first({ logprobs: { content: [] }, finish_reason: null }))).toBeUndefined();
    expect(readPlainContentDelta(first({ finish_reason: null }, { usage: { prompt_tokens: 3 } }))).toBeUndefined();
    expect(readPlainContentDelta(first({ finish_reason: null }, { error: 'x' }))).toBeUndefined();
    expect(
      readPlainContentDelta(JSON.stringify({ error: { m: 1 }, choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] })),
    ).toBeUndefined();
    expect(
      readPlainContentDelta(JSON.stringify({ choices: [{ index: 1, delta: { content: 'x' }, finish_reason: null }] })),
    ).toBeUndefined();
  });

  it('reads the plain deltas of the shapes servers send: with usage null, an obfuscation field, no logprobs', () => {
    const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        id: 'c1',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'm',
        system_fingerprint: 'fp',
        choices: [{ index: 0, delta: { content: 'hé "x"' }, ...choice }],
        ...extra,
      });
    expect(readPlainContentDelta(chunk({ finish_reason: null }))).toBe('hé "x"');
    expect(readPlainContentDelta(chunk({ logprobs: null, finish_reason: null }, { usage: null }))).toBe('hé "x"');
    expect(readPlainContentDelta(chunk({ logprobs: null, finish_reason: null }, { obfuscation: 'aZ09' }))).toBe('hé "x"');
  });
});

describe('plainContentDeltaLengthOf (the same reading, from bytes)', () => {
  const contents = ['Hello', '', ' ', 'say "hi"\\n', 'é à ü', '日本語', 'emoji 😀 and 𝄞', 'tab\tq\\', '\\', '"', 'back\\slash"'];
  const chunks = [
    ...contents.flatMap((content) => [
      frame(content),
      JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] }),
      frame(content, 'stop'),
      JSON.stringify({ choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }], usage: null }),
      JSON.stringify({ choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }], usage: { prompt_tokens: 1 } }),
      JSON.stringify({ choices: [{ index: 0, delta: { content, tool_calls: [] }, finish_reason: null }] }),
      JSON.stringify({ choices: [{ index: 1, delta: { content }, finish_reason: null }] }),
      JSON.stringify({ error: { message: content }, choices: [{ index: 0, delta: { content }, finish_reason: null }] }),
      JSON.stringify({
        choices: [
          { index: 0, delta: { content }, finish_reason: null },
          { index: 1, delta: { content }, finish_reason: null },
        ],
      }),
    ]),
    // Escapes as a server may write them (\u sequences, an escaped slash).
    '{"choices":[{"index":0,"delta":{"content":"caf\\u00e9 \\/ \\ud83d\\ude00"},"logprobs":null,"finish_reason":null}]}',
    '{"choices":[{"index":0,"delta":{"content":"cut',
    '{"choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}]',
    '[DONE]',
    '',
  ];

  it('gives what the string reader gives, for every shape, inside a larger buffer', () => {
    let read = 0;
    for (const chunk of chunks) {
      const bytes = Buffer.from(`data: ${chunk}\n\ndata: {"more":1}\n\n`);
      const from = 6;
      const to = from + Buffer.byteLength(chunk);
      const fromBytes = plainContentDeltaLengthOf(bytes, from, to);
      const fromString = plainContentDeltaLength(chunk);
      // Undefined from bytes for a chunk with fields after its choices: the string reader decides those.
      if (fromBytes === undefined && fromString !== undefined) expect(chunk, chunk).toMatch(/\]\s*,/);
      else expect(fromBytes, chunk).toBe(fromString);
      if (fromBytes !== undefined) read++;
    }
    // Both plain shapes of every content, and the escaped one.
    expect(read).toBe(contents.length * 2 + 1);
    expect(plainContentDeltaLengthOf(Buffer.from(frame('日本語 😀')), 0, Buffer.byteLength(frame('日本語 😀')))).toBe('日本語 😀'.length);
  });
});

describe('the lean OpenAI wire client against hand-written upstream answers', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function serve(write: (res: import('node:http').ServerResponse) => void): Promise<string> {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => write(res));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  }

  async function collect(baseURL: string) {
    const { stream } = await createOpenAIChatModel({ provider: 't', baseURL }, 'm').doStream({ prompt });
    return readAllParts(stream);
  }

  it('reads CRLF-delimited events split across packets, comments and multi-line data', async () => {
    const baseURL = await serve((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': comment\r\n\r\n');
      res.write(`data: ${frame('Hel')}\r`);
      res.write(`\n\r\ndata: ${frame('lo')}\r\n\r\n`);
      res.write(
        `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],\ndata: "usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n`,
      );
      res.end('data: [DONE]\n\n');
    });
    const parts = await collect(baseURL);
    expect(parts.filter((p) => p.type === 'text-delta').map((p) => (p as { delta: string }).delta)).toEqual(['Hel', 'lo']);
    expect(parts.at(-1)).toMatchObject({
      type: 'finish',
      finishReason: { unified: 'stop' },
      usage: { inputTokens: { total: 3 }, outputTokens: { total: 2 } },
    });
  });

  it('fails the stream on an error event, keeping the deltas before it', async () => {
    const baseURL = await serve((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: ${frame('part')}\n\ndata: {"error":{"message":"overloaded"}}\n\n`);
    });
    const parts = await collect(baseURL);
    const seen = parts.filter((p) => p.type === 'text-delta').map((p) => (p as { delta: string }).delta);
    const error = parts.at(-1);
    expect(error?.type).toBe('error');
    expect(String((error as { error: Error }).error.message)).toMatch(/overloaded/);
    expect(seen).toEqual(['part']);
  });

  it('reports an HTTP error with its status and body, for classification', async () => {
    const baseURL = await serve((res) => {
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"You exceeded your current quota","type":"insufficient_quota"}}');
    });
    await expect(createOpenAIChatModel({ provider: 't', baseURL }, 'm').doStream({ prompt })).rejects.toMatchObject({
      statusCode: 429,
      responseBody: expect.stringContaining('quota'),
    });
  });

  it('sends the bearer key, the settings and the messages in OpenAI form', async () => {
    let seen: { headers: Record<string, unknown>; body: Record<string, unknown> } | undefined;
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => {
        text += c;
      });
      req.on('end', () => {
        seen = { headers: req.headers, body: JSON.parse(text) };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'x',
            choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 1, completion_tokens: 1 },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
    const result = await createOpenAIChatModel({ provider: 't', baseURL, apiKey: 'secret-key' }, 'llama').doGenerate({
      prompt: [{ role: 'system', content: 'be brief' }, ...prompt],
      temperature: 0.5,
      maxOutputTokens: 7,
      stopSequences: ['##'],
    });
    expect(result.content).toEqual([{ type: 'text', text: 'ok' }]);
    expect(seen?.headers.authorization).toBe('Bearer secret-key');
    expect(seen?.body).toEqual({
      model: 'llama',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
      temperature: 0.5,
      max_tokens: 7,
      stop: ['##'],
    });
  });
});
