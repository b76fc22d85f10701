import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface TurnObservation {
  model: string;
  outcome?: string | undefined;
  usage?: { inputTokens: number | null; outputTokens: number | null } | undefined;
  timing?: { ttftMs: number | null; totalMs: number | null } | undefined;
  failure?: string | undefined;
  /** The caller's organisation, and what the call cost (from the price table). */
  orgId?: string | undefined;
  costUsd?: number | undefined;
}

/** Prometheus metrics of one process (prom-client), served at `/metrics`. */
export function createMetrics(options: { activeStreams: () => number }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'axon_' });
  const requests = new Counter({
    name: 'axon_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'axon_http_request_duration_seconds',
    help: 'HTTP request latency (to the end of the response, streams included) by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const ttft = new Histogram({
    name: 'axon_time_to_first_token_seconds',
    help: 'Time from the request to the first token of the answer, by model',
    labelNames: ['model'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const tokensPerSecond = new Histogram({
    name: 'axon_output_tokens_per_second',
    help: 'Answer tokens per second after the first token, by model',
    labelNames: ['model'] as const,
    buckets: [5, 10, 20, 40, 80, 160, 320, 640, 1280, 5000],
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'axon_tokens_total',
    help: 'Tokens by model, organisation and kind (input, output)',
    labelNames: ['model', 'org', 'kind'] as const,
    registers: [registry],
  });
  const cost = new Counter({
    name: 'axon_cost_usd_total',
    help: 'Cost of model calls in USD (from the price table), by model and organisation',
    labelNames: ['model', 'org'] as const,
    registers: [registry],
  });
  const turns = new Counter({
    name: 'axon_model_calls_total',
    help: 'Model calls by model and outcome (complete, stopped, error)',
    labelNames: ['model', 'outcome'] as const,
    registers: [registry],
  });
  const upstreamErrors = new Counter({
    name: 'axon_upstream_errors_total',
    help: 'Failed model calls by model and kind of failure',
    labelNames: ['model', 'kind'] as const,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'axon_rate_limit_refusals_total',
    help: 'Requests refused by a rate limit, by limit',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  const toolCalls = new Counter({
    name: 'axon_tool_calls_total',
    help: 'Tool calls of agents by tool and outcome (ok, error, denied, refused, stopped, expired)',
    labelNames: ['tool', 'outcome'] as const,
    registers: [registry],
  });
  const toolDuration = new Histogram({
    name: 'axon_tool_call_duration_seconds',
    help: 'Duration of agents’ tool calls by tool',
    labelNames: ['tool'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  new Gauge({
    name: 'axon_active_streams',
    help: 'Answers streaming now',
    registers: [registry],
    collect() {
      this.set(options.activeStreams());
    },
  });

  return {
    registry,
    observeRequest(route: string, method: string, status: number, seconds: number) {
      const labels = { route, method, status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
    observeTurn({ model, outcome, usage, timing, failure, orgId, costUsd }: TurnObservation) {
      const org = orgId ?? 'none';
      turns.inc({ model, outcome: outcome ?? 'complete' });
      if (failure) upstreamErrors.inc({ model, kind: failure });
      if (usage?.inputTokens) tokens.inc({ model, org, kind: 'input' }, usage.inputTokens);
      if (usage?.outputTokens) tokens.inc({ model, org, kind: 'output' }, usage.outputTokens);
      if (costUsd) cost.inc({ model, org }, costUsd);
      if (timing?.ttftMs != null) ttft.observe({ model }, timing.ttftMs / 1000);
      if (timing?.ttftMs != null && timing.totalMs != null && usage?.outputTokens && timing.totalMs > timing.ttftMs) {
        tokensPerSecond.observe({ model }, usage.outputTokens / ((timing.totalMs - timing.ttftMs) / 1000));
      }
    },
    observeToolCall(tool: string, outcome: string, seconds: number) {
      toolCalls.inc({ tool, outcome });
      toolDuration.observe({ tool }, seconds);
    },
    rateLimited(limit: string) {
      refusals.inc({ limit });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
