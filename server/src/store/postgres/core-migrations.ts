import type { PgMigration } from './pg-migration';

/**
 * The core schema in PostgreSQL (versions 1–99): organisations, accounts and their sign-ins, sessions,
 * API keys, conversations and messages, feedback, preferences, the audit trail, `/v1/responses`
 * responses and uploaded originals. It is the final shape of the SQLite tables of the same names,
 * written for PostgreSQL:
 *
 * - Points in time are `TIMESTAMPTZ`; the repositories write them from `Date#toISOString()` and read
 *   them back as the same ISO strings (millisecond precision, UTC, `Z`). The one exception is
 *   `audit_events.at`: it is part of what each event's hash covers, so it is kept as the exact text hashed.
 * - JSON that Axon only stores and returns (citations, agent runs, attachments, response items) is
 *   `JSON`, which keeps the document as written (key order included); organisation limits are `JSONB`.
 *   Audit details are `TEXT`: they are hashed as stored.
 * - Identifiers are `TEXT` (UUIDs, `org_…`, and message ids chosen by the web app); the order of
 *   writing is a `seq` column.
 * - The audit trail numbers its events itself, under a lock on its head row, so that sequence numbers
 *   have no gaps (a sequence would leave one for every rolled-back append, which verification would
 *   report as deleted rows) and the head keeps the highest number ever issued.
 */
