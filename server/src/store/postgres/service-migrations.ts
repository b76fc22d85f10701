import type { PgMigration } from './pg-migration';

/**
 * Prompt templates, the usage ledger and the prompt log (versions 200–299): the final shape of the
 * SQLite tables of the same names, written for PostgreSQL the way the core schema is (points in time
 * as `TIMESTAMPTZ`, JSON that is only stored and returned as `JSON`, identifiers as `TEXT`).
 *
 * Templates belong to an organisation (a foreign key, as in SQLite). Usage rows and prompt log rows
 * name theirs without one: the ledger is kept whatever becomes of the organisation.
 */
export const SERVICE_MIGRATIONS: PgMigration[] = [
  {
    version: 200,
    name: 'prompt templates with immutable versions',
    sql: `
      CREATE TABLE prompt_templates (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations(id),
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        active_version INTEGER NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        -- Template names are unique within an organisation.
        UNIQUE (org_id, name)
      );
      CREATE TABLE prompt_template_versions (
        template_id TEXT NOT NULL REFERENCES prompt_templates(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        system TEXT NOT NULL,
        message TEXT NOT NULL,
        variables JSON NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created_by TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (template_id, version)
      );
      -- Versions are immutable: once written, a version cannot change.
      CREATE FUNCTION prompt_template_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'prompt template versions are immutable';
      END
      $$;
      CREATE TRIGGER prompt_template_versions_immutable BEFORE UPDATE ON prompt_template_versions
        FOR EACH ROW EXECUTE FUNCTION prompt_template_versions_immutable();
    `,
  },
  {
    version: 201,
    name: 'usage ledger',
    sql: `
      CREATE TABLE usage_events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at TIMESTAMPTZ NOT NULL,
        org_id TEXT NOT NULL,
        user_id TEXT,
        user_email TEXT,
        api_key_id TEXT,
        route TEXT NOT NULL,
        model TEXT NOT NULL,
        status TEXT NOT NULL,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
        latency_ms DOUBLE PRECISION,
        ttft_ms DOUBLE PRECISION
      );
      CREATE INDEX usage_events_at ON usage_events(at);
      -- Budgets: what a user, or an organisation, spent since an instant.
      CREATE INDEX usage_events_user_at ON usage_events(user_id, at);
      CREATE INDEX usage_events_org_at ON usage_events(org_id, at);
    `,
  },
  {
    version: 202,
    name: 'prompt log',
    sql: `
      CREATE TABLE prompt_log (
        id TEXT PRIMARY KEY,
        at TIMESTAMPTZ NOT NULL,
        org_id TEXT NOT NULL,
        user_id TEXT,
        api_key_id TEXT,
        route TEXT NOT NULL,
        model TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('redacted', 'full')),
        prompt TEXT NOT NULL,
        response TEXT NOT NULL,
        status TEXT NOT NULL,
        input_tokens INTEGER,
        output_tokens INTEGER
      );
      CREATE INDEX prompt_log_at ON prompt_log(at);
      CREATE INDEX prompt_log_org_at ON prompt_log(org_id, at);
    `,
  },
];
