import type { FastifyRequest } from 'fastify';
import type { TurnObservation } from '../observability/metrics';

/**
 * The one access-log line per request: id (bound by the request logger), route, status, user and
 * latency. Streamed routes call it when their stream ends, since Fastify does not log those replies.
 */
export function logRequest(request: FastifyRequest, status: number, extra: Record<string, unknown> = {}): void {
  request.log.info(
    {
      method: request.method,
      route: request.routeOptions.url,
      status,
      userId: request.principal?.user.id,
      apiKeyId: request.principal?.apiKeyId,
      latencyMs: Math.round((performance.now() - request.startedAt) * 100) / 100,
      ...extra,
    },
    'request',
  );
  // A model call: its tokens, time to first token, speed and failure feed the metrics.
  if (typeof extra.model === 'string') request.server.metrics?.observeTurn(extra as unknown as TurnObservation);
}
