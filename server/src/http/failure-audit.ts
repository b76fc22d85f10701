import type { FastifyRequest } from 'fastify';
import type { AuditEventInput } from '../observability/audit-chain';
import type { Store } from '../store';
import { recordAudit } from './record-audit';

export interface FailureAuditOptions {
  /** Rows per client address per window (default 10). */
  perAddress?: number;
  /** Rows from all addresses together per window (default 200). */
  total?: number;
  windowMs?: number;
  now?: () => number;
}

export interface FailureAudit {
  /** Appends the event, unless this window's share is spent; then it is counted for the summary row. */
  record(request: FastifyRequest, event: Omit<AuditEventInput, 'ip'>): Promise<void>;
  /** Writes the summary of what was held back in the window so far (at close). */
  flush(): Promise<void>;
}

/** Longest free text an audit row of an unauthenticated failure keeps per detail. */
const DETAIL_LIMIT = 200;

const boundDetails = (details: Record<string, unknown> | undefined) =>
  details &&
  Object.fromEntries(
    Object.entries(details).map(([k, v]) => [k, typeof v === 'string' && v.length > DETAIL_LIMIT ? `${v.slice(0, DETAIL_LIMIT)}…` : v]),
  );

/**
 * The audit trail for failures anyone can cause without signing in (wrong passwords, broken
 * single sign-on callbacks): each address gets a few rows per window and all of them a bounded
 * number; the rest are counted and written as one `auth.failures_suppressed` row per window, so
 * that a flood neither fills the store nor hides that it happened.
 */
export function createFailureAudit(store: Store, options: FailureAuditOptions = {}): FailureAudit {
  const perAddress = options.perAddress ?? 10;
  const total = options.total ?? 200;
  const windowMs = options.windowMs ?? 60_000;
  const now = options.now ?? Date.now;
  let windowStart = now();
  let written = 0;
  const byAddress = new Map<string, number>();
  const held = new Map<string, number>();
  let heldAddresses = new Set<string>();

  async function writeSummary(until: number): Promise<void> {
    if (held.size === 0) return;
    const actions = Object.fromEntries(held);
    const count = [...held.values()].reduce((a, b) => a + b, 0);
    const addresses = [...heldAddresses].slice(0, 20);
    const moreAddresses = heldAddresses.size - addresses.length;
    held.clear();
    heldAddresses = new Set();
    await store.audit.append({
      action: 'auth.failures_suppressed',
      actorId: null,
      actorEmail: null,
      orgId: null,
      ip: null,
      details: {
        count,
        actions,
        addresses,
        ...(moreAddresses > 0 ? { moreAddresses } : {}),
        from: new Date(windowStart).toISOString(),
        until: new Date(until).toISOString(),
      },
    });
  }

  async function roll(at: number): Promise<void> {
    if (at - windowStart < windowMs) return;
    await writeSummary(at);
    windowStart = at;
    written = 0;
    byAddress.clear();
  }

  return {
    async record(request, event) {
      const at = now();
      await roll(at);
      const ip = request.ip;
      const mine = byAddress.get(ip) ?? 0;
      if (mine >= perAddress || written >= total) {
        held.set(event.action, (held.get(event.action) ?? 0) + 1);
        if (heldAddresses.size < 10_000) heldAddresses.add(ip);
        return;
      }
      if (byAddress.size < 100_000) byAddress.set(ip, mine + 1);
      written++;
      await recordAudit(store, request, { ...event, details: boundDetails(event.details) });
    },
    flush: () => writeSummary(now()),
  };
}
