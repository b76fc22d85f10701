import Anthropic from '@anthropic-ai/sdk';
import { type SimulatedUpstream, startSimulatedUpstream } from '@axon/bench/simulated-upstream';
import type { DeploymentStatus, ModelList } from '@axon/contracts';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { HOME_ORG_ID } from '../store';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

// Two upstreams: `sim` serves the stable versions, `cand` the candidates, so which version served
// a request is seen in which upstream received it.
let t: TestServer;
let cand: SimulatedUpstream;
let client: OpenAI;
let clientKey: string;
let otherKey: string;
let otherOrgKey: string;
let ownerId: string;
let anthropic: Anthropic;
/** An admin's key, for the deployments API. */
let opsKey: string;
let authService: ReturnType<typeof createAuthService>;
const auth = () => authService;

const canary = {
  type: 'canary',
  stable: 1,
  candidate: 2,
  steps: [50, 100],
  minSamples: 10,
  stepSeconds: 0,
  thresholds: { errorRate: 0.2, ttftP95Ms: 60_000, negativeFeedbackRate: 0.5 },
  sticky: 'request',
};
const versions = [
  { model: 'sim/sim-1', params: { temperature: 0.1 } },
  { model: 'cand/sim-1', params: { temperature: 0.9 } },
];
// For /v1/messages and /v1/responses: a template on both versions, and parameters the candidate's
// upstream must receive under chat completions' names (some have no field on those wires).
const routeVersions = [
  { model: 'sim/sim-1', params: { temperature: 0.1 }, prompt: 'route-tone@1' },
  {
    model: 'cand/sim-1',
    params: { temperature: 0.9, top_p: 0.5, seed: 7, max_tokens: 99, presence_penalty: 0.25, stop: ['<|halt|>'] },
    prompt: 'route-tone@1',
  },
];
const shadowed = {
  versions: [{ model: 'sim/sim-1' }, { model: 'cand/sim-1', params: { temperature: 0.7 } }],
  policy: { type: 'fixed', version: 1 },
  shadow: { version: 2, share: 1 },
};

