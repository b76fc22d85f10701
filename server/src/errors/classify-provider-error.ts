import { AppError, type AppErrorCode, type UpstreamErrorBody } from './app-error';

export type ProviderFailureKind = 'auth' | 'rate' | 'quota' | 'timeout' | 'abort' | 'not_found' | 'rejected' | 'upstream';

export interface ProviderFailure {
  kind: ProviderFailureKind;
  /** Whether the same request may succeed if sent again. */
  retryable: boolean;
  /** HTTP status the upstream answered, when there was one. */
  upstreamStatus: number | undefined;
  /** A message safe to show a person: it never contains credentials. */
  message: string;
  /** When the upstream said a retry may succeed (its `Retry-After`). */
  retryAfterMs?: number | undefined;
  /** The upstream's own error (OpenAI's or Anthropic's body), for errors the caller must see as sent. */
  upstreamError?: UpstreamErrorBody | undefined;
}

/** The error an upstream answered with, read from OpenAI's `{ error: {…} }` or Anthropic's `{ type: 'error', error: {…} }`. */
export function readUpstreamError(body: string | undefined): UpstreamErrorBody | undefined {
  if (!body) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const error = (parsed as { error?: unknown })?.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as Record<string, unknown>;
  if (typeof e.message !== 'string') return undefined;
  const text = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);
  return { message: e.message.slice(0, 4000), type: text(e.type), param: text(e.param), code: text(e.code) };
}

/** `Retry-After` (seconds or an HTTP date) as milliseconds. */
export function readRetryAfter(headers: Record<string, string | string[] | undefined> | undefined): number | undefined {
  const raw = headers?.['retry-after'] ?? headers?.['Retry-After'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const CODE_BY_KIND: Record<ProviderFailureKind, AppErrorCode> = {
  auth: 'upstream_auth',
  rate: 'upstream_rate_limited',
  quota: 'upstream_rate_limited',
  timeout: 'upstream_timeout',
  abort: 'upstream_error',
  not_found: 'model_not_found',
  rejected: 'upstream_rejected',
  upstream: 'upstream_error',
};

/** undici's and the system's time limits, by their codes: which one ran out. */
const TIMEOUT_MESSAGES: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'The model provider could not be connected to in time (connect timeout)',
  UND_ERR_HEADERS_TIMEOUT: 'The model provider did not start answering in time (first-byte timeout)',
  UND_ERR_BODY_TIMEOUT: 'The model provider sent nothing for too long while answering (idle timeout)',
  ETIMEDOUT: 'The model provider could not be connected to in time (ETIMEDOUT)',
};

function readStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { statusCode?: unknown; status?: unknown }).statusCode ?? (error as { status?: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}

function readCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Classifies any failure of a model call once, so that retries, fallbacks and the HTTP status
 * all read the same answer. Works on the AI SDK's `APICallError`, fetch/undici errors and aborts.
 */
export function classifyProviderError(error: unknown): ProviderFailure {
  if (AppError.isInstance(error)) {
    const kind: ProviderFailureKind = error.code === 'model_not_found' ? 'not_found' : 'upstream';
    return { kind, retryable: false, upstreamStatus: undefined, message: error.message };
  }
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  if (name === 'AbortError') {
    return { kind: 'abort', retryable: false, upstreamStatus: undefined, message: 'The request was aborted' };
  }
  if (name === 'TimeoutError') {
    const message = (error as { message?: unknown }).message;
    return {
      kind: 'timeout',
      retryable: true,
      upstreamStatus: undefined,
      message: typeof message === 'string' && message ? message : 'The model provider timed out',
    };
  }
  // A body that failed after a 200 (the AI SDK reports such a stream's failure with the response's
  // status) failed for its cause: a reset, a time limit.
  const answered = readStatus(error);
  const status = answered !== undefined && answered >= 200 && answered < 300 ? undefined : answered;
  const responseBody = (error as { responseBody?: unknown }).responseBody;
  const upstreamError = readUpstreamError(typeof responseBody === 'string' ? responseBody : undefined);
  const retryAfterMs = readRetryAfter((error as { responseHeaders?: Record<string, string> }).responseHeaders);
  if (status === 401 || status === 403) {
    return {
      kind: 'auth',
      retryable: false,
      upstreamStatus: status,
      message: `The model provider refused the credentials (HTTP ${status})`,
    };
  }
  if (status === 404) {
    return {
      kind: 'not_found',
      retryable: false,
      upstreamStatus: status,
      upstreamError,
      message: upstreamError?.message ?? 'The model provider does not know this model (HTTP 404)',
    };
  }
  if (status === 429) {
    const body = String((error as { responseBody?: unknown }).responseBody ?? '');
    const quota = /quota|billing|insufficient/i.test(body);
    return {
      kind: quota ? 'quota' : 'rate',
      retryable: !quota,
      upstreamStatus: status,
      retryAfterMs,
      upstreamError,
      message: quota
        ? 'The model provider reports the quota is exhausted (HTTP 429)'
        : 'The model provider is rate limiting requests (HTTP 429)',
    };
  }
  if (status === 408 || status === 504) {
    return { kind: 'timeout', retryable: true, upstreamStatus: status, message: `The model provider timed out (HTTP ${status})` };
  }
  if (status !== undefined && status >= 400 && status < 500 && status !== 401 && status !== 403) {
    // The upstream refused this request (too long a context, a bad parameter): the caller's to fix.
    return {
      kind: 'rejected',
      retryable: false,
      upstreamStatus: status,
      upstreamError,
      message: upstreamError?.message ?? `The model provider refused the request (HTTP ${status})`,
    };
  }
  if (status !== undefined) {
    return {
      kind: 'upstream',
      retryable: status >= 500,
      upstreamStatus: status,
      message: `The model provider failed (HTTP ${status})${upstreamError ? `: ${upstreamError.message}` : ''}`,
    };
  }
  const code = readCode(error);
  const timedOut = code ? TIMEOUT_MESSAGES[code] : undefined;
  if (timedOut) return { kind: 'timeout', retryable: true, upstreamStatus: undefined, message: timedOut };
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') {
    return { kind: 'upstream', retryable: true, upstreamStatus: undefined, message: `The model provider reset the connection (${code})` };
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH') {
    return { kind: 'upstream', retryable: true, upstreamStatus: undefined, message: `The model provider is not reachable (${code})` };
  }
  return { kind: 'upstream', retryable: false, upstreamStatus: undefined, message: 'The model provider failed or closed the stream early' };
}

/** The `AppError` a provider failure is reported as. */
export function toAppError(failure: ProviderFailure, cause?: unknown): AppError {
  const limited = failure.kind === 'rate' || failure.kind === 'quota';
  return new AppError(CODE_BY_KIND[failure.kind], {
    detail: failure.message,
    cause,
    // A refusal, an unknown model or a rate limit is the upstream's to explain: its status, code and message go on as sent.
    ...(failure.kind === 'rejected' ? { status: failure.upstreamStatus } : {}),
    ...((failure.kind === 'rejected' || failure.kind === 'not_found' || limited) && failure.upstreamError
      ? { upstream: failure.upstreamError }
      : {}),
    ...(limited ? { retryAfterMs: failure.retryAfterMs ?? 1000 } : {}),
  });
}
