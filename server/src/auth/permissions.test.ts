import type { Role } from '@axon/contracts';
import { describe, expect, it } from 'vitest';
import { HOME_ORG_ID } from '../store';
import { can, PERMISSIONS, ROLE_PERMISSIONS } from './permissions';

/** Roles as permissions; what each route gives each caller is checked in `security/access-matrix.test.ts`. */
describe('permission matrix', () => {
  it('gives each role its permissions: auditors read audit and usage only', () => {
    expect([...ROLE_PERMISSIONS.admin]).toEqual(PERMISSIONS.filter((p) => p !== 'orgs:manage'));
    expect([...ROLE_PERMISSIONS.auditor].sort()).toEqual(['audit:read', 'usage:read']);
    const home = (role: Role) => ({ role, orgId: HOME_ORG_ID });
    expect(can(home('member'), 'chat')).toBe(true);
    expect(can(home('member'), 'users:manage')).toBe(false);
    expect(can(home('builder'), 'prompts:manage')).toBe(true);
    expect(can(home('auditor'), 'chat')).toBe(false);
    expect(can(home('admin'), 'orgs:manage')).toBe(true);
    expect(can({ role: 'admin', orgId: 'org_other' }, 'orgs:manage')).toBe(false);
    expect(can({ role: 'admin', orgId: 'org_other' }, 'users:manage')).toBe(true);
  });
});
