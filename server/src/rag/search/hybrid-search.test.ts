import type { Collection } from '@axon/contracts';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../../auth/auth-service';
import { loadConfig } from '../../config';
import { createLogger } from '../../observability/logger';
import { createServer } from '../../server';
import { WebClient } from '../../testing/http-client';
import { startTestServer, type TestServer } from '../../testing/test-server';
import { maximalMarginalRelevance, searchHybrid } from './hybrid-search';

let t: TestServer;
let alice: WebClient;
let collection: Collection;
let aliceId: string;
let bobId: string;

const DOCS: Record<string, string> = {
  'rates.md': '# Rates\n\nThe Committee raised the federal funds rate by a quarter point to fight inflation.',
  'jobs.md': '# Jobs\n\nPayrolls grew strongly and the unemployment rate fell to a record low.',
  'oil.md': '# Oil\n\nCrude oil prices jumped after the supply cut was announced.',
};

beforeAll(async () => {
  t = await startTestServer({
    overrides: { 'localModel.wordDelayMs': 0, embeddings: { model: 'sim/emb', batchSize: 16, batchWaitMs: 2 } },
  });
  alice = new WebClient(t.url);
  await alice.setup('alice@example.com', 'alice password 1');
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 1000 });
  bobId = (await auth.createUser({ email: 'bob@example.com', password: 'bob password 1', role: 'member' })).id;
  aliceId = (await t.server.store.users.findByEmail('alice@example.com'))?.id as string;
  collection = (await alice.json<Collection>('POST', '/api/collections', { name: 'Markets' })).body;
  for (const [name, text] of Object.entries(DOCS))
    await t.server.ingestion.addFile({ collectionId: collection.id, userId: aliceId, name, bytes: new TextEncoder().encode(text) });
  await t.server.ingestion.idle();
});
afterAll(() => t.close());

describe('vector and hybrid search with a configured embedder', () => {
  it('embeds chunks and records the model and dimension on the collection', async () => {
    expect(await t.server.store.collections.getEmbedding(collection.id)).toEqual({ model: 'sim/emb', dimensions: 64 });
    const [vector] =
      (await (
        await import('../embed/create-embedder')
      )
        .createEmbedderFromConfig(
          loadConfig({ env: {}, overrides: { embeddings: { model: 'sim/emb' }, connections: [{ name: 'sim', baseURL: t.upstream.url }] } }),
        )
        ?.embed(['unemployment rate payrolls'])) ?? [];
    const hits = await t.server.store.searchIndex.searchVector(vector as number[], {
      userId: aliceId,
      collectionIds: [collection.id],
      k: 2,
    });
    expect(hits[0]?.documentName).toBe('jobs.md');
    expect(hits[0]?.score).toBeGreaterThan(hits[1]?.score ?? 0);
  });

  it('fuses full-text and vector rankings, and keeps other users out of both', async () => {
    const embedder = (await import('../embed/create-embedder')).createEmbedderFromConfig(
      loadConfig({ env: {}, overrides: { embeddings: { model: 'sim/emb' }, connections: [{ name: 'sim', baseURL: t.upstream.url }] } }),
    );
    const hybrid = await searchHybrid(t.server.store, embedder, 'crude oil supply', {
      userId: aliceId,
      collectionIds: [collection.id],
      k: 3,
    });
    expect(hybrid[0]?.documentName).toBe('oil.md');
    for (const mode of ['text', 'vector', 'hybrid'] as const) {
      expect(
        await searchHybrid(t.server.store, embedder, 'crude oil supply', { userId: bobId, collectionIds: [collection.id], k: 3, mode }),
      ).toEqual([]);
    }
  });

  it('answers /v1/embeddings with the official SDK, in order, and refuses other models', async () => {
    const auth = createAuthService({ store: t.server.store, sessionTtlMs: 1000 });
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: (await auth.createApiKey(aliceId, 'emb')).key, maxRetries: 0 });
    const result = await client.embeddings.create({ model: 'sim/emb', input: ['first text', 'second text'] });
    expect(result.data.map((d) => d.index)).toEqual([0, 1]);
    expect(result.data[0]?.embedding).toHaveLength(64);
    await expect(client.embeddings.create({ model: 'openai/text-embedding-3-small', input: 'x' })).rejects.toMatchObject({ status: 404 });
  });

  it('re-embeds a collection when the embedding model changes', async () => {
    const config = loadConfig({
      env: {},
      cwd: t.dataDir,
      overrides: {
        port: 0,
        dataDir: t.dataDir,
        logLevel: 'silent',
        connections: [{ name: 'sim', baseURL: t.upstream.url }],
        embeddings: { model: 'sim/emb-2' },
      },
    });
    await t.server.ingestion.stop();
    const second = await createServer(config, { logger: createLogger({ level: 'silent' }) });
    await second.ingestion.idle();
    expect(await second.store.collections.getEmbedding(collection.id)).toEqual({ model: 'sim/emb-2', dimensions: 64 });
    expect((await second.store.documents.listByCollection(collection.id)).every((d) => d.status === 'ready')).toBe(true);
    await second.shutdown();
  });
});

describe('retrieval for a question', () => {
  it('searches vectors too when an embedder is configured, and diversifies when the collection asks', async () => {
    const { retrievePassages } = await import('../retrieve-passages');
    const inner = (await import('../embed/create-embedder')).createEmbedderFromConfig(
      loadConfig({ env: {}, overrides: { embeddings: { model: 'sim/emb' }, connections: [{ name: 'sim', baseURL: t.upstream.url }] } }),
    );
    const asked: string[][] = [];
    const embedder = inner && {
      ...inner,
      embed: (texts: string[]) => {
        asked.push(texts);
        return inner.embed(texts);
      },
    };
    const passages = await retrievePassages(t.server.store, {
      embedder,
      userId: aliceId,
      collectionIds: [collection.id],
      query: 'crude oil supply',
      contextTokens: 2000,
    });
    expect(asked).toEqual([['crude oil supply']]);
    expect(passages[0]?.documentName).toBe('oil.md');
    expect(passages.map((p) => p.n)).toEqual(passages.map((_, i) => i + 1));
  });

  it('maximal marginal relevance lets a passage that adds something overtake a near-duplicate', () => {
    const hit = (chunkId: string, text: string, score: number) => ({
      chunkId,
      documentId: 'd',
      documentName: 'd',
      collectionId: 'c',
      text,
      page: null,
      section: null,
      startOffset: 0,
      endOffset: 0,
      score,
    });
    const hits = [
      hit('a', 'The Committee raised the federal funds rate by a quarter point.', 1),
      hit('b', 'The Committee raised the federal funds rate by a quarter point today.', 0.95),
      hit('c', 'Inflation stayed above the two percent objective.', 0.8),
    ];
    expect(maximalMarginalRelevance(hits, 2).map((h) => h.chunkId)).toEqual(['a', 'c']);
    expect(hits.slice(0, 2).map((h) => h.chunkId)).toEqual(['a', 'b']);
  });
});
