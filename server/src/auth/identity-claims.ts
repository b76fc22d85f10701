import type { Role } from '@axon/contracts';
import { AppError } from '../errors';

/** Which claims of an identity provider's token say who the person is and what they may do in Axon. */
export interface ClaimMapping {
  /** The claim holding the email (the account the caller signs in as). */
  emailClaim: string;
  /** The claim holding group or role names, and the Axon role each maps to. */
  roleClaim: string;
  roleMap: Record<string, Role>;
  /** The role of someone none of whose groups is mapped. */
  defaultRole: Role;
}

/** With several mapped groups, the most powerful role wins. */
const ROLE_ORDER: Role[] = ['admin', 'builder', 'member', 'auditor'];

/** The email and Axon role a verified token's claims name; `unauthenticated` without a usable email. */
export function readIdentity(claims: Record<string, unknown>, mapping: ClaimMapping, source: string): { email: string; role: Role } {
  const email = claims[mapping.emailClaim];
  if (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(email)) {
    throw new AppError('unauthenticated', { detail: `The ${source} has no email in its "${mapping.emailClaim}" claim.` });
  }
  if (claims.email_verified === false) {
    throw new AppError('unauthenticated', { detail: `The ${source} says the email ${email} is not verified.` });
  }
  const claimed = claims[mapping.roleClaim];
  const groups = Array.isArray(claimed) ? claimed.map(String) : typeof claimed === 'string' ? claimed.split(/[\s,]+/) : [];
  const mapped = groups.map((g) => mapping.roleMap[g]).filter((r): r is Role => r !== undefined);
  return { email: email.toLowerCase(), role: ROLE_ORDER.find((r) => mapped.includes(r)) ?? mapping.defaultRole };
}
