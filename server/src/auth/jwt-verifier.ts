import type { Role } from '@axon/contracts';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { AppError } from '../errors';
import { type ClaimMapping, readIdentity } from './identity-claims';

export interface JwtSettings extends ClaimMapping {
  /** The `iss` tokens must carry. */
  issuer: string;
  /** The `aud` tokens must carry (Axon's identifier at the issuer). */
  audience: string;
  /** Where the issuer publishes its signing keys. */
  jwksUrl: string;
  /** Signature algorithms accepted; never `none`, never HMAC (a public key is not a shared secret). */
  algorithms: string[];
}

export interface VerifiedCaller {
  email: string;
  role: Role;
}

/**
 * Bearer JWTs from a trusted issuer, for service-to-service calls: signature against the issuer's
 * JWKS (fetched, cached, and fetched again when a token names a key it does not know: rotation),
 * issuer, audience, expiry and not-before (5 s of clock skew), and the algorithm allow-list.
 */
export function createJwtVerifier(settings: JwtSettings, options: { cooldownMs?: number } = {}) {
  const keys = createRemoteJWKSet(new URL(settings.jwksUrl), { cooldownDuration: options.cooldownMs ?? 30_000, timeoutDuration: 5000 });
  return {
    async verify(token: string): Promise<VerifiedCaller> {
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: settings.issuer,
          audience: settings.audience,
          algorithms: settings.algorithms,
          clockTolerance: 5,
          requiredClaims: ['exp'],
        }));
      } catch (error) {
        throw new AppError('unauthenticated', { detail: `The bearer token was refused: ${describe(error)}`, cause: error });
      }
      return readIdentity(payload, settings, 'bearer token');
    },
  };
}

export type JwtVerifier = ReturnType<typeof createJwtVerifier>;

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'it has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `its "${error.claim}" claim is not acceptable (${error.reason})`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'its signing algorithm is not allowed';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the issuer matches its signature key id';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JOSEError) return (error as Error).message;
  return 'it is not a valid JWT';
}
