import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InjectedResponse, type InjectOptions, type RegisteredRoute, type SecurityWorld, startSecurityWorld } from './security-world';

/** A valid body per route, the starting point of the mutations; routes not named here get random bodies only. */
const VALID_BODIES: Record<string, Record<string, unknown>> = {
  'POST /api/auth/setup': { email: 'setup@example.com', password: 'a long password 1' },
  'POST /api/auth/login': { email: 'member@example.com', password: 'not the password' },
  'POST /api/auth/password-reset': { token: 'not-a-token', password: 'a long password 1' },
  'POST /api/keys': { name: 'fuzz', scopes: ['chat'], rpm: 10, tpm: null, expiresInDays: 1, prompt: null },
  'POST /api/admin/users': { email: 'fuzz@example.com', password: 'a long password 1', role: 'member' },
  'PATCH /api/admin/users/:id': { role: 'member' },
  'PUT /api/admin/users/:id/org': { org: 'default' },
  'PATCH /api/org': { promptLogMode: 'redacted' },
  'POST /api/admin/orgs': { slug: 'fuzz', name: 'Fuzz', limits: {}, promptLogMode: null },
  'PATCH /api/admin/orgs/:id': { name: 'Acme', limits: {}, promptLogMode: null },
  'POST /api/conversations': { title: 'Fuzz', model: 'sim/sim-1', collectionIds: [], prompt: null },
  'PATCH /api/conversations/:id': { title: 'Fuzz', model: 'sim/sim-1', collectionIds: [], prompt: 'greeting' },
  'POST /api/conversations/:id/chat': { trigger: 'submit-message', message: { id: 'm1', text: 'hello' }, model: 'sim/sim-1' },
  'POST /api/prompts': { name: 'fuzz', system: 'Be brief.', message: '{{ input }}', variables: [], note: '', description: '' },
  'POST /api/prompts/:id/versions': { system: 'Be kind.', message: '{{ input }}', variables: [], activate: false },
  'POST /api/prompts/:id/activate': { version: 1 },
  'POST /api/prompts/:id/render': { version: 1, variables: { name: 'Ada' }, input: 'hello' },
  'POST /api/collections': { name: 'Fuzz', description: '', visibility: 'private', organisationRole: 'viewer' },
  'PATCH /api/collections/:id': { description: 'x', topK: 5, minScore: 0.1, mmr: true },
  'PUT /api/collections/:id/members': { members: [{ email: 'member@example.com', role: 'viewer' }] },
  'POST /v1/chat/completions': {
    model: 'sim/sim-1',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
    ],
    max_tokens: 16,
    temperature: 0.5,
    stream: false,
    metadata: { topic: 'fuzz' },
  },
  'POST /v1/embeddings': { model: 'sim/sim-1', input: ['hello'] },
};

/** Query parameters the routes read, with a valid value each. */
const QUERY_PARAMS: Record<string, string> = {
  q: 'plans',
  limit: '10',
  cursor: 'abc',
  before: '10',
  from: '2024-01-01T00:00:00Z',
  to: '2030-01-01T00:00:00Z',
  groupBy: 'user',
  org: 'all',
  start: '0',
  end: '10',
  context: '100',
  code: 'x',
  state: 'y',
};

const RUNS_PER_BODY_ROUTE = 30;
const RUNS_PER_QUERY_ROUTE = 15;

const nested = (depth: number): unknown => {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
};

/** Values that break naive handlers: wrong types, extremes, odd strings, deep structures. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -0,
    -1,
    1e308,
    -1e308,
    2 ** 53 + 1,
    0.5,
    '',
    ' ',
    'NaN',
    'Infinity',
    '-0',
    '1e308',
    '\u0000',
    '\u202e',
    '\ud800',
    '😀'.repeat(500),
    '{{ input }}{{',
    "' OR 1=1 --",
    '../../etc/passwd',
    [],
    {},
    [null],
    [[[]]],
    { polluted: true },
  ),
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 1000, max: 300_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 20, max: 3000 }).map(nested),
);

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'x', ''];

/** Every path into a value (object keys and array indexes). */
function pathsOf(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, child]) => pathsOf(child, [...prefix, key]))];
}

function replaceAt(value: unknown, path: Array<string | number>, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path as [string | number, ...Array<string | number>];
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  copy[head] = replaceAt(copy[head], rest, replacement);
  return copy;
}

