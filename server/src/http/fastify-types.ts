import type { Principal } from '../auth/auth-service';

/** Who may call a route; checked by the one guard in `buildApp`. */
export type RouteAccess = 'public' | 'authenticated' | 'admin';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
    /** `performance.now()` when the request arrived. */
    startedAt: number;
  }
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}
