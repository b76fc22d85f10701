import { startSimulatedUpstream } from '@axon/bench/simulated-upstream';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { startTestServer, type TestServer } from '../testing/test-server';

const ORIGIN = 'https://app.example.com';
let t: TestServer;
let key: string;
let client: OpenAI;

beforeAll(async () => {
  t = await startTestServer({
    overrides: {
      'localModel.wordDelayMs': 0,
      corsOrigins: [ORIGIN],
      embeddings: { model: 'sim/emb' },
    },
    // The simulated server, reached through OPENAI_BASE_URL without a key; AXON_EMBEDDING_MODEL names its embedding model.
    env: { OPENAI_MODELS: '' },
    upstreamEnv: (url) => ({ OPENAI_BASE_URL: url }),
  });
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 1000 });
  const user = await auth.createUser({ email: 'emb@example.com', password: 'emb password 11', role: 'member' });
  key = (await auth.createApiKey(user.id, 'e', { scopes: ['chat', 'embeddings'] })).key;
  client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: key, maxRetries: 0 });
});
afterAll(() => t.close());

const embeddingCalls = () => t.upstream.requests.filter((r) => r.url.endsWith('/embeddings')).map((r) => r.body as Record<string, unknown>);

describe('/v1/embeddings', () => {
  it('passes dimensions, encoding_format and token arrays through and relays the answer', async () => {
    const floats = await client.embeddings.create({ model: 'sim/emb', input: ['first text', 'second text'], dimensions: 16 });
    expect(floats.data.map((d) => d.index)).toEqual([0, 1]);
    expect(floats.data[0]?.embedding).toHaveLength(16);
    expect(embeddingCalls().at(-1)).toMatchObject({ model: 'emb', dimensions: 16, input: ['first text', 'second text'] });
    const tokens = await client.embeddings.create({
      model: 'sim/emb',
      input: [
        [1, 2, 3],
        [4, 5],
      ],
    });
    expect(tokens.data).toHaveLength(2);
    expect(embeddingCalls().at(-1)).toMatchObject({
      input: [
        [1, 2, 3],
        [4, 5],
      ],
    });
    // The SDK asks for base64 and decodes it: the vectors arrive intact.
    expect(embeddingCalls().at(-1)?.encoding_format).toBe('base64');
    expect(Math.hypot(...(tokens.data[0]?.embedding ?? []))).toBeCloseTo(1, 3);
  });

  it('refuses a model no connection offers, naming those that are', async () => {
    const error = (await client.embeddings.create({ model: 'openai/text-embedding-3-small', input: 'x' }).catch((e) => e)) as InstanceType<
      typeof OpenAI.NotFoundError
    >;
    expect(error.status).toBe(404);
    expect(error.message).toContain('sim/emb');
  });

  it('serves every embedding model a connection offers, each listed and called by its own id', async () => {
    const vectors = await startSimulatedUpstream();
    const other = await startTestServer({
      overrides: { connections: [{ name: 'vec', baseURL: vectors.url, embeddingModels: ['emb-small', 'emb-large'] }] },
    });
    try {
      const auth = createAuthService({ store: other.server.store, sessionTtlMs: 1000 });
      const user = await auth.createUser({ email: 'vec@example.com', password: 'vec password 11', role: 'member' });
      const otherClient = new OpenAI({ baseURL: `${other.url}/v1`, apiKey: (await auth.createApiKey(user.id, 'v')).key, maxRetries: 0 });
      const listed = (await otherClient.models.list()).data as Array<OpenAI.Model & { type?: string }>;
      expect(listed.filter((m) => m.type === 'embedding').map((m) => m.id)).toEqual(['vec/emb-small', 'vec/emb-large']);
      for (const model of ['emb-small', 'emb-large']) {
        const answer = await otherClient.embeddings.create({ model: `vec/${model}`, input: 'a text', encoding_format: 'float' });
        expect(answer.data[0]?.embedding.length).toBeGreaterThan(0);
        const sent = vectors.requests.filter((r) => r.url.endsWith('/embeddings')).at(-1)?.body as Record<string, unknown>;
        expect(sent).toMatchObject({ model, input: 'a text', encoding_format: 'float' });
      }
    } finally {
      await other.close();
      await vectors.close();
    }
  });

  it('lists the embedding models beside the chat models', async () => {
    const list = (await client.models.list()).data as Array<OpenAI.Model & { type?: string }>;
    expect(list.find((m) => m.id === 'sim/emb')?.type).toBe('embedding');
  });
});

describe('OPENAI_BASE_URL at another server', () => {
  it('lists every model that server serves, with no key, and calls it', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['openai/sim-1', 'openai/sim-2']));
    const completion = await client.chat.completions.create({ model: 'openai/sim-2', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]?.message.content).toBeTruthy();
    const sent = t.upstream.requests.at(-1);
    expect(sent?.headers.authorization).toBeUndefined();
  });

  it('warns in the log and in /readyz when a server lists no models', async () => {
    const empty = await startSimulatedUpstream({ models: [] });
    const other = await startTestServer({ overrides: { connections: [{ name: 'empty', baseURL: empty.url }] } });
    try {
      const problems = async () =>
        ((await (await fetch(`${other.url}/readyz`)).json()) as { modelProblems: Record<string, string> }).modelProblems;
      await expect.poll(async () => (await problems()).empty).toMatch(/no models/);
      expect(other.logs.some((line) => line.includes('listing models failed') && line.includes('empty'))).toBe(true);
    } finally {
      await other.close();
      await empty.close();
    }
  });
});

describe('CORS for browser clients of /v1', () => {
  it('answers a preflight from an allowed origin without a key', async () => {
    const response = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(response.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
  });

  it('gives other origins and the web app API nothing', async () => {
    const other = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const api = await fetch(`${t.url}/api/auth/session`, { headers: { origin: ORIGIN } });
    expect(api.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('marks answers, streamed ones included, for the allowed origin', async () => {
    const response = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { origin: ORIGIN, authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim/sim-1', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    await response.text();
    expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(response.headers.get('access-control-expose-headers')).toMatch(/retry-after/);
  });
});

describe('the access log', () => {
  const accessLines = (id: string) =>
    t.logs.flatMap((line) => {
      const entry = JSON.parse(line) as { msg?: string; reqId?: string };
      return entry.msg === 'request' && entry.reqId === id ? [entry] : [];
    });

  it('writes one line per request, streamed or not, with the model call on it', async () => {
    for (const stream of [true, false]) {
      const response = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sim/sim-1', stream, messages: [{ role: 'user', content: 'hi' }] }),
      });
      await response.text();
      const id = response.headers.get('x-request-id') as string;
      // The line of a streamed answer is written as its stream ends; a later one would be a duplicate.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const lines = accessLines(id);
      expect(lines, `stream: ${stream}`).toHaveLength(1);
      expect(lines[0]).toMatchObject({ route: '/v1/chat/completions', status: 200 });
      if (stream) expect(lines[0]).toMatchObject({ model: 'sim/sim-1', outcome: 'complete' });
    }
  });
});
