import type { Problem } from '@axon/contracts';

/** An error answered by the API, with its problem details. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem>,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

let csrfToken: string | null = null;

/** Set from the session; sent with every write, as the server requires for cookie sign-ins. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function csrfHeaders(): Record<string, string> {
  return csrfToken ? { 'x-csrf-token': csrfToken } : {};
}

/** Calls the Axon API with the session cookie and CSRF token; throws `ApiError` on a problem answer. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { ...(method === 'GET' ? {} : csrfHeaders()) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, { title: 'Axon is not reachable', detail: 'Check your connection; the server did not answer.', code: 'network' });
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const parsed = text ? safeJson(text) : undefined;
  if (!response.ok) throw new ApiError(response.status, (parsed as Partial<Problem>) ?? { title: `HTTP ${response.status}` });
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text };
  }
}

/**
 * A readable message for any error of a request or a stream. The chat transport reports an HTTP
 * error as an `Error` whose message is the response body, so problem JSON is read from it too.
 */
export function describeError(error: unknown): { message: string; code?: string; retryAfterSeconds?: number } {
  if (error instanceof ApiError) return { message: error.message, ...withCode(error.problem) };
  const raw = error instanceof Error ? error.message : String(error);
  const parsed = safeJson(raw) as Partial<Problem> | undefined;
  if (parsed && typeof parsed === 'object' && ('code' in parsed || 'title' in parsed)) {
    return { message: parsed.detail ?? parsed.title ?? raw, ...withCode(parsed) };
  }
  if (/failed to fetch|networkerror|load failed/i.test(raw))
    return { message: 'Axon is not reachable; check your connection.', code: 'network' };
  return { message: raw };
}

function withCode(problem: Partial<Problem>) {
  return {
    ...(problem.code ? { code: problem.code } : {}),
    ...(problem.retryAfterSeconds !== undefined ? { retryAfterSeconds: problem.retryAfterSeconds } : {}),
  };
}
