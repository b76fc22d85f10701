import { classifyProviderError } from '../../errors';

/** Statuses another try may not get: rate limits and the server-side failures a replica or a gateway answers with. */
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/**
 * Whether a failure before the first token may go differently on another try (another endpoint,
 * or the same one a moment later): a refused or reset connection, a time limit before the answer,
 * HTTP 429/500/502/503/504, a stream that ended before its answer began, an open breaker. Any other
 * 4xx is the request's own fault, and an abort is the caller's choice. HTTP statuses are judged
 * here; everything else as `classifyProviderError` judges it.
 */
export function isRetryableBeforeFirstToken(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const name = (error as { name?: unknown }).name;
  if (name === 'UpstreamEarlyEndError') return true;
  // cockatiel's `BrokenCircuitError` / `IsolatedCircuitError`: that endpoint refused, another may not.
  if ((error as { isBrokenCircuitError?: unknown }).isBrokenCircuitError === true) return true;
  const failure = classifyProviderError(error);
  if (failure.upstreamStatus !== undefined) return RETRYABLE_STATUS.has(failure.upstreamStatus);
  return failure.kind !== 'abort' && failure.retryable;
}
