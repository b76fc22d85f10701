import type { Problem } from '@axon/contracts';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { APP_ERROR_STATUS, AppError, type AppErrorCode } from '../errors';

/** Maps Fastify's own 4xx errors (bad JSON, too large, wrong content type) to our codes. */
function fromFastifyError(error: FastifyError): AppError | undefined {
  const status = error.statusCode;
  if (!status || status >= 500) return undefined;
  const byCode: Record<string, AppErrorCode> = {
    FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
    FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_failed',
  };
  const code =
    byCode[error.code] ??
    (status === 413
      ? 'payload_too_large'
      : status === 415
        ? 'unsupported_media_type'
        : status === 404
          ? 'not_found'
          : error.code?.includes('JSON') || error instanceof SyntaxError
            ? 'invalid_json'
            : 'validation_failed');
  return new AppError(code, { detail: error.message });
}

/** Any thrown value as an `AppError`; unknown errors become `internal`. */
export function toAppErrorOrInternal(error: unknown): { appError: AppError; unexpected: boolean } {
  if (AppError.isInstance(error)) return { appError: error, unexpected: false };
  const fastifyError =
    typeof error === 'object' && error !== null && 'statusCode' in error ? fromFastifyError(error as FastifyError) : undefined;
  if (fastifyError) return { appError: fastifyError, unexpected: false };
  return {
    appError: new AppError('internal', { detail: 'Something went wrong on our side; the request id identifies it in the logs.' }),
    unexpected: true,
  };
}

export function problemBody(error: AppError, requestId: string): Problem {
  const { status, title } = APP_ERROR_STATUS[error.code];
  return {
    type: `https://axon.dev/problems/${error.code.replace(/_/g, '-')}`,
    title,
    status,
    code: error.code,
    requestId,
    ...(error.detail ? { detail: error.detail } : {}),
    ...(error.errors ? { errors: error.errors } : {}),
    ...(error.retryAfterMs !== undefined ? { retryAfterSeconds: Math.ceil(error.retryAfterMs / 1000) } : {}),
    ...error.extensions,
  };
}

/** OpenAI's error `type` for each of our codes, so OpenAI clients raise the matching exception. */
const OPENAI_TYPE: Partial<Record<AppErrorCode, string>> = {
  validation_failed: 'invalid_request_error',
  invalid_json: 'invalid_request_error',
  payload_too_large: 'invalid_request_error',
  unsupported_media_type: 'invalid_request_error',
  unauthenticated: 'authentication_error',
  invalid_credentials: 'authentication_error',
  forbidden: 'permission_error',
  csrf_failed: 'permission_error',
  not_found: 'not_found_error',
  model_not_found: 'invalid_request_error',
  rate_limited: 'rate_limit_error',
  upstream_rate_limited: 'rate_limit_error',
  upstream_rejected: 'invalid_request_error',
};

/** OpenAI's error body `{ error: { message, type, param, code } }`, for `/v1` routes. */
export function openAIErrorBody(error: AppError) {
  // The upstream's own error, as it sent it, for errors it answered.
  if (error.upstream) return { error: { ...error.upstream } };
  const param = error.errors?.[0]?.path.replace(/^body\./, '') ?? null;
  return {
    error: {
      message: error.detail ?? error.message,
      type: OPENAI_TYPE[error.code] ?? (error.status >= 500 ? 'api_error' : 'invalid_request_error'),
      param: error.code === 'model_not_found' ? 'model' : param,
      code: error.code,
    },
  };
}

export function isOpenAIRoute(url: string): boolean {
  return url.startsWith('/v1/') || url === '/v1';
}

/** Anthropic's error types, which its SDKs map to their error classes. */
const ANTHROPIC_TYPES = new Set([
  'invalid_request_error',
  'authentication_error',
  'billing_error',
  'permission_error',
  'not_found_error',
  'request_too_large',
  'rate_limit_error',
  'api_error',
  'timeout_error',
  'overloaded_error',
]);

/** Anthropic's error `type` for each of our codes. */
const ANTHROPIC_TYPE: Partial<Record<AppErrorCode, string>> = {
  unauthenticated: 'authentication_error',
  invalid_credentials: 'authentication_error',
  account_disabled: 'permission_error',
  forbidden: 'permission_error',
  csrf_failed: 'permission_error',
  not_found: 'not_found_error',
  model_not_found: 'not_found_error',
  payload_too_large: 'request_too_large',
  rate_limited: 'rate_limit_error',
  upstream_rate_limited: 'rate_limit_error',
  upstream_timeout: 'timeout_error',
  unavailable: 'overloaded_error',
};

/** Anthropic's error body `{ type: 'error', error: { type, message } }`, for `/v1/messages`; an upstream's own message as it sent it. */
export function anthropicErrorBody(error: AppError, requestId?: string) {
  const upstreamType = error.upstream?.type;
  const type =
    upstreamType && ANTHROPIC_TYPES.has(upstreamType)
      ? upstreamType
      : (ANTHROPIC_TYPE[error.code] ?? (error.status >= 500 ? 'api_error' : 'invalid_request_error'));
  return {
    type: 'error',
    error: { type, message: error.upstream?.message ?? error.detail ?? error.message },
    ...(requestId ? { request_id: requestId } : {}),
  };
}

/** Routes whose clients are Anthropic's SDKs. */
export function isAnthropicRoute(url: string): boolean {
  return url === '/v1/messages' || url.startsWith('/v1/messages/') || url.startsWith('/v1/messages?');
}

/** Sends an error the way the route's clients expect: Anthropic's shape for `/v1/messages`, OpenAI's elsewhere under `/v1`, problem+json elsewhere. */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  if (error.retryAfterMs !== undefined) reply.header('retry-after', String(Math.ceil(error.retryAfterMs / 1000)));
  for (const [name, value] of Object.entries(error.headers ?? {})) reply.header(name, value);
  if (error.code === 'unauthenticated' && isOpenAIRoute(request.url)) reply.header('www-authenticate', 'Bearer');
  reply.status(error.status);
  if (isAnthropicRoute(request.url)) return reply.type('application/json').send(anthropicErrorBody(error, request.id));
  if (isOpenAIRoute(request.url)) return reply.type('application/json').send(openAIErrorBody(error));
  return reply.type('application/problem+json').send(problemBody(error, request.id));
}
