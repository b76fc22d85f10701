import { type SimulatedRerankServer, startSimulatedRerankServer } from '@axon/bench/simulated-rerank';
import type { Collection } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config';
import type { ScoredChunk } from '../../store';
import { WebClient } from '../../testing/http-client';
import { startTestServer, type TestServer } from '../../testing/test-server';
import { createRerankClient, createRerankerFromConfig, RERANK_FORMATS, type RerankFormat, rerankHits } from './rerank';

let rerank: SimulatedRerankServer;
beforeAll(async () => {
  rerank = await startSimulatedRerankServer();
});
afterAll(() => rerank.close());

const hit = (text: string, score: number, i: number): ScoredChunk => ({
  chunkId: `c${i}`,
  documentId: `d${i}`,
  documentName: `doc${i}.txt`,
  collectionId: 'col',
  text,
  page: null,
  section: null,
  startOffset: 0,
  endOffset: text.length,
  score,
});

const PATHS: Record<RerankFormat, string> = { cohere: '/v2/rerank', jina: '/v1/rerank', voyage: '/voyage/v1/rerank', tei: '/tei/rerank' };

describe('rerank clients', () => {
  it.each(RERANK_FORMATS)('speak the %s wire format and read its scores', async (format) => {
    const client = createRerankClient({
      url: `${rerank.url}${PATHS[format]}`,
      format,
      upstreamModel: 'rerank-sim',
      model: 'rr/rerank-sim',
      apiKey: 'secret-key',
      candidates: 10,
      timeoutMs: 5000,
    });
    const before = rerank.calls.length;
    const scores = await client.score('federal funds rate decision', [
      'The weather was mild.',
      'The Committee decided to raise the federal funds rate.',
      'Rates of the federal funds market',
    ]);
    expect(scores[1]).toBeGreaterThan(scores[2] as number);
    expect(scores[2]).toBeGreaterThan(scores[0] as number);
    const call = rerank.calls[before];
    expect(call?.format).toBe(format === 'jina' ? 'cohere' : format);
    expect(call?.headers.authorization).toBe('Bearer secret-key');
    if (format === 'tei') expect(call?.body).toMatchObject({ query: 'federal funds rate decision', texts: expect.any(Array) });
    else expect(call?.body).toMatchObject({ model: 'rerank-sim', documents: expect.any(Array) });
    if (format === 'voyage') expect(call?.body).toHaveProperty('top_k', 3);
    if (format === 'cohere' || format === 'jina') expect(call?.body).toHaveProperty('top_n', 3);
  });

  it('reorders the first-stage hits it is sent and leaves the rest after them', async () => {
    const client = createRerankClient({
      url: `${rerank.url}/rerank`,
      format: 'cohere',
      upstreamModel: 'm',
      model: 'rr/m',
      candidates: 3,
      timeoutMs: 5000,
    });
    const hits = [
      hit('rate rate rate', 9, 0),
      hit('nothing relevant', 8, 1),
      hit('the federal funds rate was raised', 7, 2),
      hit('tail', 1, 3),
    ];
    const out = await rerankHits(client, 'federal funds rate raised', hits);
    expect(out.map((h) => h.chunkId)).toEqual(['c2', 'c0', 'c1', 'c3']);
    expect(out[0]?.score).toBeGreaterThan(out[1]?.score as number);
    expect(out[3]?.score).toBe(0);
  });

  it('fails on an HTTP error, so that the caller keeps the first-stage order', async () => {
    rerank.failWith = 503;
    try {
      const client = createRerankClient({
        url: `${rerank.url}/rerank`,
        format: 'cohere',
        upstreamModel: 'm',
        model: 'rr/m',
        candidates: 5,
        timeoutMs: 5000,
      });
      await expect(client.score('q', ['a', 'b'])).rejects.toThrow(/HTTP 503/);
    } finally {
      rerank.failWith = undefined;
    }
  });

  it('is configured per connection, and a model on a connection without an endpoint is refused', () => {
    const config = loadConfig({
      env: {},
      overrides: {
        connections: [{ name: 'rr', baseURL: `${rerank.url}/v1`, apiKey: 'k', rerank: { format: 'jina' } }],
        rerank: { model: 'rr/jina-reranker' },
      },
    });
    const reranker = createRerankerFromConfig(config);
    expect(reranker).toMatchObject({ model: 'rr/jina-reranker', candidates: 30 });
    expect(createRerankerFromConfig(loadConfig({ env: {} }))).toBeUndefined();
    expect(() =>
      loadConfig({ env: {}, overrides: { connections: [{ name: 'rr', baseURL: `${rerank.url}/v1` }], rerank: { model: 'rr/x' } } }),
    ).toThrow(ConfigError);
    try {
      loadConfig({ env: {}, overrides: { connections: [{ name: 'rr', baseURL: `${rerank.url}/v1` }], rerank: { model: 'rr/x' } } });
    } catch (error) {
      expect((error as ConfigError).problems.join('\n')).toMatch(/rerank\.model\): the connection "rr" declares no rerank endpoint/);
    }
  });
});

