import { type SimulatedUpstream, startSimulatedUpstream, tokenText } from '@axon/bench/simulated-upstream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

// `sim` (the test server's own upstream) and `cand` (a second one): which served an answer is
// seen in which received the request.
let t: TestServer;
let cand: SimulatedUpstream;
let web: WebClient;

beforeAll(async () => {
  cand = await startSimulatedUpstream({ models: ['sim-1'], record: true });
  t = await startTestServer({
    overrides: {
      'modelOps.controlIntervalMs': 0,
      aliases: {
        'web-fallback': { versions: [{ model: 'cand/sim-1', fallbacks: ['sim/sim-1'] }], policy: { type: 'fixed', version: 1 } },
        // Its own pool, so that the failures of the tests before leave its breaker closed.
        'web-partial': { versions: [{ model: 'cand/sim-1', fallbacks: ['sim/sim-1'] }], policy: { type: 'fixed', version: 1 } },
        'web-pool': {
          versions: [{ model: 'sim/sim-1', endpoints: [{ connection: 'cand' }, { connection: 'sim' }], balance: 'least-outstanding' }],
          policy: { type: 'fixed', version: 1 },
        },
        'web-shadow': {
          versions: [{ model: 'sim/sim-1' }, { model: 'cand/sim-1', params: { temperature: 0.7 } }],
          policy: { type: 'fixed', version: 1 },
          shadow: { version: 2, share: 1 },
        },
      },
    },
    moreConnections: [{ name: 'cand', baseURL: cand.url }],
  });
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  await auth.createUser({ email: 'web@example.com', password: 'web password 1', role: 'member' });
  web = new WebClient(t.url);
  await web.login('web@example.com', 'web password 1');
});
afterAll(async () => {
  await t?.close();
  await cand?.close();
});
beforeEach(() => {
  t.upstream.set({ mode: 'ok', tokens: 4, tokenDelayMs: 0, content: undefined });
  cand.set({ mode: 'ok', tokens: 4, tokenDelayMs: 0, content: undefined });
});

interface Thread {
  messages: Array<{ role: string; status: string; content: string; error?: string | null }>;
}

/** One turn of a new conversation with `model`; resolves with the saved answer and the stream's text. */
async function turn(model: string, text = 'hello') {
  const conversation = (await web.json<{ id: string }>('POST', '/api/conversations', { model })).body;
  const response = await web.request('POST', `/api/conversations/${conversation.id}/chat`, {
    trigger: 'submit-message',
    message: { id: 'u1', text },
  });
  expect(response.status).toBe(200);
  const streamed = await response.text();
  const { body } = await web.json<Thread>('GET', `/api/conversations/${conversation.id}`);
  const answer = body.messages.find((m) => m.role === 'assistant');
  if (!answer) throw new Error('no answer saved');
  return { answer, streamed };
}

describe('alias versions in the web chat', () => {
  it('follow the fallback chain before the first token, and show nothing of the failed try', async () => {
    cand.set({ mode: 'fail-500' });
    t.upstream.set({ content: 'from the fallback' });
    const before = cand.requests.length;
    const { answer, streamed } = await turn('web-fallback');
    expect(cand.requests.length).toBeGreaterThan(before);
    expect(answer).toMatchObject({ status: 'complete', content: 'from the fallback' });
    expect(streamed).not.toMatch(/"type":"error"/);
  });

  it('fall back when a stream ends before its answer began', async () => {
    cand.set({ mode: 'drop', dropAfter: 0 });
    t.upstream.set({ content: 'served after the drop' });
    const { answer } = await turn('web-fallback');
    expect(answer).toMatchObject({ status: 'complete', content: 'served after the drop' });
  });

  it('keep the partial answer when the stream fails after its first token, without another try', async () => {
    cand.set({ mode: 'drop', dropAfter: 2, tokens: 8 });
    const served = t.upstream.requests.length;
    const { answer } = await turn('web-partial');
    expect(answer.status).toBe('error');
    expect(answer.content).toBe(`${tokenText(0)}${tokenText(1)}`);
    // The fallback was not asked: the answer had begun.
    expect(t.upstream.requests.length).toBe(served);
  });

  it("serve every answer from the pool's working endpoint while another fails", async () => {
    cand.set({ mode: 'fail-500' });
    for (let i = 0; i < 6; i++) {
      const { answer } = await turn('web-pool', `question ${i}`);
      expect(answer.status).toBe('complete');
    }
  });

  it('mirror a complete answer to the shadow version, whose answer is never shown', async () => {
    cand.set({ content: 'the shadow answer' });
    t.upstream.set({ content: 'the served answer' });
    const before = cand.requests.length;
    const { answer, streamed } = await turn('web-shadow', 'what is new');
    expect(answer.content).toBe('the served answer');
    await t.server.modelOps.shadow.idle();
    expect(cand.requests.length).toBe(before + 1);
    const mirrored = cand.requests.at(-1)?.body as { stream?: boolean; temperature?: number; messages: Array<{ content: string }> };
    expect(mirrored.stream).toBeUndefined();
    expect(mirrored.temperature).toBe(0.7);
    expect(mirrored.messages.at(-1)?.content).toBe('what is new');
    expect(streamed).not.toContain('shadow answer');
    const alias = await t.server.store.modelRegistry.getAlias('web-shadow');
    if (!alias) throw new Error('no alias');
    await expect.poll(async () => (await t.server.modelOps.describe(alias)).shadow?.requests).toBe(1);
  });
});
