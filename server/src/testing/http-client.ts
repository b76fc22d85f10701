import type { SessionInfo } from '@axon/contracts';

/** A cookie-carrying client for the web API, as the browser uses it (session cookie plus CSRF header). */
export class WebClient {
  cookie = '';
  csrfToken: string | null = null;

  constructor(readonly baseUrl: string) {}

  async request(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
    if (this.cookie) headers.cookie = this.cookie;
    if (this.csrfToken && method !== 'GET') headers['x-csrf-token'] = this.csrfToken;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.baseUrl}${path}`, {
      ...init,
      method,
      headers,
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith('axon_session='));
    if (setCookie) this.cookie = setCookie.split(';')[0] ?? '';
    return response;
  }

  async json<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; response: Response }> {
    const response = await this.request(method, path, body);
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T, response };
  }

  private async adopt(response: { status: number; body: SessionInfo }) {
    if (response.status >= 300) throw new Error(`sign-in failed: HTTP ${response.status} ${JSON.stringify(response.body)}`);
    this.csrfToken = response.body.csrfToken;
    return response.body;
  }

  setup(email: string, password: string) {
    return this.json<SessionInfo>('POST', '/api/auth/setup', { email, password }).then((r) => this.adopt(r));
  }

  login(email: string, password: string) {
    return this.json<SessionInfo>('POST', '/api/auth/login', { email, password }).then((r) => this.adopt(r));
  }
}

/** Parses an SSE body into the `data:` payloads, in order. */
export function parseSseData(text: string): string[] {
  return text
    .split('\n\n')
    .map((frame) =>
      frame
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n'),
    )
    .filter((data) => data.length > 0);
}
