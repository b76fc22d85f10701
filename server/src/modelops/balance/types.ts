import type { BalanceStrategy } from '@axon/contracts';
import type { WireTarget } from '../../providers/model-connections';

/** What a strategy or a picker sees of an endpoint when choosing one. */
export interface EndpointView {
  id: string;
  weight: number;
  /** Requests sent to it that have not ended yet (streams count until their last byte). */
  outstanding: number;
  /** Moving average of its time to start answering (a stream's first token, or the whole JSON answer), in ms; null until it answered once. */
  ewmaMs: number | null;
  /** Passes its health checks and its circuit breaker is not open. */
  healthy: boolean;
}

/**
 * Chooses among usable endpoints for the `prefix` strategy (e.g. vLLM replicas that may hold the
 * prompt's prefix in their KV cache). Called only with endpoints that may be used now.
 */
export interface PrefixPicker {
  /** One of `candidates` (never empty), for a request whose prompt is `hint.promptText`. */
  pick(candidates: EndpointView[], hint: { promptText: string }): EndpointView;
}

/** One endpoint of a pool: where it is, the model's id there, and its share of the traffic. */
export interface EndpointSpecResolved {
  /** Unique in the pool; reported in outcomes and metrics. */
  id: string;
  target: WireTarget;
  upstreamModel: string;
  weight: number;
  /** Requests it may have in flight at once (none: no limit). */
  maxConcurrent?: number | undefined;
}

export interface EndpointPoolOptions {
  endpoints: EndpointSpecResolved[];
  strategy: BalanceStrategy;
  /** Required for the `prefix` strategy. */
  picker?: PrefixPicker | undefined;
  /** An endpoint's breaker opens after `failures` failures within `windowMs`, and lets a trial call through after `cooldownMs`. */
  breaker: { failures: number; windowMs: number; cooldownMs: number };
  /** Tries per call in all (1: no retry), with jittered exponential backoff between `baseMs` and `maxMs`. */
  retry: { attempts: number; baseMs: number; maxMs: number };
  /** Active checks: `GET <baseURL>/models` every `intervalMs`; an endpoint that fails one is left out until it passes one. */
  health?: { intervalMs: number; timeoutMs: number } | undefined;
  /** For the `latency` strategy: the weight of a new sample (default 0.3), and how fast an idle endpoint's average is forgotten (default 60 s), so it is tried again. */
  latency?: { alpha?: number; forgetMs?: number } | undefined;
  /** Names the pool in metrics. */
  name?: string | undefined;
  metrics?: BalanceMetrics | undefined;
  /** In [0, 1); `Math.random` by default. */
  random?: (() => number) | undefined;
  /** Milliseconds; `performance.now` by default. Breaker cooldowns follow the wall clock (cockatiel's). */
  now?: (() => number) | undefined;
}

/** An endpoint as `serve` hands it to the caller. */
export interface PoolEndpoint {
  readonly id: string;
  readonly target: WireTarget;
  readonly upstreamModel: string;
}

/** A call that has started answering; the endpoint counts it as outstanding until `ended` settles. */
export interface StartedCall {
  ended: Promise<unknown>;
}

/** The endpoints of one model version, with the breakers, health and load that decide where a call goes. */
export interface EndpointPool {
  readonly name: string;
  /**
   * Sends `send` to an endpoint the strategy chooses among those usable (breaker not open, healthy,
   * below `maxConcurrent`; the least bad one when none is), and, while it fails in a way another
   * try may not (`isRetryableBeforeFirstToken`), again after a jittered backoff, on an endpoint not
   * tried yet when there is one, up to `retry.attempts` tries. An endpoint that failed with a
   * pause it asked for (`Retry-After` on a 429 or 503, at most 5 minutes) is not called again
   * until the pause ends, by this call's retries or any other. `send` resolves once the endpoint
   * has started answering; rejects with the last failure, or with `EndpointsPausedError` (a 429
   * with the time until the first pause ends) when every endpoint is paused.
   */
  serve<T extends StartedCall>(
    send: (endpoint: PoolEndpoint) => Promise<T>,
    options: { signal: AbortSignal; promptText?: (() => string) | undefined },
  ): Promise<T>;
  /** Whether some endpoint may be used now (a fallback chain skips a pool that has none). */
  usable(): boolean;
  /** Milliseconds until the first of its endpoints may be called again when every one is paused (`Retry-After`); 0 when one may be called now. */
  pausedFor(): number;
  /** Each endpoint's state, in the configured order. */
  views(): EndpointView[];
  /** Ends the health checks. */
  stop(): void;
}

/** Where pools report; `createBalanceMetrics` puts these on the process's Prometheus registry. */
export interface BalanceMetrics {
  outstanding(pool: string, endpoint: string, value: number): void;
  breakerState(pool: string, endpoint: string, state: 'closed' | 'half-open' | 'open'): void;
  healthy(pool: string, endpoint: string, healthy: boolean): void;
  failed(pool: string, endpoint: string, kind: string): void;
}