beforeAll(async () => {
  cand = await startSimulatedUpstream({ models: ['sim-1'], record: true });
  t = await startTestServer({
    overrides: {
      'localModel.wordDelayMs': 0,
      'modelOps.controlIntervalMs': 0,
      aliases: {
        'chat-canary': { versions, policy: canary },
        'chat-healthy': { versions, policy: canary },
        'chat-ab': {
          versions,
          policy: {
            type: 'ab',
            variants: [
              { name: 'a', version: 1, weight: 1 },
              { name: 'b', version: 2, weight: 1 },
            ],
            sticky: 'conversation',
            metric: 'feedback',
            delta: 0.05,
            minSamples: 10,
          },
        },
        'chat-shadow': { versions, policy: { type: 'fixed', version: 1 }, shadow: { version: 2, share: 1 } },
        'chat-cached': { versions, policy: { type: 'fixed', version: 1 }, cache: { exact: true, ttlSeconds: 600 } },
        'chat-fallback': {
          versions: [{ model: 'cand/sim-1', fallbacks: ['sim/sim-1'] }],
          policy: { type: 'fixed', version: 1 },
        },
        'chat-pause': { versions: [{ model: 'cand/sim-1', fallbacks: ['sim/sim-1'] }], policy: { type: 'fixed', version: 1 } },
        'chat-pause-only': { versions: [{ model: 'cand/sim-1' }], policy: { type: 'fixed', version: 1 } },
        'chat-pool': {
          versions: [
            {
              model: 'sim/sim-1',
              endpoints: [{ connection: 'cand' }, { connection: 'sim' }],
              balance: 'least-outstanding',
            },
          ],
          policy: { type: 'fixed', version: 1 },
        },
        'msg-canary': { versions: routeVersions, policy: { ...canary, minSamples: 10_000, sticky: 'conversation' } },
        'resp-split': {
          versions: routeVersions,
          policy: {
            type: 'weighted',
            split: [
              { version: 1, weight: 1 },
              { version: 2, weight: 1 },
            ],
            sticky: 'conversation',
          },
        },
        'msg-fallback': { versions: [{ model: 'cand/sim-1', fallbacks: ['sim/sim-1'] }], policy: { type: 'fixed', version: 1 } },
        'resp-fallback': { versions: [{ model: 'cand/sim-1', fallbacks: ['sim/sim-1'] }], policy: { type: 'fixed', version: 1 } },
        'msg-shadow': shadowed,
        'resp-shadow': shadowed,
      },
      prices: { 'sim/sim-1': { input: 1, output: 2 }, 'cand/sim-1': { input: 1, output: 2 } },
    },
    moreConnections: [{ name: 'cand', baseURL: cand.url }],
  });
  // The template the routes' aliases name, in the first organisation (an alias's templates are the installation's).
  await t.server.store.prompts.create(HOME_ORG_ID, {
    name: 'route-tone',
    description: '',
    system: 'Answer as the support desk.',
    message: 'Question: {{ input }}',
    variables: [],
    note: '',
    createdBy: null,
  });
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 1000 });
  authService = auth;
  const user = await auth.createUser({ email: 'dev@example.com', password: 'dev password 1', role: 'member' });
  clientKey = (await auth.createApiKey(user.id, 'sdk')).key;
  client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: clientKey, maxRetries: 0 });
  const someoneElse = await auth.createUser({ email: 'else@example.com', password: 'dev password 1', role: 'member' });
  otherKey = (await auth.createApiKey(someoneElse.id, 'sdk')).key;
  const acme = await t.server.store.organizations.create({ slug: 'acme', name: 'Acme', limits: {}, promptLogMode: null });
  const outsider = await auth.createUser({ email: 'out@example.com', password: 'dev password 1', role: 'member', orgId: acme.id });
  otherOrgKey = (await auth.createApiKey(outsider.id, 'sdk')).key;
  ownerId = user.id;
  anthropic = new Anthropic({ baseURL: t.url, apiKey: clientKey, maxRetries: 0 });
  const operator = await auth.createUser({ email: 'ops@example.com', password: 'ops password 1', role: 'admin' });
  opsKey = (await auth.createApiKey(operator.id, 'deployments', { scopes: ['admin'] })).key;
});
afterAll(async () => {
  await t?.close();
  await cand?.close();
});
beforeEach(() => {
  t.upstream.set({ mode: 'ok', tokens: 4, tokenDelayMs: 0 });
  cand.set({ mode: 'ok', tokens: 4, tokenDelayMs: 0 });
});

const ask = (model: string, conversation?: string) =>
  client.chat.completions.create(
    { model, messages: [{ role: 'user', content: 'hello' }] },
    conversation ? { headers: { 'x-axon-conversation': conversation } } : {},
  );

/** Asks n times; resolves with how many answers failed. */
async function askMany(model: string, n: number): Promise<number> {
  let failed = 0;
  for (let i = 0; i < n; i++) await ask(model).catch(() => failed++);
  return failed;
}

const alias = (name: string) => t.server.store.modelRegistry.getAlias(name);
/** The live figures of an alias, as the deployments page reads them. */
async function describe_(name: string) {
  const found = await alias(name);
  if (!found) throw new Error(`no alias ${name}`);
  return t.server.modelOps.describe(found);
}
/** The temperature the candidate's upstream was last sent. */
const lastTemperature = () => (cand.requests.at(-1)?.body as { temperature?: number } | undefined)?.temperature;

