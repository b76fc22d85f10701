/**
 * Every endpoint that could serve is pausing after its upstream asked for it (`Retry-After` on a
 * 429 or 503), so nothing was sent. Shaped as an upstream's HTTP 429 (`statusCode`,
 * `responseHeaders` with `retry-after`, an OpenAI error body), so that `classifyProviderError`
 * reads it as a rate limit with `retryAfterMs` and the caller gets a 429 with `Retry-After`; a
 * fallback chain takes it as a failure another candidate may not have. Recognise it with
 * `isEndpointsPausedError` (by name, not `instanceof`).
 */
export class EndpointsPausedError extends Error {
  readonly statusCode = 429;
  readonly responseHeaders: Record<string, string>;
  readonly responseBody: string;
  /** When the first of them may be called again, from now (at least 1 ms). */
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number, options: { cause?: unknown } = {}) {
    const ms = Math.max(1, Math.ceil(retryAfterMs));
    const message = `Every endpoint that serves this model asked for a pause; try again in ${Math.ceil(ms / 1000)} s.`;
    super(message, options);
    this.name = 'EndpointsPausedError';
    this.retryAfterMs = ms;
    this.responseHeaders = { 'retry-after': (ms / 1000).toFixed(3) };
    this.responseBody = JSON.stringify({ error: { message, type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } });
  }
}

export function isEndpointsPausedError(error: unknown): error is EndpointsPausedError {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'EndpointsPausedError';
}
