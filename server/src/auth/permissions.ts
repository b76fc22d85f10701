import type { Role } from '@axon/contracts';
import { HOME_ORG_ID } from '../store/store';

/** What a caller may do; routes name the one they need and the guard in `buildApp` checks it. */
export const PERMISSIONS = [
  /** Chat, conversations, collections and documents of one's own (and those shared), the `/v1` API. */
  'chat',
  /** Prompt templates: create, version, activate. */
  'prompts:manage',
  /** Model aliases and connections. */
  'models:manage',
  /** Agents: create, version, activate (their tools, collections, datasets and budgets). */
  'agents:manage',
  /** MCP servers, approval of their tools, datasets and the URL tool's allow-list. */
  'tools:manage',
  /** Accounts and their roles; every API key. */
  'users:manage',
  /** The audit trail: browse and export. */
  'audit:read',
  /** Usage and cost ledger, dashboards. */
  'usage:read',
  /** Prometheus metrics. */
  'metrics:read',
  /** Organisations: create them, set their limits, move accounts between them (admins of the first organisation). */
  'orgs:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * Roles as sets of permissions. `auditor` reads usage and the audit trail and nothing else (no chat,
 * no documents); `builder` chats and manages prompts and models; `admin` may do everything.
 */
export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(PERMISSIONS.filter((p) => p !== 'orgs:manage')),
  builder: new Set(['chat', 'prompts:manage', 'models:manage', 'agents:manage', 'usage:read']),
  member: new Set(['chat']),
  auditor: new Set(['audit:read', 'usage:read']),
};

/** Whether an account may do something: its role's permissions, and `orgs:manage` for admins of the first organisation. */
export function can(user: { role: Role; orgId: string }, permission: Permission): boolean {
  if (permission === 'orgs:manage') return user.role === 'admin' && user.orgId === HOME_ORG_ID;
  return ROLE_PERMISSIONS[user.role].has(permission);
}

export function permissionsOf(user: { role: Role; orgId: string }): Permission[] {
  return PERMISSIONS.filter((p) => can(user, p));
}