describe('model aliases through /v1', () => {
  it('are listed as models, and a version can be pinned', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['chat-canary', 'chat-ab', 'sim/sim-1']));
    const before = cand.requests.length;
    const pinned = await ask('chat-canary@2');
    expect(pinned.choices[0]?.message.content).toBeTruthy();
    expect(cand.requests.length).toBe(before + 1);
    // The version's parameters go with it; the caller's own win.
    expect(lastTemperature()).toBe(0.9);
    await client.chat.completions.create({ model: 'chat-canary@2', messages: [{ role: 'user', content: 'hi' }], temperature: 0.3 });
    expect(lastTemperature()).toBe(0.3);
    await expect(ask('chat-canary@9')).rejects.toMatchObject({ status: 404 });
    await expect(ask('no-such-alias')).rejects.toMatchObject({ status: 404 });
  });

  it('roll a canary back on its own when its error rate crosses the threshold', async () => {
    cand.set({ mode: 'fail-500' });
    const failed = await askMany('chat-canary', 40);
    // About half went to the failing candidate (50 % at the first step), and failed.
    expect(failed).toBeGreaterThan(5);
    expect(failed).toBeLessThan(35);
    const changes = await t.server.modelOps.control();
    expect(changes.map((c) => [c.alias, c.action])).toContainEqual(['chat-canary', 'rollback']);
    const after = await alias('chat-canary');
    expect(after?.policy).toEqual({ type: 'fixed', version: 1 });
    expect(after?.state?.status).toBe('rolled-back');
    expect(after?.state?.reason).toMatch(/error rate/);
    // From now on nothing reaches the candidate.
    const before = cand.requests.length;
    expect(await askMany('chat-canary', 10)).toBe(0);
    expect(cand.requests.length).toBe(before);
    const audit = await t.server.store.audit.list({ limit: 50 });
    expect(audit.some((e) => e.action === 'deployment.rollback' && e.target === 'alias:chat-canary')).toBe(true);
  });

  it('promote a healthy canary step by step', async () => {
    expect(await askMany('chat-healthy', 30)).toBe(0);
    const first = await t.server.modelOps.control();
    expect(first.find((c) => c.alias === 'chat-healthy')?.action).toBe('advance');
    expect((await alias('chat-healthy'))?.state?.step).toBe(1);
    expect(await askMany('chat-healthy', 20)).toBe(0);
    const second = await t.server.modelOps.control();
    expect(second.find((c) => c.alias === 'chat-healthy')?.action).toBe('promote');
    const promoted = await alias('chat-healthy');
    expect(promoted?.policy).toEqual({ type: 'fixed', version: 2 });
    expect(promoted?.state?.status).toBe('promoted');
  });

  it('keep a conversation on its A/B variant, and stop the test at a significant winner from /v1/feedback', async () => {
    const variantOf = async (conversation: string) => {
      const before = cand.requests.length;
      const answer = await ask('chat-ab', conversation);
      return { id: answer.id, variant: cand.requests.length > before ? 'b' : 'a' };
    };
    // Sticky: every turn of a conversation has the same variant.
    for (const conversation of ['c-1', 'c-2', 'c-3', 'c-4']) {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add((await variantOf(conversation)).variant);
      expect(seen.size).toBe(1);
    }
    // Feedback: b's answers are liked, a's are not.
    let rated = 0;
    for (let i = 0; i < 400 && rated < 120; i++) {
      const { id, variant } = await variantOf(`ab-${i}`);
      const response = await fetch(`${t.url}/v1/feedback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ response_id: id, value: variant === 'b' ? 'up' : 'down' }),
      });
      expect(response.status).toBe(200);
      rated++;
    }
    const status = await describe_('chat-ab');
    expect(status.report?.significant).toBe(true);
    expect(status.report?.leader).toBe('b');
    await t.server.modelOps.control();
    const stopped = await alias('chat-ab');
    expect(stopped?.state).toMatchObject({ status: 'stopped', winner: 'b' });
    // Everyone gets the winner now.
    const before = cand.requests.length;
    await ask('chat-ab', 'after-the-test');
    expect(cand.requests.length).toBe(before + 1);
  });

  it('take feedback only from the person an answer served, and only for answers of aliases', async () => {
    const answer = await ask('chat-ab', 'mine');
    const post = (key: string, body: unknown) =>
      fetch(`${t.url}/v1/feedback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post(otherKey, { response_id: answer.id, value: 'up' })).status).toBe(404);
    const plain = await client.chat.completions.create({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }] });
    const refused = await post(clientKey, { response_id: plain.id, value: 'up' });
    expect(refused.status).toBe(404);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/model alias/);
    const invalid = await post(clientKey, { response_id: answer.id, value: 'great' });
    expect(invalid.status).toBe(400);
    expect((await post(clientKey, { response_id: answer.id, value: null })).status).toBe(200);
  });

  it('mirror shadow traffic to the candidate without ever returning its answer', async () => {
    cand.set({ content: 'the shadow answer' });
    const before = cand.requests.length;
    for (let i = 0; i < 5; i++) {
      const answer = await ask('chat-shadow');
      expect(answer.choices[0]?.message.content).not.toContain('shadow');
    }
    const stream = await client.chat.completions.create({
      model: 'chat-shadow',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).not.toContain('shadow');
    await t.server.modelOps.shadow.idle();
    expect(cand.requests.length).toBe(before + 6);
    const status = await describe_('chat-shadow');
    expect(status.shadow?.requests).toBe(6);
    expect(status.shadow?.meanSimilarity).toBeLessThan(0.5);
  });
});

