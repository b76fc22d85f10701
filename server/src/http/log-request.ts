import type { FastifyRequest } from 'fastify';
import type { TurnObservation } from '../observability/metrics';

/**
 * The one access-log line per request: id (bound by the request logger), route, status, user and
 * latency. Streamed routes call it when their stream ends, since Fastify does not log those replies.
 */
export function logRequest(request: FastifyRequest, status: number, extra: Record<string, unknown> = {}): void {
  request.accessLogged = true;
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
  if (typeof extra.model === 'string') observeModelCall(request, extra as unknown as TurnObservation);
}

/** A model call: its tokens, time to first token, speed and failure feed the metrics and the usage ledger. */
export function observeModelCall(request: FastifyRequest, turn: TurnObservation): void {
  const principal = request.principal;
  const orgId = principal?.user.orgId;
  const inputTokens = turn.usage?.inputTokens ?? 0;
  const outputTokens = turn.usage?.outputTokens ?? 0;
  const usage = request.server.usage;
  request.server.metrics?.observeTurn({ ...turn, orgId, costUsd: usage?.cost(turn.model, inputTokens, outputTokens) });
  if (!usage || !orgId) return;
  usage.record({
    orgId,
    userId: principal?.user.id ?? null,
    userEmail: principal?.user.email ?? null,
    apiKeyId: principal?.apiKeyId ?? null,
    route: request.routeOptions.url ?? request.url,
    model: turn.model,
    status: turn.outcome ?? 'complete',
    inputTokens,
    outputTokens,
    latencyMs: turn.timing?.totalMs ?? null,
    ttftMs: turn.timing?.ttftMs ?? null,
  });
}
