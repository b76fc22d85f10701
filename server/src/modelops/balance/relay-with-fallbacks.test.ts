import type { AddressInfo } from 'node:net';
import { type SimulatedUpstream, startSimulatedUpstream } from '@axon/bench/simulated-upstream';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyProviderError, toAppError } from '../../errors';
import { type RelayOutcome, type RelayStarted, type RelayTarget, relayOpenAIChat } from '../../gateway/openai-chat-relay';
import { type BalancedGateway, loopbackTarget, startBalancedGateway } from '../../testing/balanced-gateway';
import { type FaultyUpstream, type FaultyUpstreamOptions, startFaultyUpstream } from '../../testing/faulty-upstream';
import { readSseEvents } from '../../testing/sse-events';
import { createEndpointPool } from './endpoint-pool';
import { createFallbackRouting, type FallbackCandidate } from './relay-with-fallbacks';
import type { EndpointPool, EndpointPoolOptions } from './types';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function upstreams(...specs: FaultyUpstreamOptions[]): Promise<FaultyUpstream[]> {
  const started = await Promise.all(specs.map((spec) => startFaultyUpstream(spec)));
  for (const upstream of started) cleanups.push(() => upstream.close());
  return started;
}

/** A pool over the upstreams, ids `a`, `b`… by default; random 0 makes the weighted choice take the first usable one. */
function pool(ups: FaultyUpstream[], options: Partial<EndpointPoolOptions> & { ids?: string[]; firstByteMs?: number } = {}): EndpointPool {
  const { ids, firstByteMs, ...rest } = options;
  const created = createEndpointPool({
    endpoints: ups.map((u, i) => ({
      id: ids?.[i] ?? String.fromCharCode(97 + i),
      target: loopbackTarget(u.url, firstByteMs ? { firstByteMs } : {}),
      upstreamModel: 'sim-1',
      weight: 1,
    })),
    strategy: 'weighted',
    random: () => 0,
    breaker: { failures: 5, windowMs: 60_000, cooldownMs: 60_000 },
    retry: { attempts: 2, baseMs: 1, maxMs: 5 },
    ...rest,
  });
  cleanups.push(() => created.stop());
  return created;
}

async function gateway(candidates: FallbackCandidate[]): Promise<BalancedGateway> {
  const started = await startBalancedGateway(() => candidates);
  cleanups.push(() => started.close());
  return started;
}

const errorEvents = (events: unknown[]) => events.filter((e) => typeof e === 'object' && e !== null && 'error' in e);