/** One `/v1/chat/completions` call over plain HTTP, with its headers. */
async function complete(key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, cache: response.headers.get('x-axon-cache'), text: await response.text() };
}

describe('the response cache of an alias', () => {
  it('answers the same request again without a model call, streamed or not, and honours no-store and no-cache', async () => {
    t.upstream.set({ content: 'the cached answer' });
    const body = { model: 'chat-cached', messages: [{ role: 'user', content: 'what is cached?' }] };
    const first = await complete(clientKey, body);
    expect(first).toMatchObject({ status: 200, cache: 'miss' });
    t.upstream.set({ content: 'a fresh answer' });
    const calls = t.upstream.stats.completions;
    const second = await complete(clientKey, body);
    expect(second.cache).toBe('hit');
    expect(JSON.parse(second.text).choices[0].message.content).toBe('the cached answer');
    const streamed = await complete(clientKey, { ...body, stream: true });
    expect(streamed.cache).toBe('hit');
    const deltas = streamed.text
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => JSON.parse(e.slice(6)).choices?.[0]?.delta?.content ?? '')
      .join('');
    expect(deltas).toBe('the cached answer');
    expect(t.upstream.stats.completions).toBe(calls);
    // no-cache asks the model again (and keeps the new answer); no-store neither reads nor keeps.
    const revalidated = await complete(clientKey, body, { 'cache-control': 'no-cache' });
    expect(JSON.parse(revalidated.text).choices[0].message.content).toBe('a fresh answer');
    t.upstream.set({ content: 'not kept' });
    const unstored = await complete(clientKey, body, { 'cache-control': 'no-store' });
    expect(JSON.parse(unstored.text).choices[0].message.content).toBe('not kept');
    expect(JSON.parse((await complete(clientKey, body)).text).choices[0].message.content).toBe('a fresh answer');
  });

  it('keeps an answer that was streamed, and gives it again whole or streamed', async () => {
    t.upstream.set({ content: 'streamed "once", kept' });
    const body = { model: 'chat-cached', messages: [{ role: 'user', content: 'what is kept from a stream?' }] };
    const streamed = await complete(clientKey, { ...body, stream: true });
    expect(streamed).toMatchObject({ status: 200, cache: 'miss' });
    t.upstream.set({ content: 'not asked for' });
    const calls = t.upstream.stats.completions;
    // Kept as the stream ended, before the caller could ask again.
    const whole = await complete(clientKey, body);
    expect(whole.cache).toBe('hit');
    expect(JSON.parse(whole.text)).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { content: 'streamed "once", kept' } }],
    });
    const replayed = await complete(clientKey, { ...body, stream: true });
    expect(replayed.cache).toBe('hit');
    const deltas = replayed.text
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => JSON.parse(e.slice(6)).choices?.[0]?.delta?.content ?? '')
      .join('');
    expect(deltas).toBe('streamed "once", kept');
    expect(t.upstream.stats.completions).toBe(calls);
  });

  it("never gives another organisation's answer, and forgets answers drawn from a collection that changed", async () => {
    t.upstream.set({ content: 'for one organisation' });
    const body = { model: 'chat-cached', messages: [{ role: 'user', content: 'whose answer?' }] };
    expect((await complete(clientKey, body)).cache).toBe('miss');
    expect((await complete(clientKey, body)).cache).toBe('hit');
    expect((await complete(otherOrgKey, body)).cache).toBe('miss');

    const collection = await t.server.store.collections.create({ ownerId, name: 'cache-notes' });
    const added = await t.server.ingestion.addFile({
      collectionId: collection.id,
      userId: ownerId,
      name: 'notes.txt',
      bytes: new TextEncoder().encode('The cache keeps answers for ten minutes.'),
    });
    await t.server.ingestion.idle();
    const grounded = {
      ...body,
      messages: [{ role: 'user', content: 'how long does the cache keep answers?' }],
      collections: [collection.id],
    };
    expect((await complete(clientKey, grounded)).cache).toBe('miss');
    expect((await complete(clientKey, grounded)).cache).toBe('hit');
    // A member of the organisation who may not read the collection gets no answer drawn from it.
    const refused = await complete(otherKey, grounded);
    expect(refused.status).toBe(404);
    expect(refused.text).not.toContain('for one organisation');
    // A document indexed into it, then one deleted from it: each time the cached answer is dropped.
    await t.server.ingestion.addFile({
      collectionId: collection.id,
      userId: ownerId,
      name: 'more-notes.txt',
      bytes: new TextEncoder().encode('Answers older than ten minutes are asked again.'),
    });
    await t.server.ingestion.idle();
    expect((await complete(clientKey, grounded)).cache).toBe('miss');
    expect((await complete(clientKey, grounded)).cache).toBe('hit');
    if (!('document' in added)) throw new Error('the upload failed');
    const document = await t.server.store.documents.get(added.document.id);
    if (!document) throw new Error('no document');
    await t.server.ingestion.deleteDocument(document);
    expect((await complete(clientKey, grounded)).cache).toBe('miss');
  });
});

