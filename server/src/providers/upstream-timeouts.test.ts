import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, get as httpGet, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { LanguageModelV3, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { loadConfig } from '../config';
import { classifyProviderError, toAppError } from '../errors';
import { startTestServer } from '../testing/test-server';
import { createModelConnections, type ModelConnection } from './model-connections';
import { limitIdle } from './upstream-timeouts';

// A connection's three time limits on every way Axon calls it besides the wire relays (which have
// their own tests): the lean OpenAI client of the web chat and the AI SDK's clients of the calls
// Axon translates. Each fault is a real one on loopback: a listener that never completes a
// connection, one that takes the request and never answers, and one that stops mid-stream.

const TIMEOUTS = { connectMs: 300, firstByteMs: 400, idleMs: 400 };
const PROMPT = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hello' }] }];

let unconnectable: { port: number; child: ChildProcess; held: Socket[] };
let silent: Server;
let stalling: Server;
const portOf = (server: Server) => (server.address() as { port: number }).port;

/** A listener in a stopped process with its accept queue full: the kernel drops further connection attempts, which hang. */
async function startUnconnectable() {
  const child = spawn(
    process.execPath,
    [
      '-e',
      "const s = require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => console.log(s.address().port))",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve) => child.stdout?.once('data', (d) => resolve(Number(String(d).trim()))));
  child.kill('SIGSTOP');
  const held = Array.from({ length: 4 }, () => connect(port, '127.0.0.1').on('error', () => {}));
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { port, child, held };
}

const listen = (server: Server) => new Promise<Server>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));

beforeAll(async () => {
  unconnectable = await startUnconnectable();
  // Reads the request, never answers.
  silent = await listen(createServer(() => {}));
  // Answers with the stream's first chunk (OpenAI's and Anthropic's), then says nothing.
  stalling = await listen(
    createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.url?.endsWith('/messages')) {
        res.write(
          `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 1, output_tokens: 0 } } })}\n\n`,
        );
      } else {
        res.write(
          `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, finish_reason: null }] })}\n\n`,
        );
      }
    }),
  );
});

afterAll(() => {
  for (const socket of unconnectable.held) socket.destroy();
  unconnectable.child.kill('SIGKILL');
  silent.closeAllConnections();
  silent.close();
  stalling.closeAllConnections();
  stalling.close();
});

async function connectionTo(port: number, kind: 'openai-compatible' | 'anthropic'): Promise<ModelConnection> {
  const baseURL = `http://127.0.0.1:${port}/v1`;
  const config = loadConfig({
    cwd: '/nonexistent',
    overrides:
      kind === 'anthropic'
        ? { connections: [], anthropic: { apiKey: 'sk-ant-test', baseURL, models: [{ id: 'm' }], timeouts: TIMEOUTS } }
        : { connections: [{ name: 'x', baseURL, models: [{ id: 'm' }], timeouts: TIMEOUTS }] },
  });
  const connections = await createModelConnections(config);
  const connection = connections.find((c) => c.name === (kind === 'anthropic' ? 'anthropic' : 'x'));
  if (!connection) throw new Error('the connection was not made');
  return connection;
}

/** What a call ends with: the error it rejects with, or the error part its stream carries. */
async function failureOf(model: LanguageModelV3, stream: boolean): Promise<unknown> {
  const started = Date.now();
  let failure: unknown;
  try {
    if (!stream) await model.doGenerate({ prompt: PROMPT });
    else {
      const reader = (await model.doStream({ prompt: PROMPT })).stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if ((value as LanguageModelV3StreamPart).type === 'error') failure = (value as { error: unknown }).error;
      }
    }
  } catch (error) {
    failure = error;
  }
  // Within the limit and a margin, not the 10-minute whole-call bound.
  expect(Date.now() - started).toBeLessThan(5000);
  return failure;
}

