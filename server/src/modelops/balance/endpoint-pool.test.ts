import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyProviderError } from '../../errors';
import { type BalancedGateway, loopbackTarget, startBalancedGateway } from '../../testing/balanced-gateway';
import { type FaultyUpstream, type FaultyUpstreamOptions, startFaultyUpstream } from '../../testing/faulty-upstream';
import { createBalanceMetrics } from './balance-metrics';
import { createEndpointPool } from './endpoint-pool';
import { MAX_REQUESTED_PAUSE_MS, readRequestedPause } from './retryable-failure';
import type { EndpointPool, EndpointPoolOptions } from './types';

/** A seeded generator in [0, 1) (mulberry32), so that random choices repeat from run to run. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function upstreams(...specs: FaultyUpstreamOptions[]): Promise<FaultyUpstream[]> {
  const started = await Promise.all(specs.map((spec) => startFaultyUpstream(spec)));
  for (const upstream of started) cleanups.push(() => upstream.close());
  return started;
}

function pool(ups: FaultyUpstream[], options: Partial<EndpointPoolOptions> & { weights?: number[]; ids?: string[] } = {}): EndpointPool {
  const { weights, ids, ...rest } = options;
  const created = createEndpointPool({
    endpoints: ups.map((u, i) => ({
      id: ids?.[i] ?? String.fromCharCode(97 + i),
      target: loopbackTarget(u.url),
      upstreamModel: 'sim-1',
      weight: weights?.[i] ?? 1,
    })),
    strategy: 'weighted',
    breaker: { failures: 3, windowMs: 60_000, cooldownMs: 300 },
    retry: { attempts: 2, baseMs: 1, maxMs: 5 },
    ...rest,
  });
  cleanups.push(() => created.stop());
  return created;
}

async function gateway(p: EndpointPool): Promise<BalancedGateway> {
  const started = await startBalancedGateway(() => [{ pool: p, label: 'version' }]);
  cleanups.push(() => started.close());
  return started;
}

describe('createEndpointPool: circuit breakers', () => {
  it('opens an endpoint’s breaker after N failures within the window, and closes it after a trial call past the cooldown', async () => {
    const [a, b] = await upstreams({ name: 'a', fault: 'status-503' }, { name: 'b' });
    const registry = new Registry();
    // random 0: the weighted choice always takes the first usable endpoint, `a`.
    const p = pool([a, b] as FaultyUpstream[], { name: 'p', random: () => 0, metrics: createBalanceMetrics(registry) });
    const gw = await gateway(p);

    for (let i = 0; i < 5; i++) {
      const result = await gw.chat();
      expect(result.status).toBe(200);
      expect(result.text).toBe('Hello there from the upstream');
    }
    // Three failures opened a's breaker: the fourth and fifth calls went to b alone.
    expect(a?.calls).toHaveLength(3);
    expect(gw.outcomes.map((o) => [o.endpoint, o.attempts])).toEqual([
      ['b', 2],
      ['b', 2],
      ['b', 2],
      ['b', 1],
      ['b', 1],
    ]);
    expect(p.views().map((v) => v.healthy)).toEqual([false, true]);
    const text = await registry.metrics();
    expect(text).toContain('axon_endpoint_failures_total{pool="p",endpoint="a",kind="upstream"} 3');
    expect(text).toContain('axon_endpoint_breaker_state{pool="p",endpoint="a"} 2');

    (a as FaultyUpstream).fault = 'ok';
    await sleep(350);
    expect(p.views()[0]?.healthy).toBe(true);
    await gw.chat();
    await gw.chat();
    expect(gw.outcomes.slice(5).map((o) => [o.endpoint, o.attempts])).toEqual([
      ['a', 1],
      ['a', 1],
    ]);
    expect(await registry.metrics()).toContain('axon_endpoint_breaker_state{pool="p",endpoint="a"} 0');
  });

  it('opens the breaker again when the trial call fails', async () => {
    const [a, b] = await upstreams({ name: 'a', fault: 'status-500' }, { name: 'b' });
    const p = pool([a, b] as FaultyUpstream[], { random: () => 0, breaker: { failures: 1, windowMs: 60_000, cooldownMs: 200 } });
    const gw = await gateway(p);
    await gw.chat();
    expect(p.views()[0]?.healthy).toBe(false);
    await sleep(250);
    await gw.chat(); // the trial: a fails again, b answers
    await gw.chat(); // a is open again: b alone
    expect(a?.calls).toHaveLength(2);
    expect(gw.outcomes.map((o) => o.attempts)).toEqual([2, 2, 1]);
  });

  it('still tries the least bad endpoint when every breaker is open', async () => {
    const [a] = await upstreams({ name: 'a', fault: (n) => (n <= 2 ? 'status-503' : 'ok') });
    const p = pool([a] as FaultyUpstream[], { breaker: { failures: 1, windowMs: 60_000, cooldownMs: 60_000 } });
    const gw = await gateway(p);
    const first = await gw.chat();
    expect(first.status).toBe(502);
    expect(p.usable()).toBe(false);
    // The only endpoint is open for a minute, yet the call is sent to it rather than refused untried.
    const second = await gw.chat();
    expect(second.status).toBe(200);
    expect(a?.calls).toHaveLength(3);
  });
});

describe('createEndpointPool: health checks', () => {
  it('takes an endpoint that fails its checks out, and puts it back once it passes one', async () => {
    const [a, b] = await upstreams({ name: 'a' }, { name: 'b' });
    const p = pool([a, b] as FaultyUpstream[], { random: () => 0, health: { intervalMs: 30, timeoutMs: 500 } });
    const gw = await gateway(p);
    const upA = a as FaultyUpstream;

    await waitFor(() => upA.healthChecks.length > 0, 'a first health check');
    expect(upA.healthChecks[0]?.authorization).toBe('Bearer test-key');
    upA.healthy = false;
    await waitFor(() => p.views()[0]?.healthy === false, 'a to be marked unhealthy');
    for (let i = 0; i < 3; i++) await gw.chat();
    expect(upA.calls).toHaveLength(0);
    expect(gw.outcomes.map((o) => o.endpoint)).toEqual(['b', 'b', 'b']);

    upA.healthy = true;
    await waitFor(() => p.views()[0]?.healthy === true, 'a to be marked healthy again');
    await gw.chat();
    expect(gw.outcomes[3]?.endpoint).toBe('a');

    p.stop();
    const checks = upA.healthChecks.length;
    await sleep(100);
    expect(upA.healthChecks.length).toBeLessThanOrEqual(checks + 1);
  });
});

describe('createEndpointPool: strategies', () => {
  it('weighted: the split follows the weights', async () => {
    const [a, b] = await upstreams({ name: 'a' }, { name: 'b' });
    const p = pool([a, b] as FaultyUpstream[], { weights: [3, 1], random: seededRandom(7) });
    const gw = await gateway(p);
    for (let i = 0; i < 200; i++) await gw.chat({ stream: false });
    const share = (a?.calls.length ?? 0) / 200;
    expect(share).toBeGreaterThan(0.66);
    expect(share).toBeLessThan(0.84);
    expect((a?.calls.length ?? 0) + (b?.calls.length ?? 0)).toBe(200);
  });

  it('least-outstanding: calls avoid an endpoint that is busy with a stream', async () => {
    let holdNext = true;
    const fault = () => {
      if (!holdNext) return 'ok' as const;
      holdNext = false;
      return 'hold' as const;
    };
    const [a, b] = await upstreams({ name: 'a', fault }, { name: 'b', fault });
    const p = pool([a, b] as FaultyUpstream[], { strategy: 'least-outstanding', random: seededRandom(3) });
    const gw = await gateway(p);

    const slow = gw.chat();
    await waitFor(() => (a?.calls.length ?? 0) + (b?.calls.length ?? 0) === 1, 'the held stream');
    const busy = p.views().find((v) => v.outstanding === 1)?.id;
    for (let i = 0; i < 5; i++) await gw.chat();
    expect(gw.outcomes.map((o) => o.endpoint)).toEqual(Array(5).fill(busy === 'a' ? 'b' : 'a'));

    a?.release();
    b?.release();
    const held = await slow;
    expect(held.text).toBe('Hello there from the upstream');
    expect(gw.outcomes[5]?.endpoint).toBe(busy);
    expect(p.views().map((v) => v.outstanding)).toEqual([0, 0]);
  });

  it('latency: tries each unknown endpoint once, then prefers the fast one; a slow one left idle is tried again', async () => {
    const [a, b] = await upstreams({ name: 'a' }, { name: 'b', delayMs: 150 });
    let offset = 0;
    const p = pool([a, b] as FaultyUpstream[], {
      strategy: 'latency',
      random: seededRandom(11),
      now: () => performance.now() + offset,
      latency: { forgetMs: 60_000 },
    });
    const gw = await gateway(p);
    for (let i = 0; i < 7; i++) await gw.chat();
    const served = gw.outcomes.map((o) => o.endpoint);
    expect(new Set(served.slice(0, 2))).toEqual(new Set(['a', 'b']));
    expect(served.slice(2)).toEqual(Array(5).fill('a'));
    const [viewA, viewB] = p.views();
    expect(viewA?.ewmaMs).toBeLessThan(viewB?.ewmaMs as number);

    // A minute passes before each call: a is sampled every time, b's average fades until b is tried again.
    let steps = 0;
    while (gw.outcomes.at(-1)?.endpoint === 'a' && steps < 20) {
      offset += 60_000;
      steps++;
      await gw.chat();
    }
    expect(gw.outcomes.at(-1)?.endpoint).toBe('b');
    // Its fresh sample is slow again: the next call goes back to a.
    offset += 60_000;
    await gw.chat();
    expect(gw.outcomes.at(-1)?.endpoint).toBe('a');
  });

  it('prefix: the injected picker chooses among the usable endpoints, with the prompt', async () => {
    const [a, b, c] = await upstreams({ name: 'a', fault: 'status-503' }, { name: 'b' }, { name: 'c' });
    const seen: Array<{ ids: string[]; promptText: string }> = [];
    const p = pool([a, b, c] as FaultyUpstream[], {
      strategy: 'prefix',
      breaker: { failures: 1, windowMs: 60_000, cooldownMs: 60_000 },
      picker: {
        pick(candidates, hint) {
          seen.push({ ids: candidates.map((v) => v.id), promptText: hint.promptText });
          return candidates[0] as (typeof candidates)[number];
        },
      },
    });
    const controller = new AbortController();
    const started = await p.serve(
      async (endpoint) => {
        if (endpoint.id === 'a') throw Object.assign(new Error('HTTP 503'), { statusCode: 503 });
        return { ended: Promise.resolve(), id: endpoint.id };
      },
      { signal: controller.signal, promptText: () => 'user: Hi' },
    );
    expect(started.id).toBe('b');
    // a failed and its breaker opened, so the retry offered b and c only.
    expect(seen).toEqual([
      { ids: ['a', 'b', 'c'], promptText: 'user: Hi' },
      { ids: ['b', 'c'], promptText: 'user: Hi' },
    ]);
  });

  it('maxConcurrent: a full endpoint is passed over', async () => {
    const [a, b] = await upstreams({ name: 'a' }, { name: 'b' });
    const p = createEndpointPool({
      endpoints: [
        { id: 'a', target: loopbackTarget(a?.url as string), upstreamModel: 'sim-1', weight: 1, maxConcurrent: 1 },
        { id: 'b', target: loopbackTarget(b?.url as string), upstreamModel: 'sim-1', weight: 1 },
      ],
      strategy: 'weighted',
      random: () => 0,
      breaker: { failures: 3, windowMs: 60_000, cooldownMs: 300 },
      retry: { attempts: 1, baseMs: 1, maxMs: 1 },
    });
    const signal = new AbortController().signal;
    let endFirst: () => void = () => {};
    const first = await p.serve(async (e) => ({ id: e.id, ended: new Promise<void>((resolve) => (endFirst = resolve)) }), { signal });
    const second = await p.serve(async (e) => ({ id: e.id, ended: Promise.resolve() }), { signal });
    expect([first.id, second.id]).toEqual(['a', 'b']);
    endFirst();
    await first.ended;
    const third = await p.serve(async (e) => ({ id: e.id, ended: Promise.resolve() }), { signal });
    expect(third.id).toBe('a');
  });
});

/** An upstream's HTTP error as `callUpstream` rejects with it: status and headers. */
const httpError = (statusCode: number, responseHeaders: Record<string, string> = {}) =>
  Object.assign(new Error(`HTTP ${statusCode}`), { name: 'UpstreamHttpError', statusCode, responseHeaders, responseBody: '' });