describe('reranking in retrieval, per collection', () => {
  let t: TestServer;
  let alice: WebClient;
  let collection: Collection;
  const search = (query: string) =>
    alice.json<{ items: Array<{ documentName: string; score: number }> }>('POST', '/api/search', {
      query,
      collectionIds: [collection.id],
      k: 3,
    });

  beforeAll(async () => {
    t = await startTestServer({
      overrides: {
        'localModel.wordDelayMs': 0,
        connections: [
          { name: 'sim', baseURL: 'http://127.0.0.1:9/v1' },
          { name: 'rr', baseURL: rerank.url, rerank: { format: 'cohere', path: '/v2/rerank' } },
        ],
        rerank: { model: 'rr/rerank-sim', candidates: 10 },
      },
    });
    alice = new WebClient(t.url);
    await alice.setup('alice@example.com', 'alice password 1');
    collection = (await alice.json<Collection>('POST', '/api/collections', { name: 'Notes' })).body;
    const form = new FormData();
    // BM25 puts the note that repeats two of the question's words first; the simulated reranker the one holding more of them in order.
    form.append('file', new Blob(['Funds, funds, funds and federal, federal notes.']), 'rates.txt');
    form.append('file', new Blob(['The rate was raised.']), 'decision.txt');
    form.append('file', new Blob(['Weather notes: the spring was mild and the summer warm.']), 'weather.txt');
    const response = await fetch(`${t.url}/api/collections/${collection.id}/documents`, {
      method: 'POST',
      headers: { cookie: alice.cookie, 'x-csrf-token': alice.csrfToken ?? '' },
      body: form,
    });
    expect(response.status).toBe(202);
    await t.server.ingestion.idle();
  }, 60_000);
  afterAll(() => t?.close());

  it('is off until the collection turns it on, then reorders the passages', async () => {
    const question = 'federal funds rate raised';
    const before = rerank.calls.length;
    expect((await search(question)).body.items[0]?.documentName).toBe('rates.txt');
    expect(rerank.calls.length).toBe(before);
    const patched = await alice.json<Collection>('PATCH', `/api/collections/${collection.id}`, { rerank: true });
    expect(patched.body.rerank).toBe(true);
    expect((await search(question)).body.items[0]?.documentName).toBe('decision.txt');
    expect(rerank.calls.length).toBe(before + 1);
    expect(rerank.calls.at(-1)).toMatchObject({ path: '/v2/rerank', body: { model: 'rerank-sim', query: question } });
  });

  it('keeps the first-stage order when the rerank endpoint fails, and says so in the log', async () => {
    rerank.failWith = 500;
    try {
      const found = await search('federal funds rate raised');
      expect(found.status).toBe(200);
      expect(found.body.items[0]?.documentName).toBe('rates.txt');
      expect(t.logs.some((line) => line.includes('reranking failed'))).toBe(true);
    } finally {
      rerank.failWith = undefined;
    }
  });
});