describe.each([
  { client: "the web chat's lean OpenAI client", kind: 'openai-compatible' as const, pick: (c: ModelConnection) => c.languageModel('m') },
  {
    client: "the AI SDK's OpenAI-compatible client (translated calls)",
    kind: 'openai-compatible' as const,
    pick: (c: ModelConnection) => c.fullLanguageModel('m'),
  },
  {
    client: "the AI SDK's Anthropic client (translated calls)",
    kind: 'anthropic' as const,
    pick: (c: ModelConnection) => c.fullLanguageModel('m'),
  },
])('$client', ({ kind, pick }) => {
  it('gives up on a connection that does not open within connectMs, naming that limit', async () => {
    const failure = await failureOf(pick(await connectionTo(unconnectable.port, kind)), false);
    const classified = classifyProviderError(failure);
    expect(classified).toMatchObject({ kind: 'timeout', retryable: true });
    expect(classified.message).toBe('The model provider could not be connected to within 300 ms');
    expect(toAppError(classified).status).toBe(504);
  });

  it('gives up on an upstream that takes the request and does not answer within firstByteMs', async () => {
    const failure = await failureOf(pick(await connectionTo(portOf(silent), kind)), true);
    expect(classifyProviderError(failure)).toMatchObject({
      kind: 'timeout',
      message: 'The model provider did not start answering within 400 ms',
    });
  });

  it('ends a stream that goes silent for idleMs, naming that limit', async () => {
    const failure = await failureOf(pick(await connectionTo(portOf(stalling), kind)), true);
    expect(classifyProviderError(failure)).toMatchObject({
      kind: 'timeout',
      message: expect.stringMatching(/sent nothing for (400 ms|too long while answering \(idle timeout\))/),
    });
  });
});

describe('the idle limit on a response Axon reads', () => {
  it('times the upstream’s silence, not a pause of a reader that is slow', async () => {
    // Sends a chunk every 50 ms for half a second.
    const steady = await listen(
      createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        let n = 0;
        const timer = setInterval(() => {
          res.write(`chunk ${n}\n`);
          if (++n === 10) {
            clearInterval(timer);
            res.end();
          }
        }, 50);
      }),
    );
    try {
      const res = await new Promise<IncomingMessage>((resolve) => httpGet(`http://127.0.0.1:${portOf(steady)}/`, resolve));
      limitIdle(res, 150);
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
      });
      // The reader stops for twice the limit, then reads on: the answer arrives whole.
      res.pause();
      await new Promise((resolve) => setTimeout(resolve, 300));
      res.resume();
      await new Promise((resolve, reject) => {
        res.on('end', resolve);
        res.on('error', reject);
      });
      expect(text.split('\n').filter(Boolean)).toHaveLength(10);
    } finally {
      steady.closeAllConnections();
      steady.close();
    }
    // The stalling upstream, read without pause, is cut at the limit.
    const res = await new Promise<IncomingMessage>((resolve) =>
      httpRequest(`http://127.0.0.1:${portOf(stalling)}/v1/chat/completions`, { method: 'POST' }, resolve)
        // The response's failure reaches the request too (its socket goes with it).
        .on('error', () => {})
        .end('{}'),
    );
    limitIdle(res, 150);
    res.resume();
    const failure = await new Promise<Error>((resolve) => res.on('error', resolve));
    expect(failure).toMatchObject({ name: 'TimeoutError', message: 'The model provider sent nothing for 150 ms' });
  });
});

describe('/v1 over a translated call', () => {
  it('answers 504 naming the limit that ran out, and 502 naming a refused connection', async () => {
    const t = await startTestServer({
      overrides: {
        anthropic: {
          apiKey: 'sk-ant-test',
          baseURL: `http://127.0.0.1:${portOf(silent)}/v1`,
          models: [{ id: 'claude-test' }],
          timeouts: TIMEOUTS,
        },
        // A port nothing listens on: the upstream refuses the connection.
        connections: [{ name: 'gone', baseURL: 'http://127.0.0.1:9/v1', models: [{ id: 'm' }] }],
      },
    });
    try {
      const auth = createAuthService({ store: t.server.store, sessionTtlMs: 1000 });
      const user = await auth.createUser({ email: 'timeouts@example.com', password: 'timeouts test 1', role: 'member' });
      const { key } = await auth.createApiKey(user.id, 'k');
      const call = (model: string) =>
        fetch(`${t.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
        });
      const timedOut = await call('anthropic/claude-test');
      expect(timedOut.status).toBe(504);
      expect(((await timedOut.json()) as { error: { message: string } }).error.message).toContain('did not start answering within 400 ms');
      const refused = await call('gone/m');
      expect(refused.status).toBe(502);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('not reachable (ECONNREFUSED)');
    } finally {
      await t.close();
    }
  });
});
