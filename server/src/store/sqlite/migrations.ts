import type Database from 'better-sqlite3';

/** Versioned schema changes, applied in order at start; never edit one that has shipped. */
export const SQLITE_MIGRATIONS: Array<{
  version: number;
  name: string;
  sql: string;
  /** Rebuilds a table others reference: foreign keys are off while it runs and checked after. */
  rebuildsTables?: boolean;
  /** Work SQL alone cannot say (tables named by data), run after `sql` in the same transaction. */
  run?: (db: Database.Database) => void;
}> = [
  {
    version: 1,
    name: 'users, sessions, api keys, conversations, messages',
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        password_hash TEXT,
        role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
        created_at TEXT NOT NULL
      );
      CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );
      CREATE INDEX sessions_expires ON sessions(expires_at);
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at TEXT
      );
      CREATE INDEX api_keys_user ON api_keys(user_id);
      CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        model TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX conversations_user_updated ON conversations(user_id, updated_at DESC, id DESC);
      CREATE TABLE messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('streaming', 'complete', 'stopped', 'error')),
        model TEXT,
        input_tokens INTEGER,
        output_tokens INTEGER,
        ttft_ms REAL,
        total_ms REAL,
        error TEXT,
        created_at TEXT NOT NULL
      );
      CREATE INDEX messages_conversation ON messages(conversation_id, seq);
    `,
  },
  {
    version: 2,
    name: 'collections, documents, chunks with full-text index, ingest jobs, citations',
    sql: `
      CREATE TABLE collections (
        id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        visibility TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'organisation')),
        organisation_role TEXT NOT NULL DEFAULT 'viewer' CHECK (organisation_role IN ('viewer', 'editor')),
        top_k INTEGER NOT NULL DEFAULT 6,
        min_score REAL NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (owner_id, name)
      );
      CREATE TABLE collection_members (
        collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'editor')),
        PRIMARY KEY (collection_id, user_id)
      );
      CREATE INDEX collection_members_user ON collection_members(user_id);
      CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        mime TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'parsing', 'chunking', 'indexing', 'ready', 'failed')),
        error TEXT,
        pages INTEGER,
        chars INTEGER,
        chunk_count INTEGER NOT NULL DEFAULT 0,
        created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (collection_id, sha256)
      );
      CREATE INDEX documents_collection ON documents(collection_id, created_at DESC);
      CREATE TABLE document_texts (
        document_id TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
        text TEXT NOT NULL
      );
      CREATE TABLE chunks (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        collection_id TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        text TEXT NOT NULL,
        page INTEGER,
        section TEXT,
        start_offset INTEGER NOT NULL,
        end_offset INTEGER NOT NULL,
        token_count INTEGER NOT NULL
      );
      CREATE INDEX chunks_document ON chunks(document_id, ordinal);
      CREATE INDEX chunks_collection ON chunks(collection_id);
      CREATE VIRTUAL TABLE chunks_fts USING fts5(text, section, collection_id UNINDEXED, content='chunks', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2');
      CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts(rowid, text, section, collection_id) VALUES (new.rowid, new.text, coalesce(new.section, ''), new.collection_id);
      END;
      CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts(chunks_fts, rowid, text, section, collection_id) VALUES ('delete', old.rowid, old.text, coalesce(old.section, ''), old.collection_id);
      END;
      CREATE TABLE ingest_jobs (
        id TEXT PRIMARY KEY,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX ingest_jobs_state ON ingest_jobs(state, created_at);
      CREATE TABLE conversation_collections (
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        PRIMARY KEY (conversation_id, collection_id)
      );
      ALTER TABLE messages ADD COLUMN citations TEXT;
    `,
  },
  {
    version: 3,
    name: 'embedding model and dimension per collection',
    sql: `
      ALTER TABLE collections ADD COLUMN embedding_model TEXT;
      ALTER TABLE collections ADD COLUMN embedding_dimensions INTEGER;
    `,
  },
  {
    version: 4,
    name: 'search change log and diversified retrieval',
    sql: `
      -- Every change to the searchable chunks, in order, so that each process's in-memory search
      -- index (and one of another process, e.g. the CLI ingesting while the server runs) catches up.
      CREATE TABLE index_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        chunk_rowid INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('chunk', 'removed', 'vector')),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      );
      CREATE TRIGGER chunks_log_insert AFTER INSERT ON chunks BEGIN
        INSERT INTO index_changes (chunk_rowid, kind) VALUES (new.rowid, 'chunk');
      END;
      CREATE TRIGGER chunks_log_delete AFTER DELETE ON chunks BEGIN
        INSERT INTO index_changes (chunk_rowid, kind) VALUES (old.rowid, 'removed');
      END;
      ALTER TABLE collections ADD COLUMN mmr INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 5,
    name: 'roles builder and auditor; hash-chained audit trail',
    rebuildsTables: true,
    sql: `
      CREATE TABLE users_v5 (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        password_hash TEXT,
        role TEXT NOT NULL CHECK (role IN ('admin', 'builder', 'member', 'auditor')),
        created_at TEXT NOT NULL
      );
      INSERT INTO users_v5 (id, email, password_hash, role, created_at) SELECT id, email, password_hash, role, created_at FROM users;
      DROP TABLE users;
      ALTER TABLE users_v5 RENAME TO users;
      -- Append-only: each row carries the hash of the one before, so an edited, deleted or
      -- reordered row breaks the chain (axon audit verify).
      CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        at TEXT NOT NULL,
        actor_id TEXT,
        actor_email TEXT,
        action TEXT NOT NULL,
        target TEXT,
        ip TEXT,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX audit_events_at ON audit_events(at);
    `,
  },
  {
    version: 6,
    name: 'api key scopes, limits and expiry',
    sql: `
      ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'chat,embeddings';
      ALTER TABLE api_keys ADD COLUMN rpm INTEGER;
      ALTER TABLE api_keys ADD COLUMN tpm INTEGER;
      ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
    `,
  },
  {
    version: 7,
    name: 'vectors in a plain table',
    sql: `
      CREATE TABLE chunk_embeddings (
        chunk_rowid INTEGER PRIMARY KEY REFERENCES chunks(rowid) ON DELETE CASCADE,
        collection_id TEXT NOT NULL,
        dimensions INTEGER NOT NULL,
        embedding BLOB NOT NULL
      );
      CREATE INDEX chunk_embeddings_collection ON chunk_embeddings(collection_id, dimensions);
    `,
    run(db) {
      // Earlier versions kept vectors in one sqlite-vec vec0 table per size; move them over.
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'chunk_vectors_*'")
        .pluck()
        .all() as string[];
      for (const table of tables) {
        const dimensions = /^chunk_vectors_(\d+)$/.exec(table)?.[1];
        if (!dimensions) continue;
        db.exec(
          `INSERT INTO chunk_embeddings (chunk_rowid, collection_id, dimensions, embedding)
           SELECT v.rowid, v.collection_id, ${Number(dimensions)}, v.embedding FROM ${table} v JOIN chunks c ON c.rowid = v.rowid`,
        );
        db.exec(`DROP TABLE ${table}`);
      }
    },
  },
  {
    version: 8,
    name: 'prompt log',
    sql: `
      CREATE TABLE prompt_log (
        id TEXT PRIMARY KEY,
        at TEXT NOT NULL,
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
    `,
  },
  {
    version: 9,
    name: 'prompt templates with immutable versions',
    sql: `
      CREATE TABLE prompt_templates (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        active_version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE prompt_template_versions (
        template_id TEXT NOT NULL REFERENCES prompt_templates(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        system TEXT NOT NULL,
        message TEXT NOT NULL,
        variables TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created_by TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (template_id, version)
      );
      -- Versions are immutable: once written, a version cannot change.
      CREATE TRIGGER prompt_template_versions_immutable BEFORE UPDATE ON prompt_template_versions BEGIN
        SELECT RAISE(ABORT, 'prompt template versions are immutable');
      END;
    `,
  },
  {
    version: 10,
    name: 'usage ledger',
    sql: `
      CREATE TABLE usage_events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        user_id TEXT,
        user_email TEXT,
        api_key_id TEXT,
        route TEXT NOT NULL,
        model TEXT NOT NULL,
        status TEXT NOT NULL,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        latency_ms REAL,
        ttft_ms REAL
      );
      CREATE INDEX usage_events_at ON usage_events(at);
    `,
  },
  {
    version: 11,
    name: 'usage by user and time, for budgets',
    sql: `
      CREATE INDEX usage_events_user_at ON usage_events(user_id, at);
    `,
  },
  {
    version: 12,
    name: 'organisations; sign-ins through OIDC; templates bound to conversations and keys',
    rebuildsTables: true,
    sql: `
      CREATE TABLE organizations (
        id TEXT PRIMARY KEY,
        slug TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        -- Requests, tokens, streams and budgets for the whole organisation (JSON, 0 or absent = none).
        limits TEXT NOT NULL DEFAULT '{}',
        -- The prompt log mode for the organisation; NULL follows the server's setting.
        prompt_log_mode TEXT CHECK (prompt_log_mode IN ('off', 'redacted', 'full')),
        created_at TEXT NOT NULL
      );
      -- Everything that existed before organisations belongs to the first one.
      INSERT INTO organizations (id, slug, name, created_at) VALUES ('org_default', 'default', 'Default', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
      ALTER TABLE users ADD COLUMN org_id TEXT NOT NULL DEFAULT 'org_default';
      CREATE INDEX users_org ON users(org_id, created_at);
      ALTER TABLE collections ADD COLUMN org_id TEXT NOT NULL DEFAULT 'org_default';
      CREATE INDEX collections_org ON collections(org_id);
      ALTER TABLE usage_events ADD COLUMN org_id TEXT NOT NULL DEFAULT 'org_default';
      CREATE INDEX usage_events_org_at ON usage_events(org_id, at);
      ALTER TABLE prompt_log ADD COLUMN org_id TEXT NOT NULL DEFAULT 'org_default';
      CREATE INDEX prompt_log_org_at ON prompt_log(org_id, at);
      ALTER TABLE audit_events ADD COLUMN org_id TEXT;
      -- Template names are unique within an organisation.
      CREATE TABLE prompt_templates_v12 (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations(id),
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        active_version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (org_id, name)
      );
      INSERT INTO prompt_templates_v12 (id, org_id, name, description, active_version, created_at, updated_at)
        SELECT id, 'org_default', name, description, active_version, created_at, updated_at FROM prompt_templates;
      DROP TABLE prompt_templates;
      ALTER TABLE prompt_templates_v12 RENAME TO prompt_templates;
      -- A key or a conversation may be bound to a template (by name, within the organisation).
      ALTER TABLE api_keys ADD COLUMN prompt TEXT;
      ALTER TABLE conversations ADD COLUMN prompt TEXT;
      -- Sign-ins through an identity provider in flight: single use, short-lived.
      CREATE TABLE sso_logins (
        state_hash TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        code_verifier TEXT NOT NULL,
        nonce TEXT NOT NULL,
        return_to TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );
      CREATE TABLE user_identities (
        provider TEXT NOT NULL,
        subject TEXT NOT NULL,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        PRIMARY KEY (provider, subject)
      );
    `,
  },
  {
    version: 13,
    name: 'disabled and deleted accounts, session ids, password resets',
    sql: `
      ALTER TABLE users ADD COLUMN disabled_at TEXT;
      -- A deleted account keeps its row, emptied of personal data, so that ids in the audit trail,
      -- the usage ledger and organisation-wide collections still point somewhere.
      ALTER TABLE users ADD COLUMN deleted_at TEXT;
      -- A non-secret name for a session, so its owner can list and revoke it (the token hash stays private).
      ALTER TABLE sessions ADD COLUMN id TEXT;
      UPDATE sessions SET id = lower(hex(randomblob(16)));
      CREATE UNIQUE INDEX sessions_id ON sessions(id);
      CREATE INDEX sessions_user ON sessions(user_id);
      ALTER TABLE sessions ADD COLUMN last_seen_at TEXT;
      ALTER TABLE sessions ADD COLUMN ip TEXT;
      ALTER TABLE sessions ADD COLUMN user_agent TEXT;
      -- One-time password reset links made by an administrator: only the token's hash is kept.
      CREATE TABLE password_resets (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_by TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
      );
      CREATE INDEX password_resets_user ON password_resets(user_id);
    `,
  },
  {
    version: 14,
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
        input_items TEXT NOT NULL DEFAULT '[]',
        output_items TEXT NOT NULL DEFAULT '[]',
        response TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );
      CREATE INDEX gateway_responses_thread ON gateway_responses(thread_id);
      CREATE INDEX gateway_responses_expires ON gateway_responses(expires_at);
    `,
  },
  {
    version: 15,
    name: 'agents with versions, MCP servers and their approved tools, tool approvals, datasets',
    sql: `
      CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL,
        slug TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        active_version INTEGER NOT NULL,
        created_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (org_id, slug)
      );
      CREATE TABLE agent_versions (
        agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        config TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created_by TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (agent_id, version)
      );
      CREATE TRIGGER agent_versions_immutable BEFORE UPDATE ON agent_versions BEGIN
        SELECT RAISE(ABORT, 'agent versions are immutable');
      END;
      -- Registered by admins only; header values and environment hold secrets and are never returned.
      CREATE TABLE mcp_servers (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL,
        name TEXT NOT NULL,
        transport TEXT NOT NULL CHECK (transport IN ('stdio', 'http')),
        command TEXT,
        args TEXT NOT NULL DEFAULT '[]',
        url TEXT,
        secrets TEXT NOT NULL DEFAULT '{}',
        last_error TEXT,
        created_by TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (org_id, name)
      );
      -- A tool runs only while its listed hash equals the hash an admin approved.
      CREATE TABLE mcp_tools (
        server_id TEXT NOT NULL REFERENCES mcp_servers(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        input_schema TEXT NOT NULL,
        hash TEXT NOT NULL,
        approved_hash TEXT,
        approved_by TEXT,
        approved_at TEXT,
        read_only INTEGER NOT NULL DEFAULT 0,
        approval TEXT NOT NULL DEFAULT 'auto' CHECK (approval IN ('auto', 'always', 'never')),
        listed_at TEXT NOT NULL,
        PRIMARY KEY (server_id, name)
      );
      -- A tool call waiting for its user's decision; the first decision before expiry wins.
      CREATE TABLE tool_approvals (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        input TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        decided_at TEXT
      );
      CREATE INDEX tool_approvals_user ON tool_approvals(user_id, status);
      -- Each dataset is a SQLite database of its own under the data directory, opened read-only.
      CREATE TABLE agent_datasets (
        org_id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        file TEXT NOT NULL,
        tables TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (org_id, name)
      );
      -- An agent's answer keeps its tool calls (step cards) and its structured summary.
      ALTER TABLE messages ADD COLUMN agent_run TEXT;
      CREATE TABLE fetch_allow_hosts (
        org_id TEXT NOT NULL,
        host TEXT NOT NULL,
        PRIMARY KEY (org_id, host)
      );
    `,
  },
  {
    version: 16,
    name: 'files attached to a message',
    sql: `
      -- JSON array of { documentId, name }: what the person attached when sending the message.
      ALTER TABLE messages ADD COLUMN attachments TEXT;
    `,
  },
  {
    version: 17,
    name: 'document dates and metadata, reranking per collection',
    sql: `
      -- The date a document is about (YYYY-MM-DD), where it came from, and free metadata fields.
      ALTER TABLE documents ADD COLUMN doc_date TEXT;
      ALTER TABLE documents ADD COLUMN date_source TEXT CHECK (date_source IN ('metadata', 'name', 'text', 'manual'));
      ALTER TABLE documents ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
      CREATE INDEX documents_date ON documents(collection_id, doc_date);
      ALTER TABLE collections ADD COLUMN rerank INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 18,
    name: 'messages as a tree: edited questions and regenerated answers kept as versions',
    sql: `
      -- The message this one follows (null for a first message); siblings are versions of one another.
      ALTER TABLE messages ADD COLUMN parent_id TEXT;
      UPDATE messages SET parent_id = (
        SELECT p.id FROM messages p WHERE p.conversation_id = messages.conversation_id AND p.seq < messages.seq ORDER BY p.seq DESC LIMIT 1
      );
      CREATE INDEX messages_parent ON messages(parent_id);
      -- The last message of the branch the conversation shows; null: its newest message.
      ALTER TABLE conversations ADD COLUMN active_leaf_id TEXT;
    `,
  },
  {
    version: 19,
    name: 'feedback on answers, per-conversation settings, personal instructions, pinned, archived and filed conversations',
    sql: `
      -- Thumbs up (1) or down (-1) on an answer, with who gave it, the model that wrote it and an optional comment.
      CREATE TABLE message_feedback (
        message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users(id),
        org_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        model TEXT,
        value INTEGER NOT NULL CHECK (value IN (-1, 1)),
        comment TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (message_id, user_id)
      );
      CREATE INDEX message_feedback_org_time ON message_feedback(org_id, updated_at);
      -- Instructions, temperature and answer length the person set for a conversation (null: defaults).
      ALTER TABLE conversations ADD COLUMN system_prompt TEXT;
      ALTER TABLE conversations ADD COLUMN temperature REAL;
      ALTER TABLE conversations ADD COLUMN max_tokens INTEGER;
      ALTER TABLE conversations ADD COLUMN pinned_at TEXT;
      ALTER TABLE conversations ADD COLUMN archived_at TEXT;
      ALTER TABLE conversations ADD COLUMN folder TEXT;
      CREATE TABLE user_preferences (
        user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        instructions TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 20,
    name: 'heartbeats of streaming answers',
    sql: `
      -- When the replica writing a streaming answer last saved it; an answer whose heartbeat is old is marked interrupted.
      ALTER TABLE messages ADD COLUMN heartbeat_at TEXT;
      CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming';
    `,
  },
  {
    version: 21,
    name: 'read-only links to conversations',
    sql: `
      -- A link members of the owner's organisation open read-only; revoked links stay as a record.
      CREATE TABLE conversation_shares (
        token TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        created_by TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      );
      -- At most one live link per conversation.
      CREATE UNIQUE INDEX conversation_shares_live ON conversation_shares(conversation_id) WHERE revoked_at IS NULL;
    `,
  },
  {
    version: 22,
    name: 'model aliases, their immutable versions, and the version that served each response',
    sql: `
      -- An installation-wide name for a model; policy, shadow, cache and state are JSON. The revision
      -- is bumped at every change of policy.
      CREATE TABLE model_aliases (
        name TEXT PRIMARY KEY,
        description TEXT,
        policy TEXT NOT NULL,
        shadow TEXT,
        cache TEXT,
        source TEXT NOT NULL CHECK (source IN ('config', 'api')),
        revision INTEGER NOT NULL,
        state TEXT,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE model_versions (
        alias TEXT NOT NULL REFERENCES model_aliases(name) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        spec TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT,
        PRIMARY KEY (alias, version)
      );
      CREATE TRIGGER model_versions_immutable BEFORE UPDATE ON model_versions
      BEGIN
        SELECT RAISE(ABORT, 'model versions are immutable');
      END;
      -- Which alias, version and arm answered a response, so that feedback on it counts for that arm.
      CREATE TABLE model_served_responses (
        response_id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        alias TEXT NOT NULL,
        version INTEGER NOT NULL,
        revision INTEGER NOT NULL,
        arm TEXT NOT NULL,
        created_at TEXT NOT NULL,
        -- The served user's thumbs (up/down) on it, and what they wrote.
        feedback TEXT CHECK (feedback IN ('up', 'down')),
        feedback_comment TEXT,
        feedback_at TEXT
      );
      CREATE INDEX model_served_responses_created ON model_served_responses(created_at);
    `,
  },
  {
    version: 23,
    name: 'the model an API key pins',
    sql: `
      -- A catalog model or alias used when a request names none; an alias version (name@3) also
      -- replaces that alias named without a version.
      ALTER TABLE api_keys ADD COLUMN model TEXT;
    `,
  },
  {
    version: 24,
    name: 'the worker holding a running ingest job, and until when',
    sql: `
      -- A running job belongs to its worker while the lease is renewed; one whose lease has lapsed
      -- (its worker died) is taken again. Jobs running before this migration have none: they are.
      ALTER TABLE ingest_jobs ADD COLUMN worker_id TEXT;
      ALTER TABLE ingest_jobs ADD COLUMN lease_expires_at TEXT;
    `,
  },
  {
    version: 25,
    name: 'whom each served response answered: the web chat or a program through /v1',
    sql: `
      -- The feedback dashboard's source. Responses served before this are the web chat's when a
      -- message of their id still exists, a program's otherwise.
      ALTER TABLE model_served_responses ADD COLUMN source TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('web', 'api'));
      UPDATE model_served_responses SET source = 'web'
        WHERE EXISTS (SELECT 1 FROM messages m WHERE m.id = model_served_responses.response_id);
    `,
  },
];
