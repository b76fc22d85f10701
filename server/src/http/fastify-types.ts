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
    /** The route reads multipart/form-data (uploads); every other route refuses it. */
    multipart?: boolean;
  }
}
