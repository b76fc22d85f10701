import type { FastifyRequest } from 'fastify';

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
}