export const CORE_MIGRATIONS: PgMigration[] = [
  {
    version: 1,
    name: 'organisations, accounts, identities, sign-ins in flight, sessions, password resets, api keys',
    sql: `
      CREATE TABLE organizations (
        id TEXT PRIMARY KEY,
        slug TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        -- Requests, tokens, streams and budgets for the whole organisation (0 or absent = none).
        limits JSONB NOT NULL DEFAULT '{}',
        -- The prompt log mode for the organisation; NULL follows the server's setting.
        prompt_log_mode TEXT CHECK (prompt_log_mode IN ('off', 'redacted', 'full')),
        created_at TIMESTAMPTZ NOT NULL
      );
      INSERT INTO organizations (id, slug, name, created_at) VALUES ('org_default', 'default', 'Default', date_trunc('milliseconds', now()));

      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        password_hash TEXT,
        role TEXT NOT NULL CHECK (role IN ('admin', 'builder', 'member', 'auditor')),
        org_id TEXT NOT NULL REFERENCES organizations(id),
        created_at TIMESTAMPTZ NOT NULL,
        disabled_at TIMESTAMPTZ,
        -- A deleted account keeps its row, emptied of personal data, so that ids in the audit trail,
        -- the usage ledger and organisation-wide collections still point somewhere.
        deleted_at TIMESTAMPTZ
      );
      CREATE INDEX users_org ON users(org_id, created_at);

      CREATE TABLE user_identities (
        provider TEXT NOT NULL,
        subject TEXT NOT NULL,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (provider, subject)
      );
      CREATE INDEX user_identities_user ON user_identities(user_id);

      -- Sign-ins through an identity provider in flight: single use, short-lived.
      CREATE TABLE sso_logins (
        state_hash TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        code_verifier TEXT NOT NULL,
        nonce TEXT NOT NULL,
        return_to TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
      );
      CREATE INDEX sso_logins_expires ON sso_logins(expires_at);

      CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        -- A non-secret name for the session, so its owner can list and revoke it.
        id TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        last_seen_at TIMESTAMPTZ,
        ip TEXT,
        user_agent TEXT
      );
      CREATE INDEX sessions_expires ON sessions(expires_at);
      CREATE INDEX sessions_user ON sessions(user_id);

      -- One-time password reset links made by an administrator: only the token's hash is kept.
      CREATE TABLE password_resets (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_by TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        used_at TIMESTAMPTZ
      );
      CREATE INDEX password_resets_user ON password_resets(user_id);

      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        scopes TEXT[] NOT NULL DEFAULT ARRAY['chat', 'embeddings'],
        rpm INTEGER,
        tpm INTEGER,
        expires_at TIMESTAMPTZ,
        -- The prompt template (by name, within the organisation) every request of the key uses.
        prompt TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        last_used_at TIMESTAMPTZ,
        revoked_at TIMESTAMPTZ
      );
      CREATE INDEX api_keys_user ON api_keys(user_id, created_at DESC);
    `,
  },
  {
    version: 2,
    name: 'conversations, messages as a tree, feedback on answers, personal preferences',
    sql: `
      CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        model TEXT,
        prompt TEXT,
        -- Instructions, temperature and answer length the person set for it (null: defaults).
        system_prompt TEXT,
        temperature DOUBLE PRECISION,
        max_tokens INTEGER,
        pinned_at TIMESTAMPTZ,
        archived_at TIMESTAMPTZ,
        folder TEXT,
        -- The last message of the branch the conversation shows; null: its newest message.
        active_leaf_id TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
      );
      CREATE INDEX conversations_user_updated ON conversations(user_id, updated_at DESC, id DESC);

      -- The collections searched for a conversation's answers. collection_id gets its foreign key
      -- to collections (ON DELETE CASCADE) where collections are created.
      CREATE TABLE conversation_collections (
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        collection_id TEXT NOT NULL,
        PRIMARY KEY (conversation_id, collection_id)
      );
      CREATE INDEX conversation_collections_collection ON conversation_collections(collection_id);

      CREATE TABLE messages (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        -- The message this one follows (null for a first message); siblings are versions of one another.
        parent_id TEXT,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('streaming', 'complete', 'stopped', 'error')),
        model TEXT,
        input_tokens INTEGER,
        output_tokens INTEGER,
        ttft_ms DOUBLE PRECISION,
        total_ms DOUBLE PRECISION,
        error TEXT,
        citations JSON,
        -- An agent's answer keeps its tool calls (step cards) and its structured summary.
        agent_run JSON,
        -- [{ documentId, name }]: what the person attached when sending the message.
        attachments JSON,
        created_at TIMESTAMPTZ NOT NULL
      );
      CREATE INDEX messages_conversation ON messages(conversation_id, seq);
      CREATE INDEX messages_parent ON messages(parent_id);
      CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming';

      -- Thumbs up (1) or down (-1) on an answer, with who gave it, the model that wrote it and an optional comment.
      CREATE TABLE message_feedback (
        message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users(id),
        org_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        model TEXT,
        value SMALLINT NOT NULL CHECK (value IN (-1, 1)),
        comment TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (message_id, user_id)
      );
      CREATE INDEX message_feedback_org_time ON message_feedback(org_id, updated_at);
      CREATE INDEX message_feedback_time ON message_feedback(updated_at);
      CREATE INDEX message_feedback_conversation ON message_feedback(conversation_id, user_id);

      CREATE TABLE user_preferences (
        user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        instructions TEXT NOT NULL DEFAULT '',
        updated_at TIMESTAMPTZ NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'hash-chained audit trail',
    sql: `
      -- Append-only: each row carries the hash of the one before, so an edited, deleted or
      -- reordered row breaks the chain (axon audit verify).
      CREATE TABLE audit_events (
        seq BIGINT PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        at TEXT NOT NULL,
        actor_id TEXT,
        actor_email TEXT,
        action TEXT NOT NULL,
        target TEXT,
        ip TEXT,
        details TEXT NOT NULL,
        org_id TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX audit_events_at ON audit_events(at);
      CREATE INDEX audit_events_action ON audit_events(action, seq);
      CREATE INDEX audit_events_org ON audit_events(org_id, seq);
      -- The chain's head: the highest sequence number ever issued and the hash the next event follows.
      -- Appends lock this one row, so replicas appending at once each chain to the one before.
      CREATE TABLE audit_chain_head (
        only_row BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL
      );
      INSERT INTO audit_chain_head (seq, hash) VALUES (0, repeat('0', 64));
    `,
  },
  {
    version: 4,
    name: 'responses of /v1/responses, for previous_response_id',
    sql: `
      -- Translated responses keep their items; relayed ones (kept by the upstream) only their owner.
      CREATE TABLE gateway_responses (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('translated', 'relayed')),
        model TEXT NOT NULL,
        connection TEXT NOT NULL,
        previous_id TEXT,
        -- The first response of the thread: a thread expires as a whole, after its last turn.
        thread_id TEXT NOT NULL,
        input_items JSON NOT NULL DEFAULT '[]',
        output_items JSON NOT NULL DEFAULT '[]',
        response JSON,
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
      );
      CREATE INDEX gateway_responses_thread ON gateway_responses(thread_id);
      CREATE INDEX gateway_responses_expires ON gateway_responses(expires_at);
    `,
  },
  {
    version: 5,
    name: 'uploaded originals',
    sql: `
      -- The bytes of uploaded files, by key, for replicas that share no disk.
      CREATE TABLE blobs (
        key TEXT PRIMARY KEY,
        bytes BYTEA NOT NULL,
        size BIGINT,
        content_type TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 6,
    name: 'heartbeats of streaming answers',
    sql: `
      -- When the replica writing a streaming answer last saved it; an answer whose heartbeat is old is marked interrupted.
      ALTER TABLE messages ADD COLUMN heartbeat_at TIMESTAMPTZ;
    `,
  },
  {
    version: 7,
    name: 'the model an API key pins',
    sql: `
      -- A catalog model or alias used when a request names none; an alias version (name@3) also
      -- replaces that alias named without a version.
      ALTER TABLE api_keys ADD COLUMN model TEXT;
    `,
  },
];
