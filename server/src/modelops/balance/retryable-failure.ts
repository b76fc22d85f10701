import { classifyProviderError } from '../../errors';

/** Statuses another try may not get: rate limits and the server-side failures a replica or a gateway answers with. */
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/** Statuses whose pause an endpoint asks for (`Retry-After` and the like) is honoured. */
const PAUSING_STATUS = new Set([429, 503]);

/** The longest pause an endpoint may ask for; a longer one is cut to this. */
export const MAX_REQUESTED_PAUSE_MS = 300_000;

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

/**
 * How long, in ms, the endpoint that failed with `error` asked not to be called again: for a 429 or
 * a 503, its `retry-after-ms`, else `Retry-After` (seconds or an HTTP date), else OpenAI's
 * `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens` (`20ms`, `1s`, `6m0s`) of the limits
 * whose `x-ratelimit-remaining-*` is 0 (of all given when none is), at most 5 minutes. Undefined for
 * other failures, and when no header says or the pause is not positive. Reads the `statusCode` (or
 * `status`) and `responseHeaders` of `UpstreamHttpError` and of the AI SDK's `APICallError`.
 */
export function readRequestedPause(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { statusCode, status, responseHeaders } = error as { statusCode?: unknown; status?: unknown; responseHeaders?: unknown };
  const code = typeof statusCode === 'number' ? statusCode : status;
  if (typeof code !== 'number' || !PAUSING_STATUS.has(code)) return undefined;
  if (typeof responseHeaders !== 'object' || responseHeaders === null) return undefined;
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(responseHeaders as Record<string, unknown>))
    if (typeof value === 'string') headers.set(name.toLowerCase(), value.trim());
  const ms = pauseFromHeaders(headers);
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return undefined;
  return Math.min(Math.ceil(ms), MAX_REQUESTED_PAUSE_MS);
}

function pauseFromHeaders(headers: Map<string, string>): number | undefined {
  const retryAfterMs = headers.get('retry-after-ms');
  if (retryAfterMs && Number.isFinite(Number(retryAfterMs))) return Number(retryAfterMs);
  const retryAfter = headers.get('retry-after');
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return seconds * 1000;
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return at - Date.now();
  }
  const resets: Array<{ ms: number; exhausted: boolean }> = [];
  for (const limit of ['requests', 'tokens']) {
    const ms = readResetDuration(headers.get(`x-ratelimit-reset-${limit}`));
    if (ms !== undefined) resets.push({ ms, exhausted: headers.get(`x-ratelimit-remaining-${limit}`) === '0' });
  }
  const exhausted = resets.filter((r) => r.exhausted);
  const chosen = exhausted.length > 0 ? exhausted : resets;
  return chosen.length > 0 ? Math.max(...chosen.map((r) => r.ms)) : undefined;
}

/** OpenAI's reset durations: `1h2m3.5s`, `6m0s`, `20ms`, `0.5s`. */
function readResetDuration(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const match = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/.exec(value);
  if (!match || match[0] === '') return undefined;
  const [, h, m, s, msPart] = match;
  return Number(h ?? 0) * 3_600_000 + Number(m ?? 0) * 60_000 + Number(s ?? 0) * 1000 + Number(msPart ?? 0);
}