/** A valid body, mutated one way: a value replaced anywhere, a field dropped or added, the whole thing wrapped. */
function mutationsOf(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  return fc.oneof(
    fc.constant(valid),
    fc.tuple(fc.constantFrom(...pathsOf(valid)), weird).map(([path, value]) => replaceAt(valid, path, value)),
    fc.constantFrom(...keys).map((key) => {
      const { [key]: _dropped, ...rest } = valid;
      return rest;
    }),
    fc.tuple(fc.constantFrom(...PROTO_KEYS), weird).map(([key, value]) => ({ ...valid, [key]: value })),
    fc.constantFrom(...PROTO_KEYS).map((key) => ({ ...valid, [key]: { polluted: true } })),
    fc.constant([valid]),
  );
}

const BROKEN_JSON = [
  '{',
  '}',
  '{"a":',
  '[1,',
  'nul',
  'undefined',
  "{'a':1}",
  '{"a":1}x',
  '\uFEFF{}',
  '',
  ' ',
  '{"a":1,}',
  'NaN',
  '1e309',
  '"\\ud800"',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"a":{"__proto__":{"polluted":true}}}',
];

/** A payload as sent: mostly JSON of a (mutated) body, sometimes broken JSON or a cut-off body. */
function payloadsFor(valid: Record<string, unknown> | undefined): fc.Arbitrary<string> {
  const bodies = valid ? fc.oneof({ weight: 5, arbitrary: mutationsOf(valid) }, { weight: 1, arbitrary: weird }) : weird;
  return fc.oneof(
    { weight: 12, arbitrary: bodies.map((body) => JSON.stringify(body) ?? 'null') },
    { weight: 1, arbitrary: fc.constantFrom(...BROKEN_JSON) },
    {
      weight: 1,
      arbitrary: fc.tuple(bodies, fc.double({ min: 0, max: 1, noNaN: true })).map(([body, cut]) => {
        const text = JSON.stringify(body) ?? 'null';
        return text.slice(0, Math.floor(text.length * cut));
      }),
    },
    { weight: 1, arbitrary: fc.constantFrom('x'.repeat(3_000_000), `"${'x'.repeat(200_000)}"`, '[]') },
  );
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json;;;',
  'application/json; charset=utf-16',
  'application/problem+json',
  'application/vnd.api+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  'multipart/form-data; boundary=xyz',
  'multipart/form-data',
  '',
];

const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });

/** Extra headers a client might send; the values are random printable ASCII. */
const extraHeaders = fc.record(
  {
    accept: fc.oneof(fc.constantFrom('application/json', 'text/event-stream', '*/*', 'text/html'), headerValue),
    'accept-language': headerValue,
    'x-axon-prompt': fc.oneof(fc.constantFrom('greeting', 'greeting@1', 'greeting@999', 'missing'), headerValue),
    'x-forwarded-for': fc.oneof(fc.constantFrom('127.0.0.1', '::1', 'not-an-ip', '1.2.3.4, 5.6.7.8'), headerValue),
    'x-request-id': headerValue,
    'user-agent': headerValue,
  },
  { requiredKeys: [] },
);

const queryValue = fc.oneof(
  fc.constantFrom('', '0', '-1', '1e308', 'NaN', 'null', 'true', '%', '%zz', '%00', '9'.repeat(400), '2024-13-45T99:99:99Z'),
  fc.string({ maxLength: 60 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
);

/** A query string: known parameters with valid or odd values, repeated keys, bracket and prototype keys. */
const queryStrings = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(...Object.keys(QUERY_PARAMS)),
        fc.constantFrom('__proto__', 'constructor', 'a[b]', '__proto__[polluted]', 'limit[]'),
        fc.string({ maxLength: 10 }).map(encodeURIComponent),
      ),
      fc.oneof(
        queryValue,
        fc.constant(undefined).map(() => ''),
      ),
      fc.boolean(),
    ),
    { maxLength: 6 },
  )
  .map((pairs) => {
    const parts = pairs.map(
      ([key, value, valid]) => `${key}=${valid && QUERY_PARAMS[key] ? encodeURIComponent(QUERY_PARAMS[key]) : value}`,
    );
    return parts.length ? `?${parts.join('&')}` : '';
  });

interface FuzzedRequest {
  query: string;
  payload?: string;
  contentType?: string;
  headers: Record<string, string>;
}

const BOUNDARY = 'fuzz-boundary';

