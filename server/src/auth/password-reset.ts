import { AppError } from '../errors';
import type { Store, UserRecord } from '../store';
import { hashPassword } from './password';
import { generateToken, hashToken } from './tokens';

/** How long a reset link works unless configured otherwise. */
export const PASSWORD_RESET_TTL_MS = 60 * 60_000;

/**
 * Makes a one-time reset link's token for an account. Only its hash is stored; the account's earlier
 * links stop working.
 */
export async function createPasswordReset(
  store: Pick<Store, 'passwordResets'>,
  input: { userId: string; createdBy: string | null; now: Date; ttlMs?: number },
): Promise<{ token: string; expiresAt: Date }> {
  const token = generateToken();
  const expiresAt = new Date(input.now.getTime() + (input.ttlMs ?? PASSWORD_RESET_TTL_MS));
  await store.passwordResets.create({ tokenHash: hashToken(token), userId: input.userId, createdBy: input.createdBy, expiresAt });
  return { token, expiresAt };
}

/**
 * Uses a reset token up and sets the account's new password; every session of the account ends.
 * Unknown, expired and used tokens are all `invalid_reset_token`, so the answer tells nothing apart.
 */
export async function redeemPasswordReset(
  store: Pick<Store, 'passwordResets' | 'users' | 'sessions'>,
  input: { token: string; password: string; now: Date },
): Promise<{ user: UserRecord; sessionsEnded: number }> {
  // The token is taken before the (slow) password hash, so made-up tokens cost no hashing.
  const taken = await store.passwordResets.take(hashToken(input.token), input.now);
  const user = taken && (await store.users.findById(taken.userId));
  if (!user)
    throw new AppError('invalid_reset_token', {
      detail: 'This reset link is unknown, expired or already used. Ask an administrator for a new one.',
    });
  if (user.disabledAt) throw new AppError('account_disabled', { detail: 'This account is disabled. Ask an administrator to enable it.' });
  await store.users.setPassword(user.id, await hashPassword(input.password));
  const sessionsEnded = await store.sessions.deleteForUser(user.id);
  return { user, sessionsEnded };
}
