import { Counter, Gauge, type Registry } from 'prom-client';
import type { BalanceMetrics } from './types';

const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/** Per-endpoint metrics of the pools, on the process's registry (`metrics.registry`); make one per registry. */
export function createBalanceMetrics(registry: Registry): BalanceMetrics {
  const labelNames = ['pool', 'endpoint'] as const;
  const outstanding = new Gauge({
    name: 'axon_endpoint_outstanding_requests',
    help: 'Requests sent to a model endpoint that have not ended yet, by pool and endpoint',
    labelNames,
    registers: [registry],
  });
  const breaker = new Gauge({
    name: 'axon_endpoint_breaker_state',
    help: "A model endpoint's circuit breaker: 0 closed, 1 half-open (a trial call), 2 open",
    labelNames,
    registers: [registry],
  });
  const healthy = new Gauge({
    name: 'axon_endpoint_healthy',
    help: 'Whether a model endpoint passed its last health check (1) or not (0)',
    labelNames,
    registers: [registry],
  });
  const failures = new Counter({
    name: 'axon_endpoint_failures_total',
    help: 'Failed calls to a model endpoint before the first token, by pool, endpoint and kind of failure',
    labelNames: ['pool', 'endpoint', 'kind'] as const,
    registers: [registry],
  });
  return {
    outstanding: (pool, endpoint, value) => outstanding.set({ pool, endpoint }, value),
    breakerState: (pool, endpoint, state) => breaker.set({ pool, endpoint }, BREAKER_VALUE[state]),
    healthy: (pool, endpoint, value) => healthy.set({ pool, endpoint }, value ? 1 : 0),
    failed: (pool, endpoint, kind) => failures.inc({ pool, endpoint, kind }),
  };
}
