import { parsePrometheusText } from './prometheus-text';

/**
 * What a self-hosted replica (vLLM, or SGLang) says about its own load, read from its Prometheus
 * `/metrics`. The pool's outstanding counts see only Axon's own requests; a replica's queue also
 * holds other clients' and shows what the engine is doing now (batch full, KV cache full).
 */
export interface ReplicaMetrics {
  /** Requests queued, not yet scheduled (`vllm:num_requests_waiting`, `sglang:num_queue_reqs`). */
  waiting: number;
  /** Requests in the running batch (`vllm:num_requests_running`, `sglang:num_running_reqs`). */
  running: number;
  /** Share of the KV cache in use, 0..1 (`vllm:kv_cache_usage_perc`, older `vllm:gpu_cache_usage_perc`, `sglang:token_usage`); null if not served. */
  kvCacheUsage: number | null;
  /** Prompt tokens found in the prefix cache since the replica started (a counter); null if not served. */
  prefixCacheHits: number | null;
  /** Prompt tokens looked up in the prefix cache since the replica started (a counter); null if not served. */
  prefixCacheQueries: number | null;
  /** When these figures were read (ms since the epoch, the scraper's clock). */
  scrapedAt: number;
  /**
   * When the read was sent (the scraper's clock): the replica took its figures at some moment
   * between this and `scrapedAt`.
   */
  requestedAt: number;
}

/** The picker's view of replica metrics: only figures fresh enough to act on. */
export interface ReplicaMetricsSource {
  /** The endpoint's latest figures, or undefined if none were read within the staleness limit. */
  current(endpointId: string): ReplicaMetrics | undefined;
}

export interface ScrapeTarget {
  /** The pool's endpoint id. */
  id: string;
  /** The endpoint's OpenAI-compatible base URL (`http://10.0.0.5:8000/v1`); metrics are read from `/metrics` beside `/v1`. */
  baseURL: string;
}

export interface VllmMetricsScraper extends ReplicaMetricsSource {
  /** Starts reading every `intervalMs` (the timer does not keep the process alive). Idempotent. */
  start(): void;
  /** Stops the timer; figures already read stay until they go stale. */
  stop(): void;
  /** Reads every target once now; never rejects (a failed read leaves that target's figures to go stale). */
  scrapeOnce(): Promise<void>;
  /** Replaces the targets (endpoints added or removed); figures of removed ones are dropped. */
  setTargets(targets: ScrapeTarget[]): void;
}

export interface VllmMetricsScraperOptions {
  targets: ScrapeTarget[];
  /** Between reads of one replica; 1 s by default: gentle on the replica, fresh enough to balance on. */
  intervalMs?: number;
  /** Figures older than this count as absent (the picker falls back to the pool's counts); 3 s by default. */
  staleAfterMs?: number;
  /** One read's limit; the interval by default. */
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
  now?: () => number;
}

/** `http://host:8000/v1` → `http://host:8000/metrics` (vLLM and SGLang serve both on one port). */
export function metricsUrlFor(baseURL: string): string {
  const trimmed = baseURL.replace(/\/+$/, '');
  const root = trimmed.endsWith('/v1') ? trimmed.slice(0, -3) : trimmed;
  return `${root}/metrics`;
}

const WAITING = ['vllm:num_requests_waiting', 'sglang:num_queue_reqs'];
const RUNNING = ['vllm:num_requests_running', 'sglang:num_running_reqs'];
const KV_USAGE = ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc', 'sglang:token_usage'];
// vLLM's V1 engine first named these `gpu_prefix_cache_*`; counters gain `_total` in the exposition.
const PREFIX_HITS = ['vllm:prefix_cache_hits_total', 'vllm:gpu_prefix_cache_hits_total'];
const PREFIX_QUERIES = ['vllm:prefix_cache_queries_total', 'vllm:gpu_prefix_cache_queries_total'];
const WANTED = new Set([...WAITING, ...RUNNING, ...KV_USAGE, ...PREFIX_HITS, ...PREFIX_QUERIES]);

/**
 * The figures in one `/metrics` text, or undefined if it holds neither queue length (not a vLLM or
 * SGLang server). A replica serving several models or engines exposes one series per label set:
 * counts are summed, the KV cache usage is the fullest one's.
 */
export function readReplicaMetrics(text: string, scrapedAt: number, requestedAt = scrapedAt): ReplicaMetrics | undefined {
  const byName = new Map<string, number[]>();
  for (const sample of parsePrometheusText(text, WANTED)) {
    if (!Number.isFinite(sample.value)) continue;
    const values = byName.get(sample.name) ?? [];
    values.push(sample.value);
    byName.set(sample.name, values);
  }
  const first = (names: string[]) => {
    for (const name of names) {
      const values = byName.get(name);
      if (values) return values;
    }
    return undefined;
  };
  const sum = (values: number[] | undefined) => (values ? values.reduce((a, b) => a + b, 0) : null);
  const waiting = sum(first(WAITING));
  const running = sum(first(RUNNING));
  if (waiting === null && running === null) return undefined;
  const usage = first(KV_USAGE);
  return {
    waiting: waiting ?? 0,
    running: running ?? 0,
    kvCacheUsage: usage ? Math.max(...usage) : null,
    prefixCacheHits: sum(first(PREFIX_HITS)),
    prefixCacheQueries: sum(first(PREFIX_QUERIES)),
    scrapedAt,
    requestedAt,
  };
}

/** Reads each replica's `/metrics` on a timer and keeps the latest figures per endpoint. */
export function createVllmMetricsScraper(opts: VllmMetricsScraperOptions): VllmMetricsScraper {
  const intervalMs = opts.intervalMs ?? 1000;
  const staleAfterMs = opts.staleAfterMs ?? 3000;
  const timeoutMs = opts.timeoutMs ?? intervalMs;
  const fetchFn = opts.fetch ?? globalThis.fetch;
  const now = opts.now ?? Date.now;
  let targets = [...opts.targets];
  const latest = new Map<string, ReplicaMetrics>();
  const inFlight = new Set<string>();
  let timer: NodeJS.Timeout | undefined;

  async function scrapeTarget(target: ScrapeTarget): Promise<void> {
    // A replica slower to answer than the interval is not asked again until it has answered.
    if (inFlight.has(target.id)) return;
    inFlight.add(target.id);
    const requestedAt = now();
    try {
      const res = await fetchFn(metricsUrlFor(target.baseURL), {
        signal: AbortSignal.timeout(timeoutMs),
        headers: { accept: 'text/plain' },
      });
      if (!res.ok) {
        await res.body?.cancel();
        return;
      }
      const metrics = readReplicaMetrics(await res.text(), now(), requestedAt);
      if (metrics && targets.some((t) => t.id === target.id)) latest.set(target.id, metrics);
    } catch {
      // Unreachable or slow: its figures go stale and the picker uses the pool's counts.
    } finally {
      inFlight.delete(target.id);
    }
  }

  const scraper: VllmMetricsScraper = {
    current(endpointId) {
      const metrics = latest.get(endpointId);
      if (!metrics || now() - metrics.scrapedAt > staleAfterMs) return undefined;
      return metrics;
    },
    async scrapeOnce() {
      await Promise.all(targets.map(scrapeTarget));
    },
    start() {
      if (timer) return;
      void scraper.scrapeOnce();
      timer = setInterval(() => void scraper.scrapeOnce(), intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    setTargets(next) {
      targets = [...next];
      for (const id of latest.keys()) if (!targets.some((t) => t.id === id)) latest.delete(id);
    },
  };
  return scraper;
}
