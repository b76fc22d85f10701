import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { startTestServer, type TestServer } from '../testing/test-server';

/**
 * An upstream that writes its stream in awkward pieces: CR LF line ends, events cut anywhere (a
 * multi-byte character split between two reads included), a comment line, and a usage chunk.
 */
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  JSON.stringify({
    id: 'chatcmpl-raw-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'raw-1',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
const EVENTS = [
  `data: ${chunk({ role: 'assistant', content: '' })}`,
  ': a comment the relay passes on',
  `data: ${chunk({ content: 'Grüße, ' })}`,
  `data: ${chunk({ content: '日本語 ' })}`,
  `data: ${chunk({ content: 'and "quotes" \\\\ too' })}`,
  `data: ${chunk({}, 'stop')}`,
  `data: ${JSON.stringify({ id: 'chatcmpl-raw-1', object: 'chat.completion.chunk', created: 1, model: 'raw-1', choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } })}`,
  'data: [DONE]',
];
const BODY = Buffer.from(EVENTS.map((e) => `${e}\r\n\r\n`).join(''), 'utf8');
/** The same stream without its usage chunk (`raw-2`), so the answer's tokens are estimated from its length. */
const WITHOUT_USAGE = Buffer.from(
  EVENTS.filter((e) => !e.includes('"usage"'))
    .map((e) => `${e}\r\n\r\n`)
    .join(''),
  'utf8',
);

let upstream: Server;
let t: TestServer;
let client: OpenAI;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    if (req.url?.endsWith('/models')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(
        JSON.stringify({
          object: 'list',
          data: [
            { id: 'raw-1', object: 'model', owned_by: 'raw' },
            { id: 'raw-2', object: 'model', owned_by: 'raw' },
          ],
        }),
      );
    }
    let sent = '';
    req.on('data', (part: Buffer) => {
      sent += part;
    });
    req.on('end', async () => {
      const body = (JSON.parse(sent) as { model: string }).model === 'raw-2' ? WITHOUT_USAGE : BODY;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // Cut in 7-byte pieces: every event, line end and multi-byte character falls across reads somewhere.
      for (let at = 0; at < body.length; at += 7) {
        res.write(body.subarray(at, at + 7));
        if (at % 70 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as AddressInfo).port;
  // No prompt log: nothing of the answer's text is kept, so the relay only counts it (from the bytes).
  t = await startTestServer({
    env: { AXON_PROMPT_LOG: 'off' },
    moreConnections: [{ name: 'raw', baseURL: `http://127.0.0.1:${port}/v1` }],
  });
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 1000 });
  const user = await auth.createUser({ email: 'relay@example.com', password: 'relay password 1', role: 'member' });
  const key = (await auth.createApiKey(user.id, 'r', { scopes: ['chat'] })).key;
  client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key, maxRetries: 0 });
});
afterAll(async () => {
  await t.close();
  await new Promise((resolve) => upstream.close(resolve));
});

describe('the chat completions relay, on a stream read in pieces', () => {
  it('passes every event on whole, characters split between reads included, and leaves out the usage chunk not asked for', async () => {
    const stream = await client.chat.completions.create({ model: 'raw/raw-1', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    const finishes: Array<string | null | undefined> = [];
    let usageSeen = false;
    for await (const part of stream) {
      text += part.choices[0]?.delta.content ?? '';
      finishes.push(part.choices[0]?.finish_reason);
      if (part.usage) usageSeen = true;
      expect(part.id).toBe('chatcmpl-raw-1');
    }
    expect(text).toBe('Grüße, 日本語 and "quotes" \\\\ too');
    expect(finishes.at(-1)).toBe('stop');
    expect(usageSeen).toBe(false);
  });

  it('passes the usage chunk when the caller asks for it, and the bytes of the events as the upstream wrote them', async () => {
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'raw/raw-1',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    expect(res.status).toBe(200);
    const body = await res.text();
    // Line ends come out as LF; every event, the comment included, as written.
    expect(body).toBe(EVENTS.map((e) => `${e}\n\n`).join(''));
  });

  it('records the answer with the usage the upstream reported', async () => {
    const stream = await client.chat.completions.create({
      model: 'raw/raw-1',
      messages: [{ role: 'user', content: 'count me' }],
      stream: true,
    });
    for await (const _ of stream) {
      // read to the end
    }
    const range = { from: '2000-01-01T00:00:00Z', to: '2999-01-01T00:00:00Z', orgId: null };
    await expect
      .poll(async () => {
        await t.server.store.usage.flush();
        return (await t.server.store.usage.events(range))
          .filter((u) => u.model === 'raw/raw-1')
          .map((u) => [u.inputTokens, u.outputTokens]);
      })
      .toContainEqual([5, 7]);
  });

  it('estimates the tokens of an answer from its length, as written, when the upstream reports no usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'raw/raw-2',
      messages: [{ role: 'user', content: 'count me' }],
      stream: true,
    });
    for await (const _ of stream) {
      // read to the end
    }
    // The content strings as written in the chunks (escapes counted as characters), a quarter token each.
    const written = EVENTS.flatMap((e) => [...e.matchAll(/"content":("(?:[^"\\]|\\.)*")/g)].map((m) => (m[1] as string).length - 2));
    const expected = Math.ceil(written.reduce((n, length) => n + length, 0) / 4);
    expect(expected).toBeGreaterThan(5);
    const range = { from: '2000-01-01T00:00:00Z', to: '2999-01-01T00:00:00Z', orgId: null };
    await expect
      .poll(async () => {
        await t.server.store.usage.flush();
        return (await t.server.store.usage.events(range)).filter((u) => u.model === 'raw/raw-2').map((u) => u.outputTokens);
      })
      .toContainEqual(expected);
  });
});