describe('relayWithFallbacks: retries before the first token', () => {
  it('retries a stream that ends before its first token on another endpoint; the caller sees only the answer', async () => {
    const [a, b] = await upstreams({ name: 'a', fault: 'end-before-token' }, { name: 'b' });
    const gw = await gateway([{ pool: pool([a, b] as FaultyUpstream[]), label: 'support@1' }]);
    const result = await gw.chat();
    expect(result.status).toBe(200);
    expect(result.text).toBe('Hello there from the upstream');
    expect(errorEvents(result.events)).toEqual([]);
    // One role chunk, b's only: a's was held back and dropped.
    expect(result.events.filter((e) => JSON.stringify(e).includes('"role"'))).toHaveLength(1);
    expect(result.events.at(-1)).toBe('[DONE]');
    expect(a?.calls).toHaveLength(1);
    const outcome = gw.outcomes[0] as RelayOutcome;
    expect(outcome).toMatchObject({ status: 'complete', endpoint: 'b', candidate: 'support@1', attempts: 2, responseId: 'chatcmpl-b-1' });
    expect(outcome.usage).toEqual({ inputTokens: 7, outputTokens: 5 });
  });

  it('retries a reset connection, a reset stream and a first-byte timeout', async () => {
    const [a, b] = await upstreams(
      { name: 'a', fault: (n) => (['reset', 'reset-before-token', 'stall-headers'] as const)[n - 1] ?? 'ok' },
      { name: 'b' },
    );
    const gw = await gateway([{ pool: pool([a, b] as FaultyUpstream[], { firstByteMs: 300 }), label: 'v' }]);
    for (let i = 0; i < 3; i++) {
      const result = await gw.chat();
      expect(result.status).toBe(200);
      expect(result.text).toBe('Hello there from the upstream');
    }
    expect(a?.calls).toHaveLength(3);
    expect(gw.outcomes.map((o) => [o.status, o.endpoint, o.attempts])).toEqual([
      ['complete', 'b', 2],
      ['complete', 'b', 2],
      ['complete', 'b', 2],
    ]);
  });

  it('retries a 429 on the same endpoint when the pool has no other, and reads the JSON answer’s id', async () => {
    const [a] = await upstreams({ name: 'a', fault: (n) => (n === 1 ? 'status-429' : 'ok') });
    const gw = await gateway([{ pool: pool([a] as FaultyUpstream[]), label: 'v' }]);
    const result = await gw.chat({ stream: false });
    expect(result.status).toBe(200);
    expect(result.json?.id).toBe('chatcmpl-a-2');
    expect(gw.outcomes[0]).toMatchObject({ status: 'complete', endpoint: 'a', attempts: 2, responseId: 'chatcmpl-a-2' });
  });

  it('does not retry a 400: the caller gets the upstream’s status and error', async () => {
    const [a, b] = await upstreams({ name: 'a', fault: 'status-400' }, { name: 'b' });
    const gw = await gateway([
      { pool: pool([a, b] as FaultyUpstream[]), label: 'v' },
      { pool: pool([b] as FaultyUpstream[], { ids: ['fallback'] }), label: 'fallback' },
    ]);
    const result = await gw.chat();
    expect(result.status).toBe(400);
    expect(result.json?.error).toMatchObject({ code: 'upstream_rejected', upstream: { code: 'context_length_exceeded' } });
    expect(a?.calls).toHaveLength(1);
    expect(b?.calls).toHaveLength(0);
    expect(gw.outcomes[0]).toMatchObject({ status: 'error', endpoint: 'a', attempts: 1, failure: { kind: 'rejected' } });
  });

  it('does not retry when the caller leaves before the first token', async () => {
    const [a, b] = await upstreams({ name: 'a', fault: 'stall-headers' }, { name: 'b' });
    const gw = await gateway([{ pool: pool([a, b] as FaultyUpstream[]), label: 'v' }]);
    const controller = new AbortController();
    const request = fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'v', stream: true, messages: [{ role: 'user', content: 'Hi' }] }),
      signal: controller.signal,
    }).catch(() => undefined);
    while (a?.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    await request;
    while (gw.outcomes.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(gw.outcomes[0]).toMatchObject({ status: 'stopped', endpoint: 'a', attempts: 1 });
    expect(b?.calls).toHaveLength(0);
  });

  it('does not retry after the first token: the caller keeps the partial answer and gets an error event', async () => {
    const [a, b] = await upstreams({ name: 'a', fault: 'fail-mid-stream', midStreamTokens: 2 }, { name: 'b' });
    const gw = await gateway([
      { pool: pool([a, b] as FaultyUpstream[]), label: 'v' },
      { pool: pool([b] as FaultyUpstream[], { ids: ['fallback'] }), label: 'fallback' },
    ]);
    const result = await gw.chat();
    expect(result.status).toBe(200);
    expect(result.text).toBe('Hello there ');
    const errors = errorEvents(result.events);
    expect(errors).toHaveLength(1);
    expect(result.events.at(-1)).toEqual(errors[0]);
    expect(b?.calls).toHaveLength(0);
    expect(gw.outcomes[0]).toMatchObject({ status: 'error', endpoint: 'a', attempts: 1, text: 'Hello there ', responseId: 'chatcmpl-a-1' });
  });

  it('counts reasoning as the answer begun: a failure after it is not retried', async () => {
    const [a, b] = await upstreams(
      { name: 'a', fault: 'fail-mid-stream', midStreamTokens: 0, reasoning: 'Thinking it over' },
      { name: 'b' },
    );
    const gw = await gateway([{ pool: pool([a, b] as FaultyUpstream[]), label: 'v' }]);
    const result = await gw.chat();
    expect(result.status).toBe(200);
    expect(JSON.stringify(result.events)).toContain('Thinking it over');
    expect(errorEvents(result.events)).toHaveLength(1);
    expect(b?.calls).toHaveLength(0);
    expect(gw.outcomes[0]).toMatchObject({ status: 'error', endpoint: 'a', attempts: 1 });
  });
});

