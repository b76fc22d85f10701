import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../testing/test-server';

const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'axon-api';

let jwks: { keys: JWK[] } = { keys: [] };
let jwksServer: Server;
let t: TestServer;
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let first: KeyPair;
let second: KeyPair;

beforeAll(async () => {
  first = await generateKeyPair('RS256', { extractable: true });
  second = await generateKeyPair('RS256', { extractable: true });
  jwks = { keys: [{ ...(await exportJWK(first.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const port = (jwksServer.address() as { port: number }).port;
  t = await startTestServer({
    overrides: {
      jwt: {
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
        roleClaim: 'groups',
        roleMap: { 'axon-admins': 'admin', 'axon-auditors': 'auditor' },
        jwksCooldownSeconds: 0,
      },
    },
  });
});
afterAll(async () => {
  await t?.close();
  jwksServer?.close();
});

const sign = (
  claims: Record<string, unknown>,
  options: {
    key?: KeyPair['privateKey'];
    kid?: string;
    alg?: string;
    exp?: string | number;
    nbf?: string | number;
    iss?: string;
    aud?: string;
  } = {},
) => {
  const jwt = new SignJWT({ email: 'service@example.com', groups: ['axon-admins'], ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'k1' })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '5m');
  if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
  return jwt.sign(options.key ?? first.privateKey);
};

async function call(token: string) {
  const response = await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { error?: { message: string } };
  return { status: response.status, message: body.error?.message ?? '' };
}

describe('bearer JWTs from a trusted issuer', () => {
  it('accept a valid token, creating the account with the mapped role', async () => {
    expect((await call(await sign({}))).status).toBe(200);
    const user = await t.server.store.users.findByEmail('service@example.com');
    expect(user?.role).toBe('admin');
    // The issuer decides the role: a token with other groups moves the account.
    expect((await call(await sign({ groups: ['axon-auditors'] }))).status).toBe(403); // auditors may not chat
    expect((await t.server.store.users.findByEmail('service@example.com'))?.role).toBe('auditor');
    expect((await call(await sign({ groups: ['something-else'] }))).status).toBe(200); // default role member
  });

  it('refuse a wrong issuer or audience, an expired or not-yet-valid token', async () => {
    expect(await call(await sign({}, { iss: 'https://evil.example.test' }))).toMatchObject({ status: 401, message: /"iss" claim/ });
    expect(await call(await sign({}, { aud: 'someone-else' }))).toMatchObject({ status: 401, message: /"aud" claim/ });
    expect(await call(await sign({}, { exp: Math.floor(Date.now() / 1000) - 60 }))).toMatchObject({ status: 401, message: /expired/ });
    expect(await call(await sign({}, { nbf: Math.floor(Date.now() / 1000) + 600 }))).toMatchObject({ status: 401, message: /"nbf" claim/ });
    expect((await call(await sign({ email: undefined }))).message).toMatch(/no email/);
  });

  it('refuse alg none and HS256 signed with the public key (algorithm confusion)', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({ iss: ISSUER, aud: AUDIENCE, email: 'service@example.com', exp: Math.floor(Date.now() / 1000) + 300 }),
    ).toString('base64url');
    expect(await call(`${header}.${payload}.`)).toMatchObject({ status: 401 });
    const publicPem = new TextEncoder().encode(JSON.stringify(await exportJWK(first.publicKey)));
    const confused = await new SignJWT({ email: 'service@example.com' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(publicPem);
    expect(await call(confused)).toMatchObject({ status: 401, message: /algorithm is not allowed/ });
  });

  it('refuse an unknown key id and a forged signature, and follow key rotation', async () => {
    expect(await call(await sign({}, { key: second.privateKey, kid: 'k2' }))).toMatchObject({
      status: 401,
      message: /no key of the issuer/,
    });
    expect(await call(await sign({}, { key: second.privateKey, kid: 'k1' }))).toMatchObject({ status: 401, message: /signature/ });
    // The issuer rotates: k2 is published, k1 retired.
    jwks = { keys: [{ ...(await exportJWK(second.publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' }] };
    expect((await call(await sign({}, { key: second.privateKey, kid: 'k2' }))).status).toBe(200);
    expect((await call(await sign({}, { key: first.privateKey, kid: 'k1' }))).status).toBe(401);
  });
});
