import { AppError, type AppErrorCode } from './app-error';

export type ProviderFailureKind = 'auth' | 'rate' | 'quota' | 'timeout' | 'abort' | 'not_found' | 'upstream';

export interface ProviderFailure {
  kind: ProviderFailureKind;
  /** Whether the same request may succeed if sent again. */
  retryable: boolean;
  /** HTTP status the upstream answered, when there was one. */
  upstreamStatus: number | undefined;
  /** A message safe to show a person: it never contains credentials. */
  message: string;
}

const CODE_BY_KIND: Record<ProviderFailureKind, AppErrorCode> = {
  auth: 'upstream_auth',
  rate: 'upstream_rate_limited',
  quota: 'upstream_rate_limited',
  timeout: 'upstream_timeout',
  abort: 'upstream_error',
  not_found: 'model_not_found',
  upstream: 'upstream_error',
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
    return { kind: 'timeout', retryable: true, upstreamStatus: undefined, message: 'The model provider timed out' };
  }
  const status = readStatus(error);
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
      message: 'The model provider does not know this model (HTTP 404)',
    };
  }
  if (status === 429) {
    const body = String((error as { responseBody?: unknown }).responseBody ?? '');
    const quota = /quota|billing|insufficient/i.test(body);
    return {
      kind: quota ? 'quota' : 'rate',
      retryable: !quota,
      upstreamStatus: status,
      message: quota
        ? 'The model provider reports the quota is exhausted (HTTP 429)'
        : 'The model provider is rate limiting requests (HTTP 429)',
    };
  }
  if (status === 408 || status === 504) {
    return { kind: 'timeout', retryable: true, upstreamStatus: status, message: `The model provider timed out (HTTP ${status})` };
  }
  if (status !== undefined) {
    return { kind: 'upstream', retryable: status >= 500, upstreamStatus: status, message: `The model provider failed (HTTP ${status})` };
  }
  const code = readCode(error);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') {
    return { kind: 'upstream', retryable: true, upstreamStatus: undefined, message: `The model provider is not reachable (${code})` };
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
    return { kind: 'timeout', retryable: true, upstreamStatus: undefined, message: 'The model provider timed out' };
  }
  return { kind: 'upstream', retryable: false, upstreamStatus: undefined, message: 'The model provider failed or closed the stream early' };
}

/** The `AppError` a provider failure is reported as. */
export function toAppError(failure: ProviderFailure, cause?: unknown): AppError {
  return new AppError(CODE_BY_KIND[failure.kind], { detail: failure.message, cause });
}