/** A multipart upload: files with odd names and contents, extra fields, sometimes cut off. */
const multipartPayloads = fc
  .tuple(
    fc.array(
      fc.record({
        field: fc.constantFrom('file', 'files', 'name', ''),
        filename: fc.oneof(
          fc.constantFrom('notes.txt', '../../etc/passwd', 'a"b.txt', '.pdf', 'x'.repeat(400), ''),
          fc.string({ maxLength: 30 }),
        ),
        type: fc.constantFrom('text/plain', 'application/pdf', 'application/octet-stream', 'text/html', ''),
        content: fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('%PDF-1.7\n', 'PK\u0003\u0004', '<html><script>x</script>')),
        isFile: fc.boolean(),
      }),
      { maxLength: 3 },
    ),
    fc.double({ min: 0, max: 1, noNaN: true }),
  )
  .map(([parts, cut]) => {
    const text = `${parts
      .map((part) =>
        part.isFile
          ? `--${BOUNDARY}\r\ncontent-disposition: form-data; name="${part.field}"; filename="${part.filename}"\r\ncontent-type: ${part.type}\r\n\r\n${part.content}\r\n`
          : `--${BOUNDARY}\r\ncontent-disposition: form-data; name="${part.field}"\r\n\r\n${part.content}\r\n`,
      )
      .join('')}--${BOUNDARY}--\r\n`;
    return cut < 0.7 ? text : text.slice(0, Math.floor(text.length * cut));
  });

function requestsFor(route: RegisteredRoute, valid: Record<string, unknown> | undefined): fc.Arbitrary<FuzzedRequest> {
  if (route.method === 'GET') return fc.record({ query: queryStrings, headers: extraHeaders });
  if (route.multipart)
    return fc.oneof(
      fc.record({
        query: fc.constant(''),
        payload: multipartPayloads,
        contentType: fc.constantFrom(`multipart/form-data; boundary=${BOUNDARY}`, 'multipart/form-data; boundary=other', 'multipart/mixed'),
        headers: extraHeaders,
      }),
      fc.record({
        query: fc.constant(''),
        payload: payloadsFor(undefined),
        contentType: fc.constantFrom(...CONTENT_TYPES),
        headers: extraHeaders,
      }),
    );
  return fc.record(
    {
      query: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: queryStrings }),
      payload: payloadsFor(valid),
      contentType: fc.oneof(
        { weight: 8, arbitrary: fc.constant('application/json') },
        { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      ),
      headers: extraHeaders,
    },
    { requiredKeys: ['query', 'headers'] },
  );
}

const UPLOAD_ROUTES = new Set(['/api/collections/:id/documents', '/api/attachments']);

/** What every answer must be: no 5xx, and errors in the shape the route's clients read. */
function checkAnswer(route: string, url: string, response: InjectedResponse): string | undefined {
  if (response.status >= 500) return `${response.status}: ${response.text.slice(0, 300)}`;
  if (response.status < 400) return undefined;
  let body: { status?: unknown; code?: unknown; error?: { message?: unknown; type?: unknown } };
  try {
    body = JSON.parse(response.text);
  } catch {
    return `${response.status} with a body that is not JSON: ${response.text.slice(0, 200)}`;
  }
  if (url.startsWith('/v1/')) {
    if (!response.contentType.startsWith('application/json') || typeof body.error?.message !== 'string')
      return `${response.status} without an OpenAI error body: ${response.text.slice(0, 200)}`;
  } else if (UPLOAD_ROUTES.has(route) && response.status === 400 && Array.isArray((body as { files?: unknown }).files)) {
    // Uploads answer file by file; with no file accepted that is a 400 listing each file's reason.
    return undefined;
  } else if (url.startsWith('/api/')) {
    if (!response.contentType.startsWith('application/problem+json') || body.status !== response.status || typeof body.code !== 'string')
      return `${response.status} without problem+json: ${response.contentType} ${response.text.slice(0, 200)}`;
  }
  return undefined;
}

let world: SecurityWorld;
let routes: RegisteredRoute[];

