import { type CircuitBreakerPolicy, CircuitState, circuitBreaker, ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { classifyProviderError } from '../../errors';
import { EndpointsPausedError, isEndpointsPausedError } from './endpoints-paused-error';
import { FailureWindowBreaker } from './failure-window-breaker';
import { probeEndpoint } from './probe-endpoint';
import { isRetryableBeforeFirstToken, readRequestedPause } from './retryable-failure';
import type { EndpointPool, EndpointPoolOptions, EndpointSpecResolved, EndpointView, PoolEndpoint, StartedCall } from './types';

interface Member {
  spec: EndpointSpecResolved;
  endpoint: PoolEndpoint;
  breaker: CircuitBreakerPolicy;
  /** Wall-clock time the breaker last opened (cockatiel's clock for its cooldown). */
  openedAt: number;
  outstanding: number;
  ewmaMs: number | null;
  /** When `ewmaMs` last took a sample (`now`). */
  sampledAt: number;
  healthy: boolean;
  probing: boolean;
  /** Until when (`now`) it is not called: the pause its upstream asked for with `Retry-After`; 0 for none. */
  pausedUntil: number;
}

const DEFAULT_ALPHA = 0.3;
const DEFAULT_FORGET_MS = 60_000;

/** Failures a breaker counts: those another try may not have, except a pause the endpoint asked for, which is honoured instead. */
const countsForBreaker = (error: unknown) => isRetryableBeforeFirstToken(error) && readRequestedPause(error) === undefined;

/** Failures retried within the pool: not `EndpointsPausedError`, which says no endpoint is left to try. */
const retriedInPool = (error: unknown) => isRetryableBeforeFirstToken(error) && !isEndpointsPausedError(error);

/**
 * The endpoints of one model version behind one seam: a strategy chooses among the usable ones,
 * each has a cockatiel circuit breaker (`FailureWindowBreaker`: N failures within a window, a
 * trial call after the cooldown), optional active health checks take dead ones out and put them
 * back, and a cockatiel retry policy with decorrelated-jitter backoff tries again, elsewhere when
 * it can, while a failure before the first token is one another try may not have. An endpoint
 * that answers 429 or 503 with `Retry-After` (`readRequestedPause`) is not called until then.
 */
export function createEndpointPool(options: EndpointPoolOptions): EndpointPool {
  const { strategy, breaker: breakerOptions, retry: retryOptions, metrics } = options;
  if (options.endpoints.length === 0) throw new Error('An endpoint pool needs at least one endpoint');
  if (new Set(options.endpoints.map((e) => e.id)).size !== options.endpoints.length)
    throw new Error('The endpoints of a pool need distinct ids');
  if (strategy === 'prefix' && !options.picker) throw new Error('The `prefix` strategy needs a prefix picker');
  if (!Number.isInteger(retryOptions.attempts) || retryOptions.attempts < 1)
    throw new Error('retry.attempts must be a whole number of at least 1');
  const name = options.name ?? options.endpoints.map((e) => e.id).join('+');
  const random = options.random ?? Math.random;
  const now = options.now ?? (() => performance.now());
  const alpha = options.latency?.alpha ?? DEFAULT_ALPHA;
  const forgetMs = options.latency?.forgetMs ?? DEFAULT_FORGET_MS;

  const members: Member[] = options.endpoints.map((spec) => {
    const breaker = circuitBreaker(handleWhen(countsForBreaker), {
      halfOpenAfter: breakerOptions.cooldownMs,
      breaker: new FailureWindowBreaker({ failures: breakerOptions.failures, windowMs: breakerOptions.windowMs, now }),
    });
    const member: Member = {
      spec,
      endpoint: { id: spec.id, target: spec.target, upstreamModel: spec.upstreamModel },
      breaker,
      openedAt: 0,
      outstanding: 0,
      ewmaMs: null,
      sampledAt: 0,
      healthy: true,
      probing: false,
      pausedUntil: 0,
    };
    breaker.onBreak(() => {
      member.openedAt = Date.now();
      metrics?.breakerState(name, spec.id, 'open');
    });
    breaker.onHalfOpen(() => metrics?.breakerState(name, spec.id, 'half-open'));
    breaker.onReset(() => metrics?.breakerState(name, spec.id, 'closed'));
    metrics?.outstanding(name, spec.id, 0);
    metrics?.breakerState(name, spec.id, 'closed');
    metrics?.healthy(name, spec.id, true);
    return member;
  });

  const retryPolicy = retry(handleWhen(retriedInPool), {
    maxAttempts: retryOptions.attempts - 1,
    // cockatiel's default generator is decorrelated jitter.
    backoff: new ExponentialBackoff({ initialDelay: retryOptions.baseMs, maxDelay: retryOptions.maxMs }),
  });

  /** The breaker lets no call through now: open and cooling down, or a trial call in flight. */
  const breakerOut = (m: Member): boolean => {
    const state = m.breaker.state;
    if (state === CircuitState.Closed) return false;
    if (state === CircuitState.Open) return Date.now() - m.openedAt < breakerOptions.cooldownMs;
    return true;
  };
  const full = (m: Member) => m.spec.maxConcurrent !== undefined && m.outstanding >= m.spec.maxConcurrent;
  /** Its upstream asked for a pause that has not ended at `at`: it is not called at all, not even as the least bad. */
  const paused = (m: Member, at: number) => m.pausedUntil > at;
  const usable = (m: Member, at: number) => m.healthy && !full(m) && !breakerOut(m) && !paused(m, at);
  /** Ms until the first paused endpoint may be called again, when every one is paused; 0 when one may be called now. */
  const pausedFor = (at: number): number => {
    let soonest = Number.POSITIVE_INFINITY;
    for (const m of members) {
      if (!paused(m, at)) return 0;
      soonest = Math.min(soonest, m.pausedUntil - at);
    }
    return soonest;
  };
  const view = (m: Member): EndpointView => ({
    id: m.spec.id,
    weight: m.spec.weight,
    outstanding: m.outstanding,
    ewmaMs: m.ewmaMs,
    healthy: m.healthy && !breakerOut(m),
  });

  /** Ties go to a random one of the tied, so that equal endpoints share the traffic. */
  const pickRandom = (tied: Member[]): Member => tied[Math.floor(random() * tied.length)] ?? (tied[0] as Member);

  const byWeight = (pool: Member[]): Member => {
    let total = 0;
    for (const m of pool) total += m.spec.weight;
    let r = random() * total;
    for (const m of pool) {
      r -= m.spec.weight;
      if (r < 0) return m;
    }
    return pool[pool.length - 1] as Member;
  };

  const byOutstanding = (pool: Member[]): Member => {
    let best: Member[] = [];
    for (const m of pool) {
      const first = best[0];
      if (!first || m.outstanding < first.outstanding || (m.outstanding === first.outstanding && m.spec.weight > first.spec.weight))
        best = [m];
      else if (m.outstanding === first.outstanding && m.spec.weight === first.spec.weight) best.push(m);
    }
    return pickRandom(best);
  };

  // An endpoint's average fades towards zero while it is not sampled, so a slow one is tried again now and then.
  const latencyScore = (m: Member, at: number): number =>
    (m.ewmaMs as number) * Math.exp(-(at - m.sampledAt) / forgetMs) * (m.outstanding + 1);

  const byLatency = (pool: Member[]): Member => {
    const unknown = pool.filter((m) => m.ewmaMs === null);
    if (unknown.length > 0) return byOutstanding(unknown);
    const at = now();
    let best = pool[0] as Member;
    let bestScore = latencyScore(best, at);
    for (const m of pool) {
      const score = latencyScore(m, at);
      if (score < bestScore) {
        best = m;
        bestScore = score;
      }
    }
    return best;
  };

  const byPrefix = (pool: Member[], promptText: () => string): Member => {
    const chosen = (options.picker as NonNullable<typeof options.picker>).pick(pool.map(view), { promptText: promptText() });
    return pool.find((m) => m.spec.id === chosen.id) ?? byOutstanding(pool);
  };

  /** When no endpoint is usable: the one closest to usable (full, then unhealthy, then broken), untried first; never a paused one. */
  const leastBad = (tried: ReadonlySet<string>, at: number): Member | undefined => {
    const badness = (m: Member) => (breakerOut(m) ? 4 : 0) + (m.healthy ? 0 : 2) + (full(m) ? 1 : 0);
    let best: Member | undefined;
    for (const m of members) {
      if (paused(m, at)) continue;
      if (!best) {
        best = m;
        continue;
      }
      const d = badness(m) - badness(best);
      if (d < 0) best = m;
      else if (d === 0) {
        const t = Number(tried.has(m.spec.id)) - Number(tried.has(best.spec.id));
        if (t < 0 || (t === 0 && (m.outstanding < best.outstanding || (m.outstanding === best.outstanding && m.openedAt < best.openedAt))))
          best = m;
      }
    }
    return best;
  };

  /** The endpoint for the next try; undefined when every one is paused. */
  const choose = (tried: ReadonlySet<string>, promptText: () => string): Member | undefined => {
    const at = now();
    let pool = members.filter((m) => usable(m, at) && !tried.has(m.spec.id));
    if (pool.length === 0) pool = members.filter((m) => usable(m, at));
    if (pool.length === 0) return leastBad(tried, at);
    if (pool.length === 1) return pool[0] as Member;
    switch (strategy) {
      case 'weighted':
        return byWeight(pool);
      case 'least-outstanding':
        return byOutstanding(pool);
      case 'latency':
        return byLatency(pool);
      case 'prefix':
        return byPrefix(pool, promptText);
    }
  };

  const setOutstanding = (m: Member, delta: number) => {
    m.outstanding += delta;
    metrics?.outstanding(name, m.spec.id, m.outstanding);
  };

  const sample = (m: Member, elapsedMs: number, at: number) => {
    m.ewmaMs = m.ewmaMs === null ? elapsedMs : m.ewmaMs + alpha * (elapsedMs - m.ewmaMs);
    m.sampledAt = at;
  };

  let stopped = false;
  let healthTimer: NodeJS.Timeout | undefined;
  if (options.health) {
    const { intervalMs, timeoutMs } = options.health;
    const check = () => {
      for (const m of members) {
        if (m.probing) continue;
        m.probing = true;
        void probeEndpoint(m.spec.target, timeoutMs).then((healthy) => {
          m.probing = false;
          if (stopped || healthy === m.healthy) return;
          m.healthy = healthy;
          metrics?.healthy(name, m.spec.id, healthy);
        });
      }
    };
    check();
    healthTimer = setInterval(check, intervalMs);
    healthTimer.unref();
  }

  return {
    name,
    async serve<T extends StartedCall>(
      send: (endpoint: PoolEndpoint) => Promise<T>,
      { signal, promptText }: { signal: AbortSignal; promptText?: (() => string) | undefined },
    ): Promise<T> {
      const tried = new Set<string>();
      let prompt: string | undefined;
      const promptOnce = () => {
        prompt ??= promptText?.() ?? '';
        return prompt;
      };
      return retryPolicy.execute(async () => {
        if (signal.aborted) throw signal.reason;
        const member = choose(tried, promptOnce);
        if (!member) throw new EndpointsPausedError(pausedFor(now()));
        tried.add(member.spec.id);
        // The least bad endpoint may be one whose breaker refuses calls: it is called past the breaker.
        const bypass = breakerOut(member);
        setOutstanding(member, 1);
        const sentAt = now();
        let started: T;
        try {
          started = bypass ? await send(member.endpoint) : await member.breaker.execute(() => send(member.endpoint));
        } catch (error) {
          setOutstanding(member, -1);
          if (signal.aborted) throw error;
          metrics?.failed(name, member.spec.id, failureKind(error));
          const pause = readRequestedPause(error);
          if (pause !== undefined) {
            const at = now();
            member.pausedUntil = Math.max(member.pausedUntil, at + pause);
            // Nothing is left to try before a pause ends: no backoff and no further try here.
            const left = pausedFor(at);
            if (left > 0) throw new EndpointsPausedError(left, { cause: error });
          }
          throw error;
        }
        const at = now();
        sample(member, at - sentAt, at);
        const release = () => setOutstanding(member, -1);
        started.ended.then(release, release);
        return started;
      }, signal);
    },
    usable() {
      const at = now();
      return members.some((m) => usable(m, at));
    },
    pausedFor: () => pausedFor(now()),
    views: () => members.map(view),
    stop() {
      stopped = true;
      clearInterval(healthTimer);
    },
  };
}

function failureKind(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    if ((error as { isBrokenCircuitError?: unknown }).isBrokenCircuitError === true) return 'breaker';
    if ((error as { name?: unknown }).name === 'UpstreamEarlyEndError') return 'early_end';
  }
  return classifyProviderError(error).kind;
}
