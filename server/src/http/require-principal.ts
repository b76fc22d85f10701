import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/auth-service';
import { AppError } from '../errors';

/** The caller, on a route whose guard already required one. */
export function requirePrincipal(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('unauthenticated');
  return request.principal;
}