describe('relayWithFallbacks: the fallback chain', () => {
  it('follows the chain when every endpoint of the first candidate fails, with the fallback’s model id', async () => {
    const [a, b, c] = await upstreams({ name: 'a', fault: 'status-503' }, { name: 'b', fault: 'status-503' }, { name: 'c' });
    const gw = await gateway([
      { pool: pool([a, b] as FaultyUpstream[]), label: 'support@2' },
      { pool: pool([c] as FaultyUpstream[], { ids: ['c'] }), label: 'support@1', upstreamModel: 'older-model' },
    ]);
    const result = await gw.chat();
    expect(result.status).toBe(200);
    expect(result.text).toBe('Hello there from the upstream');
    expect([a?.calls.length, b?.calls.length]).toEqual([1, 1]);
    expect(c?.calls).toEqual([{ model: 'older-model', stream: true }]);
    expect(gw.outcomes[0]).toMatchObject({ status: 'complete', candidate: 'support@1', endpoint: 'c', attempts: 3 });
  });

  it('passes over a candidate whose endpoints are all broken, straight to the next', async () => {
    const [a, c] = await upstreams({ name: 'a', fault: 'status-503' }, { name: 'c' });
    const gw = await gateway([
      { pool: pool([a] as FaultyUpstream[], { breaker: { failures: 1, windowMs: 60_000, cooldownMs: 60_000 } }), label: 'primary' },
      { pool: pool([c] as FaultyUpstream[], { ids: ['c'] }), label: 'fallback' },
    ]);
    await gw.chat();
    await gw.chat();
    // The first call tried a twice (its breaker opened at the first failure, then the least bad is a again); the second skipped it.
    expect(a?.calls).toHaveLength(2);
    expect(gw.outcomes.map((o) => [o.candidate, o.attempts])).toEqual([
      ['fallback', 3],
      ['fallback', 1],
    ]);
  });

  it('answers with the last failure when every candidate fails before the first token', async () => {
    const [a, c] = await upstreams({ name: 'a', fault: 'status-503' }, { name: 'c', fault: 'end-before-token' });
    const gw = await gateway([
      { pool: pool([a] as FaultyUpstream[]), label: 'primary' },
      { pool: pool([c] as FaultyUpstream[], { ids: ['c'] }), label: 'fallback' },
    ]);
    const result = await gw.chat();
    expect(result.status).toBe(502);
    expect(result.json?.error).toMatchObject({ code: 'upstream_error' });
    expect(gw.outcomes[0]).toMatchObject({ status: 'error', candidate: 'fallback', endpoint: 'c', attempts: 4 });
    expect(gw.outcomes[0]?.text).toBe('');
  });
});