describe('createEndpointPool: pauses asked for with Retry-After', () => {
  /** A pool over fake endpoints (nothing is sent over the network), on a clock the test moves. */
  function pausingPool(ids: string[], options: Partial<EndpointPoolOptions> = {}) {
    const clock = { ms: 1_000_000 };
    const created = createEndpointPool({
      endpoints: ids.map((id) => ({ id, target: loopbackTarget('http://127.0.0.1:9/v1'), upstreamModel: 'sim-1', weight: 1 })),
      strategy: 'weighted',
      random: () => 0,
      // One counted failure would open a breaker for a minute: a pause must not count.
      breaker: { failures: 1, windowMs: 60_000, cooldownMs: 60_000 },
      retry: { attempts: 3, baseMs: 1, maxMs: 2 },
      now: () => clock.ms,
      ...options,
    });
    cleanups.push(() => created.stop());
    const calls: string[] = [];
    /** Serves one call; `fail` says how an endpoint answers (nothing: it serves). */
    const serve = (fail: (id: string) => Error | undefined = () => undefined) =>
      created.serve(
        async (endpoint) => {
          calls.push(endpoint.id);
          const error = fail(endpoint.id);
          if (error) throw error;
          return { id: endpoint.id, ended: Promise.resolve() };
        },
        { signal: new AbortController().signal },
      );
    return { pool: created, clock, calls, serve };
  }

  it('skips an endpoint for the pause its 429 asked for, on the retry and on later calls, and calls it again once the pause ends', async () => {
    const { pool: p, clock, calls, serve } = pausingPool(['a', 'b']);
    const first = await serve((id) => (id === 'a' ? httpError(429, { 'retry-after': '2' }) : undefined));
    expect(first.id).toBe('b');
    expect(p.usable()).toBe(true);
    expect(p.pausedFor()).toBe(0);
    // a would be the weighted choice (random 0), but it is paused for 2 s.
    for (let i = 0; i < 3; i++) expect((await serve()).id).toBe('b');
    clock.ms += 1999;
    expect((await serve()).id).toBe('b');
    clock.ms += 1;
    // The pause is over; the 429 did not open a's breaker.
    expect((await serve()).id).toBe('a');
    expect(calls).toEqual(['a', 'b', 'b', 'b', 'b', 'b', 'a']);
  });

  it('honours a 503’s Retry-After as an HTTP date, and does not pause for a 500’s', async () => {
    const { clock, calls, serve } = pausingPool(['a', 'b'], { breaker: { failures: 5, windowMs: 60_000, cooldownMs: 60_000 } });
    const date = new Date(Date.now() + 30_000).toUTCString();
    await serve((id) => (id === 'a' ? httpError(503, { 'Retry-After': date }) : undefined));
    clock.ms += 20_000;
    expect((await serve()).id).toBe('b');
    clock.ms += 11_000;
    await serve((id) => (id === 'a' ? httpError(500, { 'retry-after': '30' }) : undefined));
    expect((await serve()).id).toBe('a');
    expect(calls).toEqual(['a', 'b', 'b', 'a', 'b', 'a']);
  });

  it('when every endpoint is paused, refuses without calling any, with the time until the first pause ends', async () => {
    const { pool: p, clock, calls, serve } = pausingPool(['a', 'b']);
    const pauses: Record<string, Error> = {
      a: httpError(429, { 'retry-after': '3' }),
      b: httpError(429, { 'retry-after-ms': '1500' }),
    };
    const refused = await serve((id) => pauses[id]).catch((error: unknown) => error);
    // No backoff and no third try once both asked for a pause.
    expect(calls).toEqual(['a', 'b']);
    expect(refused).toMatchObject({ name: 'EndpointsPausedError', statusCode: 429, retryAfterMs: 1500 });
    expect(classifyProviderError(refused)).toMatchObject({ kind: 'rate', upstreamStatus: 429, retryAfterMs: 1500 });
    expect(p.usable()).toBe(false);

    clock.ms += 1000;
    await expect(serve()).rejects.toMatchObject({ name: 'EndpointsPausedError', retryAfterMs: 500 });
    expect(calls).toEqual(['a', 'b']);
    expect(p.pausedFor()).toBe(500);
    clock.ms += 500;
    expect((await serve()).id).toBe('b');
  });

  it('keeps a paused endpoint out even when the others are broken: the least bad is never a paused one', async () => {
    const { calls, serve } = pausingPool(['a', 'b'], { retry: { attempts: 1, baseMs: 1, maxMs: 1 } });
    await serve((id) => (id === 'a' ? httpError(429, { 'retry-after': '60' }) : undefined)).catch(() => undefined);
    // b fails once: its breaker opens (one failure), so nothing is usable; b is still called rather than a.
    await serve(() => httpError(502)).catch(() => undefined);
    expect((await serve()).id).toBe('b');
    expect(calls).toEqual(['a', 'b', 'b']);
  });
});

