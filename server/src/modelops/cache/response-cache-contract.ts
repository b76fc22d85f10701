import type { CachePolicy } from '@axon/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import type { CachedAnswer, CacheRequest, EmbedTexts, ResponseCache } from './response-cache';

/** Test clock, advanced by hand. */
export interface TestClock {
  now: () => number;
  advance(ms: number): void;
}

export const createTestClock = (start = Date.parse('2026-03-01T12:00:00Z')): TestClock => {
  let at = start;
  return {
    now: () => at,
    advance(ms) {
      at += ms;
    },
  };
};

/**
 * An embedder with fixed vectors for known texts (so a test says how similar two questions are) that
 * records its calls; unknown texts get a vector of their own, orthogonal to the known ones.
 */
export function createFakeEmbedder(vectors: Record<string, number[]>) {
  const calls: string[][] = [];
  const embed: EmbedTexts = async (texts) => {
    calls.push(texts);
    return texts.map((t) => vectors[t] ?? [0, 0, 0, 1]);
  };
  return { embed, calls };
}

// Cosines against Q: Q_CLOSE 0.95, Q_FAR 0.6.
export const Q = 'What did the FOMC decide in December 2023?';
export const Q_CLOSE = 'What was the FOMC decision in December 2023?';
export const Q_FAR = 'What did the FOMC decide in June 2022?';
export const FAKE_VECTORS: Record<string, number[]> = {
  [Q]: [1, 0, 0, 0],
  [Q_CLOSE]: [0.95, Math.sqrt(1 - 0.95 ** 2), 0, 0],
  [Q_FAR]: [0.6, 0, 0.8, 0],
};

// Treasury questions whose vectors are close to T's (cosines 0.95 to 0.97) but of which only
// T_PARAPHRASE asks the same thing: T_TENOR asks about another maturity, T_DATE about another day.
export const T = 'What was the 10-year Treasury yield on 2023-10-19?';
export const T_PARAPHRASE = 'What was the 10 year par yield on October 19, 2023?';
export const T_TENOR = 'What was the 2-year Treasury yield on 2023-10-19?';
export const T_DATE = 'What was the 10-year Treasury yield on 2023-10-20?';
const near = (c: number, axis: number) => [c, ...[1, 2, 3].map((i) => (i === axis ? Math.sqrt(1 - c ** 2) : 0))];
export const TREASURY_VECTORS: Record<string, number[]> = {
  [T]: [1, 0, 0, 0],
  [T_PARAPHRASE]: near(0.95, 1),
  [T_TENOR]: near(0.97, 2),
  [T_DATE]: near(0.97, 3),
};

export const buildPolicy = (overrides: Partial<CachePolicy> = {}): CachePolicy => ({ exact: true, ttlSeconds: 3600, ...overrides });

/** A single-turn request for `question` (a system prompt first), with its scope. */
export function buildRequest(question: string, overrides: Partial<CacheRequest> = {}): CacheRequest {
  return {
    body: {
      model: 'chat-default',
      messages: [
        { role: 'system', content: 'Answer from the passages.' },
        { role: 'user', content: question },
      ],
      temperature: 0,
    },
    modelVersion: 'chat-default@3',
    collectionIds: [],
    orgId: 'org-a',
    permissionKey: 'perm-1',
    policy: buildPolicy(),
    semanticText: question,
    ...overrides,
  };
}

let answers = 0;
export function buildAnswer(text = `Answer ${++answers}`, createdAt = Date.now()): CachedAnswer {
  return {
    completion: {
      id: `chatcmpl-${answers}`,
      object: 'chat.completion',
      created: Math.floor(createdAt / 1000),
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
    },
    createdAt,
  };
}

export type MakeResponseCache = (options: {
  now: () => number;
  embed?: EmbedTexts;
  semanticEntriesPerPartition?: number;
}) => Promise<ResponseCache>;