describe('endpoints and fallbacks of an alias version', () => {
  it('follows the fallback chain before the first token when the version fails', async () => {
    cand.set({ mode: 'fail-500' });
    t.upstream.set({ content: 'from the fallback' });
    const answer = await ask('chat-fallback');
    expect(answer.choices[0]?.message.content).toBe('from the fallback');
    const stream = await client.chat.completions.create({
      model: 'chat-fallback',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('from the fallback');
  });

  it('serves every request from the endpoints that work while one fails', async () => {
    cand.set({ mode: 'fail-500' });
    expect(await askMany('chat-pool', 20)).toBe(0);
    cand.set({ mode: 'ok' });
  });

  it('skips an endpoint that answered 429 with Retry-After until that time, then calls it again', async () => {
    const completions = () => cand.requests.filter((r) => r.url.endsWith('/chat/completions')).length;
    // The simulated upstream's 429 says `Retry-After: 1`.
    cand.set({ mode: 'fail-429' });
    t.upstream.set({ content: 'from the fallback' });
    const before = completions();
    expect((await ask('chat-pause')).choices[0]?.message.content).toBe('from the fallback');
    expect(completions()).toBe(before + 1);
    cand.set({ mode: 'ok', content: 'from the version' });
    // Paused: the version's endpoint is passed over, straight to the fallback.
    expect((await ask('chat-pause')).choices[0]?.message.content).toBe('from the fallback');
    expect(completions()).toBe(before + 1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await ask('chat-pause')).choices[0]?.message.content).toBe('from the version');
    expect(completions()).toBe(before + 2);
  });

  it('answers 429 with Retry-After and an OpenAI error when every endpoint is paused', async () => {
    const completions = () => cand.requests.filter((r) => r.url.endsWith('/chat/completions')).length;
    cand.set({ mode: 'fail-429' });
    const before = completions();
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat-pause-only', stream: true, messages: [{ role: 'user', content: 'hello' }] }),
      });
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(await response.json()).toEqual({
        error: { message: expect.stringContaining('try again in 1 s'), type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' },
      });
    }
    // The second request found the endpoint paused and sent nothing.
    expect(completions()).toBe(before + 1);
    await expect(ask('chat-pause-only')).rejects.toMatchObject({ status: 429 });
  });
});