describe('readRequestedPause', () => {
  it('reads retry-after-ms, Retry-After in seconds or as a date, and OpenAI’s reset of the exhausted limit, at most 5 minutes', () => {
    expect(readRequestedPause(httpError(429, { 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(readRequestedPause(httpError(429, { 'retry-after': '1.5' }))).toBe(1500);
    const date = readRequestedPause(httpError(503, { 'retry-after': new Date(Date.now() + 10_000).toUTCString() })) as number;
    expect(date).toBeGreaterThan(8000);
    expect(date).toBeLessThanOrEqual(10_000);
    expect(
      readRequestedPause(
        httpError(429, {
          'x-ratelimit-remaining-requests': '12',
          'x-ratelimit-reset-requests': '120ms',
          'x-ratelimit-remaining-tokens': '0',
          'x-ratelimit-reset-tokens': '6m0s',
        }),
      ),
    ).toBe(MAX_REQUESTED_PAUSE_MS);
    expect(readRequestedPause(httpError(429, { 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '1m2.5s' }))).toBe(62_500);
    expect(readRequestedPause(httpError(429, { 'x-ratelimit-reset-requests': '20ms', 'x-ratelimit-reset-tokens': '1s' }))).toBe(1000);
    expect(readRequestedPause(httpError(429, { 'retry-after': '86400' }))).toBe(MAX_REQUESTED_PAUSE_MS);
    // The AI SDK's APICallError carries the same members.
    expect(readRequestedPause({ name: 'AI_APICallError', statusCode: 429, responseHeaders: { 'retry-after': '2' } })).toBe(2000);
  });

  it('reads nothing for other statuses, no header, a pause in the past or a value it cannot parse', () => {
    expect(readRequestedPause(httpError(500, { 'retry-after': '5' }))).toBeUndefined();
    expect(readRequestedPause(httpError(400, { 'retry-after': '5' }))).toBeUndefined();
    expect(readRequestedPause(httpError(429))).toBeUndefined();
    expect(readRequestedPause(httpError(429, { 'retry-after': '0' }))).toBeUndefined();
    expect(readRequestedPause(httpError(429, { 'retry-after': new Date(Date.now() - 5000).toUTCString() }))).toBeUndefined();
    expect(readRequestedPause(httpError(429, { 'retry-after': 'soon', 'x-ratelimit-reset-tokens': 'later' }))).toBeUndefined();
    expect(readRequestedPause(new Error('ECONNRESET'))).toBeUndefined();
  });
});