describe('relayWithFallbacks: pauses asked for with Retry-After', () => {
  /** An OpenAI-wire upstream that answers 429 with `Retry-After: 1` until set to `ok`. */
  async function rateLimited(): Promise<SimulatedUpstream> {
    const upstream = await startSimulatedUpstream({ models: ['sim-1'], record: true, behaviour: { mode: 'fail-429', tokens: 3 } });
    cleanups.push(() => upstream.close());
    return upstream;
  }
  const completions = (upstream: SimulatedUpstream) => upstream.requests.filter((r) => r.url.endsWith('/chat/completions')).length;

  it('passes over a version whose endpoint asked for a pause, to the fallback, until the pause ends', async () => {
    const limited = await rateLimited();
    const [c] = await upstreams({ name: 'c' });
    const clock = { ms: 5000 };
    const primary = pool([{ url: limited.url } as FaultyUpstream], { now: () => clock.ms });
    const gw = await gateway([
      { pool: primary, label: 'primary' },
      { pool: pool([c] as FaultyUpstream[], { ids: ['c'] }), label: 'fallback' },
    ]);

    const first = await gw.chat();
    expect(first.text).toBe('Hello there from the upstream');
    // a's 429 paused it, so the pool did not try it again: the fallback answered.
    expect(completions(limited)).toBe(1);
    limited.set({ mode: 'ok' });
    const second = await gw.chat();
    expect(second.status).toBe(200);
    expect(completions(limited)).toBe(1);
    clock.ms += 1000;
    const third = await gw.chat();
    expect(third.text).toBe('tok0 tok1 tok2 ');
    expect(completions(limited)).toBe(2);
    expect(gw.outcomes.map((o) => [o.candidate, o.endpoint, o.attempts])).toEqual([
      ['fallback', 'c', 2],
      ['fallback', 'c', 1],
      ['primary', 'a', 1],
    ]);
  });

  it('answers 429 when the only endpoint asked for a pause, and does not call it again meanwhile', async () => {
    const limited = await rateLimited();
    const clock = { ms: 5000 };
    const gw = await gateway([{ pool: pool([{ url: limited.url } as FaultyUpstream], { now: () => clock.ms }), label: 'v' }]);
    for (let i = 0; i < 2; i++) {
      const refused = await gw.chat({ stream: i === 0 });
      expect(refused.status).toBe(429);
      expect(refused.json?.error).toMatchObject({ code: 'upstream_rate_limited', upstream: { type: 'rate_limit_error' } });
    }
    expect(completions(limited)).toBe(1);
    expect(gw.outcomes.map((o) => [o.status, o.failure?.kind, o.failure?.retryAfterMs])).toEqual([
      ['error', 'rate', 1000],
      ['error', 'rate', 1000],
    ]);
  });

  it('fails with the soonest pause of all the candidates when every endpoint of every one is paused', async () => {
    const clock = { ms: 5000 };
    const fakePool = (id: string) => {
      const created = createEndpointPool({
        endpoints: [{ id, target: loopbackTarget('http://127.0.0.1:9/v1'), upstreamModel: 'sim-1', weight: 1 }],
        strategy: 'weighted',
        breaker: { failures: 5, windowMs: 60_000, cooldownMs: 60_000 },
        retry: { attempts: 3, baseMs: 1, maxMs: 2 },
        now: () => clock.ms,
      });
      cleanups.push(() => created.stop());
      return created;
    };
    const routing = createFallbackRouting([
      { pool: fakePool('a'), label: 'support@2' },
      { pool: fakePool('b'), label: 'support@1' },
    ]);
    const pauses: Record<string, Record<string, string>> = { a: { 'retry-after': '5' }, b: { 'retry-after-ms': '1500' } };
    const calls: string[] = [];
    const failing = async (to: RelayTarget): Promise<RelayStarted> => {
      calls.push(to.endpoint);
      throw Object.assign(new Error('HTTP 429'), { statusCode: 429, responseHeaders: pauses[to.endpoint], responseBody: '' });
    };
    const signal = new AbortController().signal;

    const refused = await routing.run(failing, signal).catch((error: unknown) => error);
    expect(calls).toEqual(['a', 'b']);
    const appError = toAppError(classifyProviderError(refused));
    expect(appError).toMatchObject({ code: 'upstream_rate_limited', status: 429, retryAfterMs: 1500 });

    clock.ms += 1000;
    await expect(routing.run(failing, signal)).rejects.toMatchObject({ name: 'EndpointsPausedError', retryAfterMs: 500 });
    expect(calls).toEqual(['a', 'b']);
    clock.ms += 500;
    await routing.run(async (to) => {
      calls.push(to.endpoint);
      return { ended: Promise.resolve(undefined) };
    }, signal);
    // a is paused for 3.5 s more: the fallback's endpoint serves.
    expect(calls).toEqual(['a', 'b', 'b']);
  });
});

describe('relayOpenAIChat with one target', () => {
  it('passes the stream through and reports the response id, without routing fields', async () => {
    const [a] = await upstreams({ name: 'a' });
    const outcomes: RelayOutcome[] = [];
    const app = Fastify();
    app.post('/v1/chat/completions', async (request, reply) => {
      await relayOpenAIChat(
        reply,
        {
          target: loopbackTarget(a?.url as string),
          upstreamModel: 'sim-1',
          body: request.body as Record<string, unknown>,
          stream: true,
          signal: new AbortController().signal,
        },
        (o) => outcomes.push(o),
      );
      return reply;
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => app.close());
    const response = await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', stream: true, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    const events: string[] = [];
    for await (const event of readSseEvents(response.body as ReadableStream<Uint8Array>)) events.push(event.data);
    expect(events.at(-1)).toBe('[DONE]');
    expect(outcomes[0]).toMatchObject({ status: 'complete', text: 'Hello there from the upstream', responseId: 'chatcmpl-a-1' });
    expect(outcomes[0]?.attempts).toBeUndefined();
    expect(outcomes[0]?.endpoint).toBeUndefined();
  });
});
