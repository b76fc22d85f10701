import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

let t: TestServer;
let web: WebClient;
let conversationId: string;
let collectionId: string;
let apiKey: string;

beforeAll(async () => {
  t = await startTestServer();
  web = new WebClient(t.url);
  await web.setup('admin@example.com', 'admin password 1');
  conversationId = (await web.json<{ id: string }>('POST', '/api/conversations', {})).body.id;
  apiKey = (await web.json<{ key: string }>('POST', '/api/keys', { name: 'k' })).body.key;
  collectionId = (await web.json<{ id: string }>('POST', '/api/collections', { name: 'c' })).body.id;
});
afterAll(() => t.close());

/** Method and path template; the path is a function because ids exist only once beforeAll ran. */
const ROUTES: Array<[method: string, path: () => string]> = [
  ['POST', () => '/api/auth/setup'],
  ['POST', () => '/api/auth/login'],
  ['POST', () => '/api/keys'],
  ['DELETE', () => '/api/keys/does-not-exist'],
  ['POST', () => '/api/conversations'],
  ['PATCH', () => `/api/conversations/${conversationId}`],
  ['POST', () => `/api/conversations/${conversationId}/chat`],
  ['PATCH', () => '/api/admin/users/nobody'],
  ['POST', () => '/api/collections'],
  ['PATCH', () => `/api/collections/${collectionId}`],
  ['PUT', () => `/api/collections/${collectionId}/members`],
  ['POST', () => `/api/collections/${collectionId}/documents`],
  ['POST', () => '/api/attachments'],
  ['POST', () => '/v1/chat/completions'],
];

const BODIES: Array<[name: string, body: string]> = [
  ['malformed JSON', '{"a": '],
  ['a JSON array', '[1,2,3]'],
  ['a JSON string', '"hello"'],
  ['wrong types', '{"email": 42, "password": [], "title": {}, "name": 7, "trigger": 1, "model": false, "messages": "x", "role": 3}'],
  ['unknown fields', '{"unexpected": true}'],
  ['a prototype-polluting key', '{"__proto__": {"admin": true}}'],
  ['a huge body', JSON.stringify({ title: 'x'.repeat(2 * 1024 * 1024) })],
];

function expectError(response: Response, text: string, path: string) {
  expect(response.status, `${path}: ${text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(response.status, `${path}: ${text.slice(0, 200)}`).toBeLessThan(500);
  const body = JSON.parse(text);
  if (path.startsWith('/v1/')) {
    expect(body.error.message).toBeTruthy();
    expect(body.error.type).toBeTruthy();
  } else {
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(body).toMatchObject({ status: response.status, code: expect.any(String), title: expect.any(String) });
  }
}

describe('bad input on every route', () => {
  for (const [method, path] of ROUTES) {
    for (const [name, body] of BODIES) {
      it(`${method} ${path().replace(/[0-9a-f-]{36}/, ':id')} with ${name} → 4xx`, async () => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (path().startsWith('/v1/')) headers.authorization = `Bearer ${apiKey}`;
        else {
          headers.cookie = web.cookie;
          headers['x-csrf-token'] = web.csrfToken ?? '';
        }
        const response = await fetch(`${t.url}${path()}`, { method, headers, body });
        expectError(response, await response.text(), path());
      });
    }
    it(`${method} ${path().replace(/[0-9a-f-]{36}/, ':id')} with a malformed multipart body → 4xx`, async () => {
      const response = await fetch(`${t.url}${path()}`, {
        method,
        headers: { 'content-type': 'multipart/form-data; boundary=XYZ', cookie: web.cookie, 'x-csrf-token': web.csrfToken ?? '' },
        body: '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nunterminated',
      });
      expectError(response, await response.text(), path());
    });
    it(`${method} ${path().replace(/[0-9a-f-]{36}/, ':id')} with a wrong content type → 4xx`, async () => {
      const response = await fetch(`${t.url}${path()}`, {
        method,
        headers: { 'content-type': 'text/xml', cookie: web.cookie, 'x-csrf-token': web.csrfToken ?? '' },
        body: '<a/>',
      });
      expectError(response, await response.text(), path());
    });
  }

  it.each([
    ['Bearer', 'no token'],
    ['Basic dXNlcjpwYXNz', 'Basic auth'],
    ['Bearer axn_forged', 'a forged key'],
    ['Bearer sk-openai-key', 'a key of another service'],
  ])('refuses Authorization: %s (%s) with 401', async (authorization) => {
    for (const path of ['/v1/models', '/api/conversations']) {
      const response = await fetch(`${t.url}${path}`, { headers: { authorization } });
      expect(response.status).toBe(401);
      expectError(response, await response.text(), path);
    }
  });

  it('answers unknown routes with 404 problem+json and unknown /v1 routes in OpenAI shape', async () => {
    const api = await fetch(`${t.url}/api/nope`);
    expectError(api, await api.text(), '/api/nope');
    expect(api.status).toBe(404);
    const v1 = await fetch(`${t.url}/v1/nope`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(v1.status).toBe(404);
    expectError(v1, await v1.text(), '/v1/nope');
  });

  it('rejects bad query strings and ids', async () => {
    for (const path of [
      '/api/conversations?limit=0',
      '/api/conversations?limit=abc',
      '/api/conversations?cursor=%%%',
      `/api/conversations?bogus=1`,
    ]) {
      const response = await fetch(`${t.url}${path}`, { headers: { cookie: web.cookie } });
      expectError(response, await response.text(), path);
    }
  });

  it('keeps serving after all of the above, and wrote no 500', async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    expect(t.logs.join('')).not.toMatch(/"status":5\d\d/);
    expect(t.logs.join('')).not.toMatch(/unhandled error/);
  });
});