describe('model aliases in the web chat', () => {
  it('are offered in the model picker, answer a conversation, and count its thumbs for their variant', async () => {
    const web = new WebClient(t.url);
    await auth().createUser({ email: 'web@example.com', password: 'web password 1', role: 'member' });
    await web.login('web@example.com', 'web password 1');
    const { body: list } = await web.json<ModelList>('GET', '/api/models');
    expect(list.models.map((m) => m.id)).toEqual(expect.arrayContaining(['chat-ab', 'chat-cached']));
    const conversation = (await web.json<{ id: string }>('POST', '/api/conversations', { model: 'chat-pool' })).body;
    const turn = await web.request('POST', `/api/conversations/${conversation.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'u1', text: 'hello' },
    });
    expect(turn.status).toBe(200);
    await turn.text();
    const { body: thread } = await web.json<{ messages: Array<{ id: string; role: string; status: string; model: string | null }> }>(
      'GET',
      `/api/conversations/${conversation.id}`,
    );
    const answer = thread.messages.find((m) => m.role === 'assistant');
    expect(answer).toMatchObject({ status: 'complete', model: 'chat-pool' });
    const before = (await describe_('chat-pool')).arms.find((a) => a.arm === 'v1');
    const rated = await web.json('PUT', `/api/messages/${answer?.id}/feedback`, { value: 'up' });
    expect(rated.status).toBe(200);
    await expect
      .poll(async () => (await describe_('chat-pool')).arms.find((a) => a.arm === 'v1')?.thumbsUp)
      .toBe((before?.thumbsUp ?? 0) + 1);
    // Changing one's mind moves the vote; it is not counted twice.
    await web.json('PUT', `/api/messages/${answer?.id}/feedback`, { value: 'down' });
    await expect.poll(async () => (await describe_('chat-pool')).arms.find((a) => a.arm === 'v1')?.thumbsDown).toBe(1);
    expect((await describe_('chat-pool')).arms.find((a) => a.arm === 'v1')?.thumbsUp).toBe(before?.thumbsUp ?? 0);
  });
});

/** An alias's live figures through the deployments API, as the deployments page reads them. */
async function figures(name: string): Promise<DeploymentStatus> {
  const response = await fetch(`${t.url}/api/deployments/${name}`, { headers: { authorization: `Bearer ${opsKey}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as DeploymentStatus;
}
/** Requests (and errors) counted per arm. */
const counted = async (name: string) =>
  Object.fromEntries((await figures(name)).arms.map((a) => [a.arm, { requests: a.requests, errors: a.errors }]));

type Sent = { messages: Array<{ role: string; content: unknown }> } & Record<string, unknown>;
/** What an upstream was last sent. */
const lastSent = (upstream: SimulatedUpstream) => upstream.requests.at(-1)?.body as Sent;

/**
 * Asks `ask` three times in each of ten conversations; checks every conversation stays on one
 * version, each version's request carries its parameters and template, and both versions served.
 * Resolves with how many requests each upstream served.
 */
async function stickyConversations(ask: (conversation: string) => Promise<string>, route: string) {
  const served = { sim: 0, cand: 0 };
  for (let c = 0; c < 10; c++) {
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const before = cand.requests.length;
      expect(await ask(`${route}-${c}`)).toBeTruthy();
      const onCandidate = cand.requests.length > before;
      seen.add(onCandidate ? 'cand' : 'sim');
      served[onCandidate ? 'cand' : 'sim']++;
      const sent = lastSent(onCandidate ? cand : t.upstream);
      // The version's template: its system prompt first, its message around the caller's.
      expect(sent.messages[0]).toMatchObject({ role: 'system', content: 'Answer as the support desk.' });
      expect(JSON.stringify(sent.messages.at(-1)?.content)).toContain('Question: hello');
      if (onCandidate) expect(sent).toMatchObject({ temperature: 0.9, top_p: 0.5, seed: 7, presence_penalty: 0.25, stop: ['<|halt|>'] });
      else {
        expect(sent.temperature).toBe(0.1);
        expect(sent.seed).toBeUndefined();
      }
    }
    expect(seen.size).toBe(1);
  }
  expect(served.sim).toBeGreaterThan(0);
  expect(served.cand).toBeGreaterThan(0);
  return served;
}

describe('model aliases through /v1/messages and /v1/responses', () => {
  beforeEach(() => t.server.modelOps.shadow.idle());

  it('/v1/messages: a canary sticks per conversation, carries its version, and counts for its arm', async () => {
    const served = await stickyConversations(async (conversation) => {
      const reply = await anthropic.messages.create(
        { model: 'msg-canary', max_tokens: 256, messages: [{ role: 'user', content: 'hello' }] },
        { headers: { 'x-axon-conversation': conversation } },
      );
      return reply.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    }, 'msg');
    // max_tokens is the caller's on this wire, always.
    expect(lastSent(cand).max_tokens).toBe(256);
    // The caller's own values win over the version's.
    const before = cand.requests.length;
    let asked = 0;
    for (; cand.requests.length === before && asked < 10; asked++)
      await anthropic.messages.create(
        {
          model: 'msg-canary',
          max_tokens: 64,
          messages: [{ role: 'user', content: 'hello' }],
          // A sampling setting older models take (this SDK's types no longer list it).
          ...({ temperature: 0.3 } as object),
        },
        { headers: { 'x-axon-conversation': `msg-${asked}` } },
      );
    expect(lastSent(cand)).toMatchObject({ temperature: 0.3, max_tokens: 64 });
    // Every request counts for the arm that served it.
    await expect
      .poll(() => counted('msg-canary'))
      .toEqual({ stable: { requests: served.sim + asked - 1, errors: 0 }, candidate: { requests: served.cand + 1, errors: 0 } });
    const status = await figures('msg-canary');
    const stable = status.arms.find((a) => a.arm === 'stable');
    const candidate = status.arms.find((a) => a.arm === 'candidate');
    expect(stable?.ttftP50Ms).not.toBeNull();
    expect(candidate?.ttftP50Ms).not.toBeNull();
    expect(candidate?.costUsd).toBeGreaterThan(0);
    expect(stable?.costUsd).toBeGreaterThan(0);
  });

  it('/v1/responses: a weighted split sticks per conversation, carries its version, and counts for its arm', async () => {
    const served = await stickyConversations(async (conversation) => {
      const response = await client.responses.create(
        { model: 'resp-split', input: 'hello' },
        { headers: { 'x-axon-conversation': conversation } },
      );
      return response.output_text;
    }, 'resp');
    // The version's max_tokens, as the wire's max_output_tokens, where the caller set none; the caller's wins.
    expect(lastSent(cand).max_tokens).toBe(99);
    const before = cand.requests.length;
    let asked = 0;
    for (; cand.requests.length === before && asked < 10; asked++)
      await client.responses.create(
        { model: 'resp-split', input: 'hello', max_output_tokens: 50, temperature: 0.3 },
        { headers: { 'x-axon-conversation': `resp-${asked}` } },
      );
    expect(lastSent(cand)).toMatchObject({ max_tokens: 50, temperature: 0.3, seed: 7 });
    await expect
      .poll(() => counted('resp-split'))
      .toEqual({ v1: { requests: served.sim + asked - 1, errors: 0 }, v2: { requests: served.cand + 1, errors: 0 } });
    for (const arm of (await figures('resp-split')).arms) {
      expect(arm.ttftP50Ms).not.toBeNull();
      expect(arm.costUsd).toBeGreaterThan(0);
    }
  });

  it('fall back to the fallback version when the primary fails before the first token, streamed or not', async () => {
    cand.set({ mode: 'fail-500' });
    t.upstream.set({ content: 'from the fallback' });
    const message = await anthropic.messages.create({
      model: 'msg-fallback',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'from the fallback' }]);
    const streamed = await anthropic.messages
      .stream({ model: 'msg-fallback', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage();
    expect(streamed.content).toEqual([{ type: 'text', text: 'from the fallback' }]);

    const response = await client.responses.create({ model: 'resp-fallback', input: 'hi' });
    expect(response.output_text).toBe('from the fallback');
    const stream = await client.responses.create({ model: 'resp-fallback', input: 'hi', stream: true });
    let text = '';
    for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
    expect(text).toBe('from the fallback');
    // Each answered request counts once for the alias's arm, as a success.
    await expect.poll(() => counted('msg-fallback')).toEqual({ v1: { requests: 2, errors: 0 } });
    await expect.poll(() => counted('resp-fallback')).toEqual({ v1: { requests: 2, errors: 0 } });
    // Their ids take feedback for the arm.
    for (const [id, name] of [
      [message.id, 'msg-fallback'],
      [response.id, 'resp-fallback'],
    ]) {
      const rated = await fetch(`${t.url}/v1/feedback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ response_id: id, value: 'up' }),
      });
      expect(rated.status).toBe(200);
      await expect.poll(async () => (await figures(name as string)).arms[0]?.thumbsUp).toBe(1);
    }
  });

  it('count a failed answer as an error of its arm', async () => {
    cand.set({ mode: 'fail-500' });
    t.upstream.set({ mode: 'fail-500' });
    await expect(
      anthropic.messages.create({ model: 'msg-fallback', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 502 });
    await expect(client.responses.create({ model: 'resp-fallback', input: 'hi' })).rejects.toMatchObject({ status: 502 });
    await expect.poll(() => counted('msg-fallback')).toEqual({ v1: { requests: 3, errors: 1 } });
    await expect.poll(() => counted('resp-fallback')).toEqual({ v1: { requests: 3, errors: 1 } });
  });

  it('mirror shadow traffic to the shadow version with its parameters, never returning its answer', async () => {
    cand.set({ content: 'the shadow answer' });
    const before = cand.requests.length;
    const message = await anthropic.messages.create({ model: 'msg-shadow', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    expect(JSON.stringify(message.content)).not.toContain('shadow');
    const streamed = await anthropic.messages
      .stream({ model: 'msg-shadow', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage();
    expect(JSON.stringify(streamed.content)).not.toContain('shadow');
    await t.server.modelOps.shadow.idle();
    expect(cand.requests.length).toBe(before + 2);
    expect(lastSent(cand)).toMatchObject({ temperature: 0.7, max_tokens: 64 });
    expect(lastSent(cand).messages.at(-1)).toMatchObject({ role: 'user' });

    const response = await client.responses.create({ model: 'resp-shadow', input: 'hi' });
    expect(response.output_text).not.toContain('shadow');
    const stream = await client.responses.create({ model: 'resp-shadow', input: 'hi', stream: true });
    for await (const event of stream) if (event.type === 'response.output_text.delta') expect(event.delta).not.toContain('shadow');
    await t.server.modelOps.shadow.idle();
    expect(cand.requests.length).toBe(before + 4);
    expect(lastSent(cand).temperature).toBe(0.7);

    for (const name of ['msg-shadow', 'resp-shadow']) {
      const status = await figures(name);
      expect(status.shadow?.requests).toBe(2);
      expect(status.shadow?.meanSimilarity).toBeLessThan(0.5);
    }
  });
});
