import { hash, randomBytes } from 'node:crypto';

/** API keys start with this, so that secret scanners and people recognise them. */
export const API_KEY_PREFIX = 'axn_';

/** A random token with 256 bits of entropy, URL-safe. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A new API key: `axn_` and 43 URL-safe characters. */
export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${generateToken()}`;
}

/**
 * SHA-256 of a high-entropy token, as stored. Tokens carry 256 random bits, so a fast hash is
 * enough (a slow one protects guessable passwords, not random keys) and keeps lookups cheap.
 */
export function hashToken(token: string): string {
  return hash('sha256', token, 'base64url');
}