beforeAll(async () => {
  world = await startSecurityWorld();
  const seen = new Set<string>();
  routes = world.routes.filter((route) => {
    // HEAD follows GET; of the catch-all's methods, GET and POST stand for the others.
    if (route.method === 'HEAD' || (route.url === '/v1/*' && !['GET', 'POST'].includes(route.method))) return false;
    const key = `${route.method} ${route.url}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  // Deleting routes go last, so the objects the other routes name are still there while they run.
  routes.sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
}, 60_000);
afterAll(() => world?.close());

/** Path parameters no object has: malformed escapes, overlong, traversal, prototype names. */
const oddIds = fc.oneof(
  fc.constantFrom(
    '%ZZ',
    '%',
    '%00',
    '%E0%A4%A',
    'x'.repeat(600),
    '..%2F..%2Fetc%2Fpasswd',
    '__proto__',
    'constructor',
    "'%20OR%201=1",
    '-1',
    '0',
  ),
  fc.string({ minLength: 1, maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }).map(encodeURIComponent),
);

function concreteUrl(route: RegisteredRoute, oddId?: string): string {
  if (oddId !== undefined) return route.url.replace(/:id\b/g, oddId).replace(/\*$/, oddId);
  const o = world.objects;
  const id = route.url.startsWith('/api/conversations/')
    ? o.conversation
    : route.url.startsWith('/api/collections/')
      ? o.collection
      : route.url.startsWith('/api/documents/')
        ? o.document
        : route.url.startsWith('/api/prompts/')
          ? o.prompt
          : route.url.startsWith('/api/admin/keys/')
            ? o.orgKey
            : route.url.startsWith('/api/keys/')
              ? o.ownKey
              : route.url.startsWith('/api/admin/users/')
                ? o.user
                : route.url.startsWith('/api/admin/orgs/')
                  ? o.otherOrg
                  : 'nothing-here';
  return route.url.replace(/:id\b/g, id).replace(/\*$/, route.url.startsWith('/v1/models') ? 'sim/sim-1' : 'nothing-here');
}

/** Valid bodies that are refused all the same: the fuzzing starts from them anyway. */
const REFUSED_AS_VALID: Record<string, number> = {
  'POST /api/auth/setup': 409,
  'POST /api/auth/login': 401,
  'POST /api/auth/password-reset': 400,
  'POST /v1/embeddings': 404,
};

describe('random and mutated requests', () => {
  it('start from bodies each route accepts', async () => {
    for (const [key, body] of Object.entries(VALID_BODIES)) {
      const [method, path] = key.split(' ') as [string, string];
      const route = routes.find((r) => r.method === method && r.url === path);
      expect(route, `${key} is a route`).toBeDefined();
      const response = await world.inject('admin', method, concreteUrl(route as RegisteredRoute), { body });
      if (REFUSED_AS_VALID[key]) expect(response.status, `${key}: ${response.text}`).toBe(REFUSED_AS_VALID[key]);
      else expect(response.status, `${key}: ${response.text}`).toBeLessThan(300);
    }
  });

  it('answer paths Fastify refuses before routing in the error shape of their API', async () => {
    for (const path of ['/api/documents/%ZZ', `/api/documents/${'x'.repeat(600)}`, '/api/admin/orgs/%E0%A4%A/users']) {
      const response = await world.inject('admin', 'GET', path);
      expect(response.status, path).toBe(400);
      expect(response.contentType, path).toContain('application/problem+json');
      expect(JSON.parse(response.text), path).toMatchObject({ status: 400, code: 'validation_failed' });
    }
    const openAI = await world.injectWithKey(world.fullKey, 'GET', '/v1/models/%ZZ');
    expect(openAI.status).toBe(400);
    expect(JSON.parse(openAI.text)).toMatchObject({ error: { type: 'invalid_request_error', code: 'validation_failed' } });
  });

  it('never get a 5xx, and errors keep their shape, by session and by API key', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const route of routes) {
      const key = `${route.method} ${route.url}`;
      const url = concreteUrl(route);
      const hasParams = route.url.includes(':') || route.url.endsWith('*');
      const valid = VALID_BODIES[key];
      // Signing out by session would end the session the other routes use.
      const callers = route.url === '/api/auth/logout' ? (['key'] as const) : (['session', 'key'] as const);
      for (const caller of callers) {
        try {
          await fc.assert(
            fc.asyncProperty(
              requestsFor(route, valid),
              hasParams ? fc.option(oddIds, { freq: 4 }) : fc.constant(null),
              async (request, oddId) => {
                const options: InjectOptions = {
                  headers: { ...request.headers, ...(request.contentType !== undefined ? { 'content-type': request.contentType } : {}) },
                  ...(request.payload !== undefined ? { payload: request.payload } : {}),
                };
                const target = `${oddId === null ? url : concreteUrl(route, oddId)}${request.query}`;
                const response =
                  caller === 'session'
                    ? await world.inject('admin', route.method, target, options)
                    : await world.injectWithKey(world.fullKey, route.method, target, options);
                sent++;
                const problem = checkAnswer(route.url, url, response);
                if (problem) throw new Error(problem);
              },
            ),
            { numRuns: route.method === 'GET' ? RUNS_PER_QUERY_ROUTE : RUNS_PER_BODY_ROUTE, endOnFailure: true },
          );
        } catch (error) {
          const { message, cause } = error as Error & { cause?: Error };
          failures.push(`${caller} ${key}: ${message.split('\n').slice(0, 4).join('\n')}\n${cause?.message ?? ''}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(1500);
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect((await world.inject('anonymous', 'GET', '/healthz')).status).toBe(200);
    // The admin's session survived (nothing above may end it).
    expect((await world.inject('admin', 'GET', '/api/auth/session')).text).toContain('admin@example.com');
  }, 120_000);
});
