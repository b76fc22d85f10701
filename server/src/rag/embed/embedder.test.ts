import { hashEmbedding, type SimulatedUpstream, startSimulatedUpstream } from '@axon/bench/simulated-upstream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAIEmbedder, withBatching, withRetries } from './embedder';

let upstream: SimulatedUpstream;
beforeAll(async () => {
  upstream = await startSimulatedUpstream({ embeddingDimensions: 32 });
});
afterAll(() => upstream.close());
beforeEach(() => upstream.set({ mode: 'ok' }));

const base = () => createOpenAIEmbedder({ baseURL: upstream.url, upstreamModel: 'emb', model: 'sim/emb', apiKey: 'k' });

describe('embedders against the simulated upstream', () => {
  it('coalesces concurrent calls into few upstream requests and gives each caller its own vectors', async () => {
    const batched = withBatching(base(), { maxBatch: 32, maxWaitMs: 5 });
    const before = upstream.stats.embeddingCalls;
    const texts = Array.from({ length: 100 }, (_, i) => `document number ${i} about yields`);
    const results = await Promise.all(texts.map((text) => batched.embed([text])));
    const calls = upstream.stats.embeddingCalls - before;
    expect(calls).toBeLessThanOrEqual(5);
    expect(batched.upstreamCalls).toBe(calls);
    results.forEach((vectors, i) => {
      expect(vectors).toHaveLength(1);
      expect(vectors[0]?.[0]).toBeCloseTo(hashEmbedding(texts[i] as string, 32)[0] as number, 6);
      expect(vectors[0]).toEqual(hashEmbedding(texts[i] as string, 32).map((v) => expect.closeTo(v, 6)));
    });
    const sizes = upstream.requests
      .filter((r) => r.url.endsWith('/embeddings'))
      .slice(-calls)
      .map((r) => (r.body as { input: string[] }).input.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(32);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(100);
  });

  it('splits a call larger than a batch and keeps the order', async () => {
    const batched = withBatching(base(), { maxBatch: 10, maxWaitMs: 5 });
    const texts = Array.from({ length: 25 }, (_, i) => `text ${i}`);
    const vectors = await batched.embed(texts);
    expect(vectors).toHaveLength(25);
    expect(vectors[24]).toEqual(hashEmbedding('text 24', 32).map((v) => expect.closeTo(v, 6)));
  });

  it('retries a retryable failure and gives up on a lasting one', async () => {
    upstream.set({ mode: 'fail-500' });
    const retrying = withRetries(base(), { attempts: 3, baseDelayMs: 1 });
    const before = upstream.stats.embeddingCalls;
    await expect(retrying.embed(['x'])).rejects.toMatchObject({ statusCode: 500 });
    const fail = upstream.requests.filter((r) => r.url.endsWith('/embeddings')).length;
    expect(fail).toBeGreaterThanOrEqual(3);
    expect(upstream.stats.embeddingCalls).toBe(before);
    // A failure that heals within the attempts is invisible to the caller.
    setTimeout(() => upstream.set({ mode: 'ok' }), 5);
    await expect(withRetries(base(), { attempts: 5, baseDelayMs: 10 }).embed(['y'])).resolves.toHaveLength(1);
  });
});