/** The behaviour every response cache has, run for each implementation. */
export function describeResponseCacheContract(name: string, make: MakeResponseCache): void {
  describe(`response cache (${name})`, () => {
    const opened: ResponseCache[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((c) => c.close()));
    });
    const open = async (options: { embed?: EmbedTexts; semanticEntriesPerPartition?: number } = {}) => {
      const clock = createTestClock();
      const cache = await make({ now: clock.now, ...options });
      opened.push(cache);
      return { cache, clock };
    };
    const semanticPolicy = buildPolicy({ semantic: { threshold: 0.9 } });

    it('answers the same request exactly, whatever its key order and delivery fields, and nothing else', async () => {
      const { cache } = await open();
      const req = buildRequest(Q);
      expect(await cache.lookup(req)).toBeUndefined();
      const answer = buildAnswer();
      await cache.store(req, answer);
      const reordered = buildRequest(Q, {
        body: { temperature: 0, stream: true, stream_options: { include_usage: true }, user: 'u-9', ...req.body },
      });
      const hit = await cache.lookup(reordered);
      expect(hit?.match).toBe('exact');
      expect(hit?.completion).toEqual(answer.completion);
      expect(hit?.createdAt).toBe(answer.createdAt);
      expect(await cache.lookup(buildRequest(Q, { body: { ...req.body, temperature: 0.7 } }))).toBeUndefined();
      expect(await cache.lookup(buildRequest(Q, { modelVersion: 'chat-default@4' }))).toBeUndefined();
      expect(await cache.lookup(buildRequest(Q_CLOSE))).toBeUndefined();
    });

    it('never gives an answer to another organisation or another permission set', async () => {
      const { embed } = createFakeEmbedder(FAKE_VECTORS);
      const { cache } = await open({ embed });
      await cache.store(buildRequest(Q, { policy: semanticPolicy }), buildAnswer());
      expect(await cache.lookup(buildRequest(Q, { policy: semanticPolicy }))).toBeDefined();
      for (const other of [{ orgId: 'org-b' }, { permissionKey: 'perm-2' }]) {
        expect(await cache.lookup(buildRequest(Q, { policy: semanticPolicy, ...other }))).toBeUndefined();
        expect(await cache.lookup(buildRequest(Q_CLOSE, { policy: semanticPolicy, ...other }))).toBeUndefined();
      }
      // Within the organisation and permission set, the close question does match.
      expect(await cache.lookup(buildRequest(Q_CLOSE, { policy: semanticPolicy }))).toMatchObject({ match: 'semantic' });
    });

    it('forgets answers grounded in a collection when it is bumped, not when another one is', async () => {
      const { embed } = createFakeEmbedder(FAKE_VECTORS);
      const { cache } = await open({ embed });
      const req = buildRequest(Q, { collectionIds: ['col-2', 'col-1'], policy: semanticPolicy });
      await cache.store(req, buildAnswer());
      await cache.bumpCollection('col-9');
      expect(await cache.lookup(buildRequest(Q, { collectionIds: ['col-1', 'col-2'], policy: semanticPolicy }))).toMatchObject({
        match: 'exact',
      });
      expect(await cache.lookup(buildRequest(Q_CLOSE, { collectionIds: ['col-1', 'col-2'], policy: semanticPolicy }))).toMatchObject({
        match: 'semantic',
      });
      await cache.bumpCollection('col-2');
      expect(await cache.lookup(req)).toBeUndefined();
      expect(await cache.lookup(buildRequest(Q_CLOSE, { collectionIds: ['col-1', 'col-2'], policy: semanticPolicy }))).toBeUndefined();
      // Stored again under the new generation, it is found again.
      await cache.store(req, buildAnswer());
      expect(await cache.lookup(req)).toBeDefined();
    });

    it('forgets answers made with a template when it is bumped (any version), not those of another organisation’s', async () => {
      const { cache } = await open();
      const mine = buildRequest(Q, { templateRef: 'fomc-brief@2' });
      const theirs = buildRequest(Q, { templateRef: 'fomc-brief@2', orgId: 'org-b' });
      await cache.store(mine, buildAnswer());
      await cache.store(theirs, buildAnswer());
      expect(await cache.lookup(buildRequest(Q, { templateRef: 'fomc-brief@1' }))).toBeUndefined();
      await cache.bumpTemplate('org-a', 'fomc-brief');
      expect(await cache.lookup(mine)).toBeUndefined();
      expect(await cache.lookup(theirs)).toBeDefined();
    });

    it('lets entries expire after the policy’s time to live', async () => {
      const { embed } = createFakeEmbedder(FAKE_VECTORS);
      const { cache, clock } = await open({ embed });
      const policy = buildPolicy({ ttlSeconds: 60, semantic: { threshold: 0.9 } });
      await cache.store(buildRequest(Q, { policy }), buildAnswer());
      clock.advance(59_000);
      expect(await cache.lookup(buildRequest(Q, { policy }))).toMatchObject({ match: 'exact' });
      expect(await cache.lookup(buildRequest(Q_CLOSE, { policy }))).toMatchObject({ match: 'semantic' });
      clock.advance(2000);
      expect(await cache.lookup(buildRequest(Q, { policy }))).toBeUndefined();
      expect(await cache.lookup(buildRequest(Q_CLOSE, { policy }))).toBeUndefined();
    });

    it('finds a question at least as similar as the threshold, and not one below it', async () => {
      const { embed, calls } = createFakeEmbedder(FAKE_VECTORS);
      const { cache } = await open({ embed });
      const first = buildAnswer('The Committee held the target range at 5-1/4 to 5-1/2 percent.');
      await cache.store(buildRequest(Q, { policy: semanticPolicy }), first);
      const hit = await cache.lookup(buildRequest(Q_CLOSE, { policy: semanticPolicy }));
      expect(hit?.match).toBe('semantic');
      expect(hit?.similarity).toBeCloseTo(0.95, 5);
      expect(hit?.completion).toEqual(first.completion);
      expect(await cache.lookup(buildRequest(Q_FAR, { policy: semanticPolicy }))).toBeUndefined();
      expect(await cache.lookup(buildRequest(Q_CLOSE, { policy: buildPolicy({ semantic: { threshold: 0.96 } }) }))).toBeUndefined();
      // Without a semantic policy there is no semantic matching (and no embedding).
      const before = calls.length;
      expect(await cache.lookup(buildRequest(Q_CLOSE))).toBeUndefined();
      expect(calls.length).toBe(before);
      // A lookup's embedding is reused by the store after it: one call for both.
      const req = buildRequest(Q_FAR, { policy: semanticPolicy });
      const counted = calls.length;
      await cache.lookup(req);
      await cache.store(req, buildAnswer());
      expect(calls.length).toBe(counted + 1);
    });

    it('answers a paraphrase, but not a question that differs in a tenor or a date however close its vector', async () => {
      const { embed } = createFakeEmbedder(TREASURY_VECTORS);
      const { cache } = await open({ embed });
      const policy = buildPolicy({ exact: false, semantic: { threshold: 0.9 } });
      await cache.store(buildRequest(T, { policy }), buildAnswer('4.99 percent'));
      expect(await cache.lookup(buildRequest(T_PARAPHRASE, { policy }))).toMatchObject({ match: 'semantic' });
      expect(await cache.lookup(buildRequest(T_TENOR, { policy }))).toBeUndefined();
      expect(await cache.lookup(buildRequest(T_DATE, { policy }))).toBeUndefined();
    });

    it('passes over closer cached questions that disagree on a slot for a farther one that agrees', async () => {
      const { embed } = createFakeEmbedder(TREASURY_VECTORS);
      const { cache } = await open({ embed });
      const policy = buildPolicy({ exact: false, semantic: { threshold: 0.9 } });
      await cache.store(buildRequest(T_TENOR, { policy }), buildAnswer('2-year'));
      await cache.store(buildRequest(T_DATE, { policy }), buildAnswer('next day'));
      expect(await cache.lookup(buildRequest(T, { policy }))).toBeUndefined();
      await cache.store(buildRequest(T_PARAPHRASE, { policy }), buildAnswer('paraphrase'));
      const hit = await cache.lookup(buildRequest(T, { policy }));
      expect(hit?.completion).toEqual(buildAnswerLike('paraphrase'));
      expect(hit?.similarity).toBeCloseTo(0.95, 5);
      // Another organisation's agreeing question is still never a candidate.
      expect(await cache.lookup(buildRequest(T, { policy, orgId: 'org-b' }))).toBeUndefined();
    });

    it('never matches multi-turn requests, or different system prompts or parameters, semantically', async () => {
      const { embed } = createFakeEmbedder(FAKE_VECTORS);
      const { cache } = await open({ embed });
      const multiTurn = (question: string) =>
        buildRequest(question, {
          policy: semanticPolicy,
          body: {
            model: 'chat-default',
            messages: [
              { role: 'user', content: 'Hello' },
              { role: 'assistant', content: 'Hi, how can I help?' },
              { role: 'user', content: question },
            ],
          },
        });
      await cache.store(multiTurn(Q), buildAnswer());
      expect(await cache.lookup(multiTurn(Q_CLOSE))).toBeUndefined();
      expect(await cache.lookup(multiTurn(Q))).toMatchObject({ match: 'exact' });

      await cache.store(buildRequest(Q, { policy: semanticPolicy }), buildAnswer());
      const otherSystem = buildRequest(Q_CLOSE, {
        policy: semanticPolicy,
        body: {
          model: 'chat-default',
          temperature: 0,
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: Q_CLOSE },
          ],
        },
      });
      expect(await cache.lookup(otherSystem)).toBeUndefined();
      const otherParams = buildRequest(Q_CLOSE, { policy: semanticPolicy });
      otherParams.body = { ...otherParams.body, temperature: 1 };
      expect(await cache.lookup(otherParams)).toBeUndefined();
      expect(await cache.lookup(buildRequest(Q_CLOSE, { policy: semanticPolicy }))).toMatchObject({ match: 'semantic' });
    });

    it('keeps a bounded number of entries per partition, the oldest going first', async () => {
      const vectors: Record<string, number[]> = { a: [1, 0, 0], b: [0, 1, 0], c: [0, 0, 1] };
      const { embed } = createFakeEmbedder(vectors);
      const { cache, clock } = await open({ embed, semanticEntriesPerPartition: 2 });
      const policy = buildPolicy({ exact: false, semantic: { threshold: 0.99 } });
      for (const q of ['a', 'b', 'c']) {
        await cache.store(buildRequest(q, { policy }), buildAnswer(q));
        clock.advance(1000);
      }
      expect(await cache.lookup(buildRequest('a', { policy }))).toBeUndefined();
      expect((await cache.lookup(buildRequest('b', { policy })))?.completion).toEqual(buildAnswerLike('b'));
      expect((await cache.lookup(buildRequest('c', { policy })))?.completion).toEqual(buildAnswerLike('c'));
    });

    it('honours no-store (neither lookup nor store) and no-cache (store, no lookup)', async () => {
      const { cache } = await open();
      await cache.store(buildRequest(Q, { noStore: true }), buildAnswer());
      expect(await cache.lookup(buildRequest(Q))).toBeUndefined();
      await cache.store(buildRequest(Q, { noCache: true }), buildAnswer());
      expect(await cache.lookup(buildRequest(Q, { noCache: true }))).toBeUndefined();
      expect(await cache.lookup(buildRequest(Q, { noStore: true }))).toBeUndefined();
      expect(await cache.lookup(buildRequest(Q))).toMatchObject({ match: 'exact' });
    });

    it('stores only semantically when exact matching is off', async () => {
      const { embed } = createFakeEmbedder(FAKE_VECTORS);
      const { cache } = await open({ embed });
      const policy = buildPolicy({ exact: false, semantic: { threshold: 0.9 } });
      await cache.store(buildRequest(Q, { policy }), buildAnswer());
      expect(await cache.lookup(buildRequest(Q, { policy }))).toMatchObject({ match: 'semantic' });
      expect(await cache.lookup(buildRequest(Q))).toBeUndefined();
    });
  });
}

/** The content a `buildAnswer(text)` holds, for comparing with what a lookup returns. */
function buildAnswerLike(text: string) {
  return expect.objectContaining({ choices: [expect.objectContaining({ message: { role: 'assistant', content: text } })] });
}
