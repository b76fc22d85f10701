import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import Provider from 'oidc-provider';

/** How the identity provider misbehaves on the next token responses (the ID token is re-signed with its own key). */
export type IdTokenTampering = 'none' | 'wrong-audience' | 'expired';

export interface TestIdentityProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** People who can sign in: login name at the provider's form → their claims. */
  people: Record<string, { email: string; groups: string[]; emailVerified?: boolean }>;
  tamper(mode: IdTokenTampering): void;
  /** Changes the redirect back to the client (as an attacker in the middle would); undefined: as issued. */
  rewriteRedirect(rewrite: ((url: URL) => URL) | undefined): void;
  /** Registers Axon's callback URL (known once Axon listens). */
  allowRedirect(uri: string): void;
  close(): Promise<void>;
}

/**
 * A real OpenID Connect provider (the `oidc-provider` package) on a loopback port, with its
 * development login and consent pages: any password is accepted for the listed login names.
 */
export async function startTestIdentityProvider(
  people: TestIdentityProvider['people'] = {
    ada: { email: 'ada@acme.test', groups: ['axon-admins', 'staff'] },
    bob: { email: 'bob@acme.test', groups: ['staff'] },
    eve: { email: 'eve@acme.test', groups: ['auditors'] },
  },
): Promise<TestIdentityProvider> {
  const redirectUris: string[] = [];
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const http = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const issuer = `http://localhost:${(http.address() as AddressInfo).port}`;
  const clientId = 'axon';
  const clientSecret = 'test-client-secret-0123456789abcdef';
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  let tampering: IdTokenTampering = 'none';
  let rewrite: ((url: URL) => URL) | undefined;

  const build = () => {
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: [...redirectUris],
          response_types: ['code'],
          grant_types: ['authorization_code'],
        },
      ],
      jwks: { keys: [jwk] },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
      cookies: { keys: ['test-cookie-key-0123456789'] },
      features: { devInteractions: { enabled: true } },
      pkce: { required: () => true },
      async findAccount(_ctx, id) {
        const person = people[id];
        if (!person) return undefined;
        return {
          accountId: id,
          async claims() {
            return { sub: id, email: person.email, email_verified: person.emailVerified ?? true, name: id, groups: person.groups };
          },
        };
      },
    });
    // Misbehaviour on purpose: rewrite the ID token of the token response, signed with the provider's real key.
    provider.use(async (ctx, next) => {
      await next();
      const location = ctx.response.get('location');
      if (rewrite && location && redirectUris.some((uri) => location.startsWith(`${uri}?`)))
        ctx.response.set('location', rewrite(new URL(location)).href);
      const body = ctx.body as { id_token?: string } | undefined;
      if (ctx.path !== '/token' || tampering === 'none' || !body?.id_token) return;
      const claims = decodeJwt(body.id_token);
      const now = Math.floor(Date.now() / 1000);
      const changed =
        tampering === 'wrong-audience' ? { ...claims, aud: 'some-other-app' } : { ...claims, iat: now - 7200, exp: now - 3600 };
      body.id_token = await new SignJWT(changed).setProtectedHeader({ alg: 'RS256', kid: jwk.kid }).sign(privateKey);
    });
    handler = provider.callback();
  };
  build();

  return {
    issuer,
    clientId,
    clientSecret,
    people,
    tamper(mode) {
      tampering = mode;
    },
    rewriteRedirect(fn) {
      rewrite = fn;
    },
    allowRedirect(uri) {
      redirectUris.push(uri);
      build();
    },
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
