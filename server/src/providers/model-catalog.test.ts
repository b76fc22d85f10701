import type { LanguageModelV3 } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { createMemoryInvalidationBus } from '../invalidation/invalidation-bus';
import { createModelCatalog } from './model-catalog';
import type { ModelConnection } from './model-connections';

/** A connection whose upstream lists what `offered` holds; records each listing. */
function fakeConnection(offered: string[], fail = { now: false }) {
  const listings: number[] = [];
  const connection: ModelConnection = {
    name: 'up',
    kind: 'remote',
    embeddingModels: [],
    async listModels() {
      listings.push(Date.now());
      if (fail.now) throw new Error('upstream unreachable');
      return offered.map((id) => ({ id, type: 'chat' as const }));
    },
    languageModel: () => ({}) as LanguageModelV3,
    fullLanguageModel: () => ({}) as LanguageModelV3,
  };
  return { connection, listings };
}

describe('the model catalog’s cache', () => {
  it('does not answer a use after forget with a listing begun before it, nor let that listing replace the newer one', async () => {
    const offered = ['a'];
    // The first listing is slow: it began before the model was added and ends after the newer one.
    let release: () => void = () => {};
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    const connection: ModelConnection = {
      ...fakeConnection(offered).connection,
      async listModels() {
        const seen = [...offered];
        if (++calls === 1) await slow;
        return seen.map((id) => ({ id, type: 'chat' as const }));
      },
    };
    const catalog = createModelCatalog({ connections: [connection], ttlMs: 60_000 });
    const first = catalog.list();
    offered.push('b');
    catalog.forget();
    expect((await catalog.list()).map((m) => m.id)).toEqual(['up/a', 'up/b']);
    release();
    expect((await first).map((m) => m.id)).toEqual(['up/a', 'up/b']);
    expect((await catalog.list()).map((m) => m.id)).toEqual(['up/a', 'up/b']);
    expect(calls).toBe(2);
  });

  it('lists again at the next use after forget, so a model added upstream is found at once though the listing is fresh', async () => {
    const offered = ['a'];
    const { connection, listings } = fakeConnection(offered);
    const catalog = createModelCatalog({ connections: [connection], ttlMs: 60_000 });
    expect((await catalog.list()).map((m) => m.id)).toEqual(['up/a']);
    offered.push('b');
    await expect(catalog.resolve('up/b')).rejects.toMatchObject({ code: 'model_not_found' });
    expect(listings).toHaveLength(1);

    // A replica announces a change: every replica's catalog forgets.
    const bus = createMemoryInvalidationBus();
    bus.subscribe('models', () => catalog.forget());
    bus.publish('models');
    expect((await catalog.resolve('up/b')).info.id).toBe('up/b');
    await catalog.list();
    expect(listings).toHaveLength(2);
  });

  it('keeps serving the old listing when listing again after forget fails, and does not wait on the upstream at every use', async () => {
    const fail = { now: false };
    const { connection, listings } = fakeConnection(['a'], fail);
    const catalog = createModelCatalog({ connections: [connection], ttlMs: 60_000 });
    await catalog.list();
    fail.now = true;
    catalog.forget();
    expect((await catalog.list()).map((m) => m.id)).toEqual(['up/a']);
    expect((await catalog.list()).map((m) => m.id)).toEqual(['up/a']);
    expect(listings).toHaveLength(2);
  });
});
