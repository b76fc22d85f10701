import type { ApiKeyScope } from '@axon/contracts';
import type { Span, Tracer } from '@opentelemetry/api';
import type { Principal } from '../auth/auth-service';
import type { Permission } from '../auth/permissions';
import type { Metrics } from '../observability/metrics';
import type { UsageLedger } from '../observability/usage-ledger';

/**
 * Who may call a route, checked by the one guard in `buildApp`: anyone (`public`), anyone signed in
 * whatever their role (`signed-in`), or whoever holds a permission. Routes that say nothing need `chat`.
 */
export type RouteAccess = 'public' | 'signed-in' | Permission;

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
    usage: UsageLedger;
    tracer: Tracer;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
    /** `performance.now()` when the request arrived. */
    startedAt: number;
    /** The request's server span (a no-op one when tracing is off). */
    span: Span | undefined;
    /** Whether the request's access line is written (or will be) by its route, as streamed routes do. */
    accessLogged: boolean;
  }
  interface FastifyContextConfig {
    access?: RouteAccess;
    /** The API key scopes that may call the route (any of them); by default `chat` for `chat` routes, `admin` for the rest. */
    scopes?: ApiKeyScope[];
    /** The route reads multipart/form-data (uploads); every other route refuses it. */
    multipart?: boolean;
  }
}
