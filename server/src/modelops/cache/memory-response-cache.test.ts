import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMemoryResponseCache } from './memory-response-cache';
import {
  buildAnswer,
  buildPolicy,
  buildRequest,
  createFakeEmbedder,
  createTestClock,
  describeResponseCacheContract,
  FAKE_VECTORS,
  Q,
  Q_CLOSE,
  T,
  T_DATE,
  T_PARAPHRASE,
  T_TENOR,
  TREASURY_VECTORS,
} from './response-cache-contract';

describeResponseCacheContract('memory', async (options) => createMemoryResponseCache(options));

describe('the in-process response cache', () => {
  it('keeps at most maxEntries, dropping the least recently used', async () => {
    const cache = createMemoryResponseCache({ maxEntries: 2 });
    const [a, b, c] = ['a?', 'b?', 'c?'].map((q) => buildRequest(q)) as [
      ReturnType<typeof buildRequest>,
      ReturnType<typeof buildRequest>,
      ReturnType<typeof buildRequest>,
    ];
    await cache.store(a, buildAnswer());
    await cache.store(b, buildAnswer());
    expect(await cache.lookup(a)).toBeDefined();
    await cache.store(c, buildAnswer());
    expect(await cache.lookup(b)).toBeUndefined();
    expect(await cache.lookup(a)).toBeDefined();
    expect(await cache.lookup(c)).toBeDefined();
  });

  it('counts hits by match, misses and stores on the registry', async () => {
    const registry = new Registry();
    const clock = createTestClock();
    const { embed } = createFakeEmbedder(FAKE_VECTORS);
    const cache = createMemoryResponseCache({ registry, embed, now: clock.now });
    const policy = buildPolicy({ semantic: { threshold: 0.9 } });
    await cache.lookup(buildRequest(Q, { policy }));
    await cache.store(buildRequest(Q, { policy }), buildAnswer());
    await cache.lookup(buildRequest(Q, { policy }));
    await cache.lookup(buildRequest(Q_CLOSE, { policy }));
    const text = await registry.metrics();
    expect(text).toContain('axon_response_cache_hits_total{match="exact"} 1');
    expect(text).toContain('axon_response_cache_hits_total{match="semantic"} 1');
    expect(text).toContain('axon_response_cache_misses_total 1');
    expect(text).toContain('axon_response_cache_stores_total{kind="exact"} 1');
    expect(text).toContain('axon_response_cache_stores_total{kind="semantic"} 1');
  });

  it('counts the cached questions it passes over, by the slot that differs', async () => {
    const registry = new Registry();
    const { embed } = createFakeEmbedder(TREASURY_VECTORS);
    const cache = createMemoryResponseCache({ registry, embed });
    const policy = buildPolicy({ exact: false, semantic: { threshold: 0.9 } });
    for (const q of [T_TENOR, T_DATE, T_PARAPHRASE]) await cache.store(buildRequest(q, { policy }), buildAnswer());
    expect(await cache.lookup(buildRequest(T, { policy }))).toMatchObject({ match: 'semantic' });
    const text = await registry.metrics();
    expect(text).toContain('axon_response_cache_semantic_rejections_total{slot="date"} 1');
    expect(text).toContain('axon_response_cache_semantic_rejections_total{slot="tenor"} 1');
    expect(text).toContain('axon_response_cache_hits_total{match="semantic"} 1');
  });
});
