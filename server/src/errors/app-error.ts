/** Every failure Axon reports on purpose, by stable code. */
export type AppErrorCode =
  | 'validation_failed'
  | 'invalid_json'
  | 'unauthenticated'
  | 'invalid_credentials'
  | 'account_disabled'
  | 'invalid_reset_token'
  | 'csrf_failed'
  | 'forbidden'
  | 'not_found'
  | 'model_not_found'
  | 'conflict'
  | 'setup_complete'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'upstream_auth'
  | 'upstream_rejected'
  | 'upstream_rate_limited'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'idp_unavailable'
  | 'unavailable'
  | 'internal';

/** The one table from code to HTTP status and title. */
export const APP_ERROR_STATUS: Record<AppErrorCode, { status: number; title: string }> = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  invalid_json: { status: 400, title: 'The request body is not valid JSON' },
  unauthenticated: { status: 401, title: 'Sign in or send an API key' },
  invalid_credentials: { status: 401, title: 'Email or password is wrong' },
  account_disabled: { status: 403, title: 'The account is disabled' },
  invalid_reset_token: { status: 400, title: 'The password reset link is not valid' },
  csrf_failed: { status: 403, title: 'Missing or wrong CSRF token' },
  forbidden: { status: 403, title: 'Not allowed' },
  not_found: { status: 404, title: 'Not found' },
  model_not_found: { status: 404, title: 'No such model' },
  conflict: { status: 409, title: 'Conflict' },
  setup_complete: { status: 409, title: 'Set-up is already complete' },
  payload_too_large: { status: 413, title: 'The request is too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type' },
  rate_limited: { status: 429, title: 'Too many requests' },
  upstream_auth: { status: 502, title: 'The model provider refused our credentials' },
  upstream_rejected: { status: 400, title: 'The model provider refused the request' },
  upstream_rate_limited: { status: 429, title: 'The model provider is rate limiting requests' },
  upstream_error: { status: 502, title: 'The model provider failed' },
  upstream_timeout: { status: 504, title: 'The model provider did not answer in time' },
  idp_unavailable: { status: 502, title: 'The identity provider could not be reached' },
  unavailable: { status: 503, title: 'The service is shutting down or not ready' },
  internal: { status: 500, title: 'Internal error' },
};

const BRAND = Symbol.for('axon.AppError');

export interface AppErrorOptions {
  detail?: string;
  cause?: unknown;
  /** Field-level problems for `validation_failed`. */
  errors?: Array<{ path: string; message: string }>;
  /** For rate limits: when a retry may succeed. */
  retryAfterMs?: number;
  /** Extra response headers (e.g. `RateLimit-*`). */
  headers?: Record<string, string>;
  /** Extra members of the problem body (e.g. the limit that refused the request). */
  extensions?: Record<string, unknown>;
  /** For `upstream_rejected`: the status the upstream answered, passed on as is (4xx). */
  status?: number;
  /** The upstream's own error, as OpenAI's error body members, for `/v1` callers. */
  upstream?: UpstreamErrorBody;
}

/** An upstream's error in OpenAI's shape: `{ message, type, param, code }`. */
export interface UpstreamErrorBody {
  message: string;
  type: string | null;
  param: string | null;
  code: string | null;
}

/**
 * An error with a stable code. Recognise it with `AppError.isInstance`, not `instanceof`:
 * a second copy of this module must still be recognised.
 */
export class AppError extends Error {
  readonly [BRAND] = true;
  readonly code: AppErrorCode;
  readonly detail: string | undefined;
  readonly errors: Array<{ path: string; message: string }> | undefined;
  readonly retryAfterMs: number | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly extensions: Record<string, unknown> | undefined;
  readonly upstream: UpstreamErrorBody | undefined;
  readonly #status: number | undefined;

  constructor(code: AppErrorCode, options: AppErrorOptions = {}) {
    super(options.detail ?? APP_ERROR_STATUS[code].title, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.detail = options.detail;
    this.errors = options.errors;
    this.retryAfterMs = options.retryAfterMs;
    this.headers = options.headers;
    this.extensions = options.extensions;
    this.upstream = options.upstream;
    this.#status =
      code === 'upstream_rejected' && options.status && options.status >= 400 && options.status < 500 ? options.status : undefined;
  }

  get status(): number {
    return this.#status ?? APP_ERROR_STATUS[this.code].status;
  }

  static isInstance(value: unknown): value is AppError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
