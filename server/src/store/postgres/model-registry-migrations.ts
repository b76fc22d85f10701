import type { PgMigration } from './pg-migration';

/**
 * Model operations (300–399): aliases, their immutable versions, and which version served each
 * response; the shape of SQLite's migrations 22 and 25, written for PostgreSQL.
 */
export const MODEL_REGISTRY_MIGRATIONS: PgMigration[] = [
  {
    version: 300,
    name: 'model aliases, their immutable versions, and the version that served each response',
    sql: `
      -- An installation-wide name for a model. The revision is bumped at every change of policy.
      CREATE TABLE model_aliases (
        name TEXT PRIMARY KEY,
        description TEXT,
        policy JSONB NOT NULL,
        shadow JSONB,
        cache JSONB,
        source TEXT NOT NULL CHECK (source IN ('config', 'api')),
        revision INTEGER NOT NULL,
        state JSONB,
        updated_at TIMESTAMPTZ NOT NULL
      );
      CREATE TABLE model_versions (
        alias TEXT NOT NULL REFERENCES model_aliases(name) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        spec JSONB NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        created_by TEXT,
        PRIMARY KEY (alias, version)
      );
      CREATE FUNCTION model_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'model versions are immutable';
      END $$;
      CREATE TRIGGER model_versions_immutable BEFORE UPDATE ON model_versions
        FOR EACH ROW EXECUTE FUNCTION model_versions_immutable();
      -- Which alias, version and arm answered a response, so that feedback on it counts for that arm.
      CREATE TABLE model_served_responses (
        response_id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        alias TEXT NOT NULL,
        version INTEGER NOT NULL,
        revision INTEGER NOT NULL,
        arm TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        -- The served user's thumbs (up/down) on it, and what they wrote.
        feedback TEXT CHECK (feedback IN ('up', 'down')),
        feedback_comment TEXT,
        feedback_at TIMESTAMPTZ
      );
      CREATE INDEX model_served_responses_created ON model_served_responses(created_at);
    `,
  },
  {
    version: 301,
    name: 'whom each served response answered: the web chat or a program through /v1',
    sql: `
      -- The feedback dashboard's source; SQLite's migration 25. Responses served before this are the
      -- web chat's when a message of their id still exists, a program's otherwise. (The registry's
      -- tables are also migrated without the chat's, for its own tests: then there are no messages.)
      ALTER TABLE model_served_responses ADD COLUMN source TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('web', 'api'));
      DO $$
      BEGIN
        IF to_regclass('messages') IS NOT NULL THEN
          EXECUTE 'UPDATE model_served_responses s SET source = ''web'' WHERE EXISTS (SELECT 1 FROM messages m WHERE m.id = s.response_id)';
        END IF;
      END $$;
      -- Every insert says its source.
      ALTER TABLE model_served_responses ALTER COLUMN source DROP DEFAULT;
    `,
  },
];
