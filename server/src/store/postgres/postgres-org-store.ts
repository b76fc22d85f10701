import { randomUUID } from 'node:crypto';
import type { Organization, OrgLimits, PromptLogMode } from '@axon/contracts';
import { AppError } from '../../errors';
import { HOME_ORG_ID, type OrganizationRepository, type SsoLoginRepository } from '../store';
import { createParams, isoOf, isUniqueViolation, type Sql } from './pg-values';

type Row = Record<string, unknown>;

const toOrganization = (r: Row): Organization => ({
  id: r.id as string,
  slug: r.slug as string,
  name: r.name as string,
  limits: (r.limits ?? {}) as OrgLimits,
  promptLogMode: (r.prompt_log_mode as PromptLogMode | null) ?? null,
  createdAt: isoOf(r.created_at),
});

/** Organisations and sign-ins through an identity provider in flight, in PostgreSQL. */
export function createPostgresOrgRepositories(
  sql: Sql,
  { now }: { now: () => Date },
): { organizations: OrganizationRepository; ssoLogins: SsoLoginRepository } {
  const byId = async (id: string) => {
    const { rows } = await sql.query('SELECT * FROM organizations WHERE id = $1', [id]);
    return rows[0] && toOrganization(rows[0]);
  };
  return {
    organizations: {
      async create({ slug, name, limits, promptLogMode }) {
        try {
          const { rows } = await sql.query(
            'INSERT INTO organizations (id, slug, name, limits, prompt_log_mode, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
            [`org_${randomUUID()}`, slug, name, JSON.stringify(limits), promptLogMode, now().toISOString()],
          );
          return toOrganization(rows[0] as Row);
        } catch (error) {
          if (isUniqueViolation(error)) throw new AppError('conflict', { detail: `An organisation "${slug}" exists already.` });
          throw error;
        }
      },
      get: byId,
      async findBySlug(slug) {
        const { rows } = await sql.query('SELECT * FROM organizations WHERE slug = $1', [slug]);
        return rows[0] && toOrganization(rows[0]);
      },
      async list() {
        const { rows } = await sql.query(
          `SELECT o.*, (SELECT count(*) FROM users u WHERE u.org_id = o.id) AS users FROM organizations o
           ORDER BY o.id = $1 DESC, o.name`,
          [HOME_ORG_ID],
        );
        return rows.map((r) => ({ ...toOrganization(r), users: Number(r.users) }));
      },
      async update(id, patch) {
        const params = createParams();
        const sets: string[] = [];
        if (patch.name !== undefined) sets.push(`name = ${params.add(patch.name)}`);
        if (patch.limits !== undefined) sets.push(`limits = ${params.add(JSON.stringify(patch.limits))}`);
        if (patch.promptLogMode !== undefined) sets.push(`prompt_log_mode = ${params.add(patch.promptLogMode)}`);
        if (sets.length === 0) return byId(id);
        const { rows } = await sql.query(
          `UPDATE organizations SET ${sets.join(', ')} WHERE id = ${params.add(id)} RETURNING *`,
          params.values,
        );
        return rows[0] && toOrganization(rows[0]);
      },
    },
    ssoLogins: {
      async create(stateHash, login, expiresAt) {
        await sql.query('DELETE FROM sso_logins WHERE expires_at <= $1', [now().toISOString()]);
        await sql.query(
          'INSERT INTO sso_logins (state_hash, provider, code_verifier, nonce, return_to, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
          [stateHash, login.provider, login.codeVerifier, login.nonce, login.returnTo, expiresAt.toISOString()],
        );
      },
      async take(stateHash, at) {
        // Deleted whether or not it expired: a state is never good twice.
        const { rows } = await sql.query('DELETE FROM sso_logins WHERE state_hash = $1 RETURNING *, expires_at > $2 AS live', [
          stateHash,
          at.toISOString(),
        ]);
        const row = rows[0];
        if (!row?.live) return undefined;
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
