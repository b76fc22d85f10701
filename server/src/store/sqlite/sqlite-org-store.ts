import { randomUUID } from 'node:crypto';
import type { Organization, OrgLimits, PromptLogMode } from '@axon/contracts';
import type Database from 'better-sqlite3';
import { AppError } from '../../errors';
import { HOME_ORG_ID, type OrganizationRepository, type SsoLoginRepository } from '../store';

export { HOME_ORG_ID };

type Row = Record<string, unknown>;

const toOrganization = (r: Row): Organization => ({
  id: r.id as string,
  slug: r.slug as string,
  name: r.name as string,
  limits: JSON.parse(r.limits as string) as OrgLimits,
  promptLogMode: (r.prompt_log_mode as PromptLogMode | null) ?? null,
  createdAt: r.created_at as string,
});

export function createSqliteOrgRepositories(
  db: Database.Database,
  now: () => Date,
): { organizations: OrganizationRepository; ssoLogins: SsoLoginRepository } {
  const byId = db.prepare('SELECT * FROM organizations WHERE id = ?');
  const bySlug = db.prepare('SELECT * FROM organizations WHERE slug = ?');
  const takeLogin = db.prepare('DELETE FROM sso_logins WHERE state_hash = ? RETURNING *');
  return {
    organizations: {
      async create({ slug, name, limits, promptLogMode }) {
        const id = `org_${randomUUID()}`;
        try {
          db.prepare('INSERT INTO organizations (id, slug, name, limits, prompt_log_mode, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(
            id,
            slug,
            name,
            JSON.stringify(limits),
            promptLogMode,
            now().toISOString(),
          );
        } catch (error) {
          if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
            throw new AppError('conflict', { detail: `An organisation "${slug}" exists already.` });
          throw error;
        }
        return toOrganization(byId.get(id) as Row);
      },
      async get(id) {
        const row = byId.get(id) as Row | undefined;
        return row && toOrganization(row);
      },
      async findBySlug(slug) {
        const row = bySlug.get(slug) as Row | undefined;
        return row && toOrganization(row);
      },
      async list() {
        return (
          db
            .prepare(
              `SELECT o.*, (SELECT count(*) FROM users u WHERE u.org_id = o.id) AS users FROM organizations o
               ORDER BY o.id = '${HOME_ORG_ID}' DESC, o.name`,
            )
            .all() as Row[]
        ).map((r) => ({ ...toOrganization(r), users: r.users as number }));
      },
      async update(id, patch) {
        const sets: string[] = [];
        const params: unknown[] = [];
        if (patch.name !== undefined) sets.push('name = ?') && params.push(patch.name);
        if (patch.limits !== undefined) sets.push('limits = ?') && params.push(JSON.stringify(patch.limits));
        if (patch.promptLogMode !== undefined) sets.push('prompt_log_mode = ?') && params.push(patch.promptLogMode);
        if (sets.length > 0) db.prepare(`UPDATE organizations SET ${sets.join(', ')} WHERE id = ?`).run(...params, id);
        const row = byId.get(id) as Row | undefined;
        return row && toOrganization(row);
      },
    },
    ssoLogins: {
      async create(stateHash, login, expiresAt) {
        const at = now().toISOString();
        db.prepare('DELETE FROM sso_logins WHERE expires_at <= ?').run(at);
        db.prepare(
          'INSERT INTO sso_logins (state_hash, provider, code_verifier, nonce, return_to, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(stateHash, login.provider, login.codeVerifier, login.nonce, login.returnTo, expiresAt.toISOString());
      },
      async take(stateHash, at) {
        const row = takeLogin.get(stateHash) as Row | undefined;
        if (!row || (row.expires_at as string) <= at.toISOString()) return undefined;
        return {
          provider: row.provider as string,
          codeVerifier: row.code_verifier as string,
          nonce: row.nonce as string,
          returnTo: row.return_to as string,
        };
      },
    },
  };
}
