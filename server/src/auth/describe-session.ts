import type { FastifyRequest } from 'fastify';
import type { Store } from '../store';

/** Records the address and browser a new session signed in from, for its owner's list of sessions. */
export async function describeSession(
  store: Pick<Store, 'sessions'>,
  request: FastifyRequest,
  tokenHash: string | undefined,
): Promise<void> {
  if (!tokenHash) return;
  const userAgent = request.headers['user-agent'];
  await store.sessions.describe(tokenHash, { ip: request.ip ?? null, userAgent: typeof userAgent === 'string' ? userAgent : null });
}
