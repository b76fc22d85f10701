import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type BalancedGateway, loopbackTarget, startBalancedGateway } from '../../testing/balanced-gateway';
import { type FaultyUpstream, type FaultyUpstreamOptions, startFaultyUpstream } from '../../testing/faulty-upstream';
import { createBalanceMetrics } from './balance-metrics';
import { createEndpointPool } from './endpoint-pool';
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
