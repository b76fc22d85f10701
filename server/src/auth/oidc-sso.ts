import type { Role } from '@axon/contracts';
import * as oidc from 'openid-client';
import type { SsoProviderConfig } from '../config/config-schema';
import { AppError } from '../errors';
import { readIdentity } from './identity-claims';

/** Who an identity provider says signed in. */
export interface SsoIdentity {
  provider: string;
  /** The provider's stable id for the person (`sub`). */
  subject: string;
  email: string;
  role: Role;
  /** Slug of the organisation the provider's accounts belong to; undefined: the first one. */
  organization: string | undefined;
}

/** What must come back with the browser: kept server-side under the state, never in the URL. */
export interface SsoChallenge {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/**
 * OpenID Connect sign-in with openid-client: authorization code flow with PKCE (S256), a random state
 * and nonce per attempt. The ID token's signature, issuer, audience, expiry, nonce and the state are
 * checked by openid-client; the provider's metadata is discovered once and kept.
 */
export function createSso(providers: readonly SsoProviderConfig[]) {
  const configurations = new Map<string, Promise<oidc.Configuration>>();

  const provider = (id: string): SsoProviderConfig => {
    const found = providers.find((p) => p.id === id);
    if (!found) throw new AppError('not_found', { detail: `No identity provider "${id}" is configured.` });
    return found;
  };

  function configuration(p: SsoProviderConfig): Promise<oidc.Configuration> {
    let pending = configurations.get(p.id);
    if (!pending) {
      pending = oidc.discovery(
        new URL(p.issuer),
        p.clientId,
        { [oidc.clockTolerance]: p.clockToleranceSeconds },
        p.clientSecret ? oidc.ClientSecretBasic(p.clientSecret) : oidc.None(),
        { ...(p.allowHttp ? { execute: [oidc.allowInsecureRequests] } : {}), timeout: 10 },
      );
      configurations.set(p.id, pending);
      // A provider that was down is asked again at the next sign-in.
      pending.catch(() => configurations.delete(p.id));
    }
    return pending.catch((error: unknown) => {
      throw new AppError('idp_unavailable', {
        detail: `The identity provider "${p.name}" could not be reached: ${(error as Error).message}`,
        cause: error,
      });
    });
  }

  return {
    list: () => providers.map((p) => ({ id: p.id, name: p.name })),

    /** The provider's authorization URL for a new attempt, and the secrets to check the way back with. */
    async start(id: string, redirectUri: string): Promise<SsoChallenge> {
      const p = provider(id);
      const config = await configuration(p);
      const codeVerifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: p.scopes,
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url, state, nonce, codeVerifier };
    },

    /**
     * Exchanges the code the browser came back with (`callbackUrl`, the full URL) for tokens and reads
     * the person from the verified ID token. Any failed check throws `unauthenticated` saying which.
     */
    async finish(id: string, callbackUrl: URL, expected: { state: string; nonce: string; codeVerifier: string }): Promise<SsoIdentity> {
      const p = provider(id);
      const config = await configuration(p);
      let claims: Record<string, unknown>;
      let subject: string;
      try {
        const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: expected.codeVerifier,
          expectedState: expected.state,
          expectedNonce: expected.nonce,
          idTokenExpected: true,
        });
        const idToken = tokens.claims();
        if (!idToken) throw new Error('the provider returned no ID token');
        subject = idToken.sub;
        claims = { ...idToken };
        // Conformant providers may keep scope claims (email, groups) out of the ID token: ask UserInfo.
        if ((claims[p.emailClaim] === undefined || claims[p.roleClaim] === undefined) && config.serverMetadata().userinfo_endpoint)
          claims = { ...(await oidc.fetchUserInfo(config, tokens.access_token, subject)), ...claims };
      } catch (error) {
        throw new AppError('unauthenticated', { detail: `Single sign-on failed: ${describe(error)}`, cause: error });
      }
      const { email, role } = readIdentity(claims, p, 'identity provider');
      return { provider: p.id, subject, email, role, organization: p.organization };
    },
  };
}

export type Sso = ReturnType<typeof createSso>;

function describe(error: unknown): string {
  if (error instanceof oidc.AuthorizationResponseError || error instanceof oidc.ResponseBodyError)
    return `the provider refused: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`;
  // openid-client wraps the precise reason (which claim, which check) as the cause.
  const message = (error as Error).message ?? String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message !== message ? `${message}: ${cause.message}` : message;
}
