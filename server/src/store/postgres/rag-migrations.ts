import type { PgMigration } from './pg-migration';

/**
 * Collections, documents, chunks and their search index, ingest jobs, agents (versions 100–199): the
 * final shape of the SQLite tables of the same names, written for PostgreSQL.
 *
 * - Full-text search keeps its own inverted index, `chunk_terms`: one row per (chunk, term) with the
 *   term's frequency in the chunk and the chunk's length, written from Axon's text analyzer (the one
 *   the SQLite search uses). BM25 is computed from it in the query: the number and total length of
 *   chunks per collection are kept in `collection_text_stats` by triggers on `chunks`, and each term's
 *   document frequency per collection in `collection_term_stats` by triggers on `chunk_terms` (from
 *   version 104; before, a search counted them from the postings), so that any way a chunk goes (a
 *   re-index, a deleted document or collection) keeps them exact.
 * - Vectors need the pgvector extension: their table is an optional migration, so a server without it
 *   still migrates (and searches full-text only). HNSW indexes are made per vector size when the
 *   first vector of that size is stored (see postgres-rag-store.ts).
 * - Document dates are `DATE`; metadata is `JSONB`, with a folded copy (every value a list of
 *   lower-cased texts) that filters test by containment.
 */
export const RAG_MIGRATIONS: PgMigration[] = [
  {
    version: 100,
    name: 'collections and members, documents and their texts, chunks with their full-text index, ingest jobs',
    sql: `
      CREATE TABLE collections (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        visibility TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'organisation')),
        organisation_role TEXT NOT NULL DEFAULT 'viewer' CHECK (organisation_role IN ('viewer', 'editor')),
        top_k INTEGER NOT NULL DEFAULT 6,
        min_score DOUBLE PRECISION NOT NULL DEFAULT 0,
        mmr BOOLEAN NOT NULL DEFAULT false,
        rerank BOOLEAN NOT NULL DEFAULT false,
        embedding_model TEXT,
        embedding_dimensions INTEGER,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        UNIQUE (owner_id, name)
      );
      CREATE INDEX collections_org ON collections(org_id);
      CREATE TABLE collection_members (
        collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'editor')),
        PRIMARY KEY (collection_id, user_id)
      );
      CREATE INDEX collection_members_user ON collection_members(user_id);
      ALTER TABLE conversation_collections
        ADD CONSTRAINT conversation_collections_collection_fk FOREIGN KEY (collection_id) REFERENCES collections(id) ON DELETE CASCADE;

      CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        mime TEXT NOT NULL,
        size BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'parsing', 'chunking', 'indexing', 'ready', 'failed')),
        error TEXT,
        pages INTEGER,
        chars INTEGER,
        chunk_count INTEGER NOT NULL DEFAULT 0,
        -- The date the document is about, where it came from, and free metadata fields.
        doc_date DATE,
        date_source TEXT CHECK (date_source IN ('metadata', 'name', 'text', 'manual')),
        metadata JSONB NOT NULL DEFAULT '{}',
        -- The metadata as filters read it: each field a list of lower-cased texts.
        metadata_folded JSONB NOT NULL DEFAULT '{}',
        created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        UNIQUE (collection_id, sha256)
      );
      CREATE INDEX documents_collection ON documents(collection_id, created_at DESC);
      CREATE INDEX documents_date ON documents(collection_id, doc_date);
      CREATE INDEX documents_metadata ON documents USING gin (metadata_folded jsonb_path_ops);
      CREATE TABLE document_texts (
        document_id TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
        text TEXT NOT NULL
      );

      CREATE TABLE chunks (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        text TEXT NOT NULL,
        page INTEGER,
        section TEXT,
        start_offset INTEGER NOT NULL,
        end_offset INTEGER NOT NULL,
        token_count INTEGER NOT NULL,
        -- Terms of text and section as the analyzer finds them: the chunk's length for BM25.
        term_count INTEGER NOT NULL
      );
      CREATE INDEX chunks_document ON chunks(document_id, ordinal);
      CREATE INDEX chunks_collection ON chunks(collection_id);

      -- The inverted index: who holds each term, how often, and how long each holder is. Searches
      -- read the postings of the query's terms in the readable collections by index only.
      CREATE TABLE chunk_terms (
        collection_id TEXT NOT NULL,
        term TEXT NOT NULL,
        chunk_seq BIGINT NOT NULL REFERENCES chunks(seq) ON DELETE CASCADE,
        tf INTEGER NOT NULL,
        chunk_length INTEGER NOT NULL,
        PRIMARY KEY (collection_id, term, chunk_seq) INCLUDE (tf, chunk_length)
      );
      CREATE INDEX chunk_terms_chunk ON chunk_terms(chunk_seq);

      -- Chunks and terms per collection, for BM25's collection size and average length.
      CREATE TABLE collection_text_stats (
        collection_id TEXT PRIMARY KEY REFERENCES collections(id) ON DELETE CASCADE,
        chunks BIGINT NOT NULL DEFAULT 0,
        terms BIGINT NOT NULL DEFAULT 0
      );
      CREATE FUNCTION count_chunks_added() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO collection_text_stats AS s (collection_id, chunks, terms)
          SELECT collection_id, count(*), sum(term_count) FROM added_chunks GROUP BY collection_id ORDER BY collection_id
          ON CONFLICT (collection_id) DO UPDATE SET chunks = s.chunks + excluded.chunks, terms = s.terms + excluded.terms;
        RETURN NULL;
      END $$;
      CREATE FUNCTION count_chunks_removed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE collection_text_stats s SET chunks = s.chunks - r.chunks, terms = s.terms - r.terms
          FROM (SELECT collection_id, count(*) AS chunks, sum(term_count) AS terms FROM removed_chunks GROUP BY collection_id) r
          WHERE s.collection_id = r.collection_id;
        RETURN NULL;
      END $$;
      CREATE TRIGGER chunks_counted_in AFTER INSERT ON chunks REFERENCING NEW TABLE AS added_chunks
        FOR EACH STATEMENT EXECUTE FUNCTION count_chunks_added();
      CREATE TRIGGER chunks_counted_out AFTER DELETE ON chunks REFERENCING OLD TABLE AS removed_chunks
        FOR EACH STATEMENT EXECUTE FUNCTION count_chunks_removed();

      -- Workers of every replica take jobs with FOR UPDATE SKIP LOCKED.
      CREATE TABLE ingest_jobs (
        id TEXT PRIMARY KEY,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
      );
      CREATE INDEX ingest_jobs_state ON ingest_jobs(state, created_at);
    `,
  },
  {
    version: 101,
    name: 'vectors (pgvector)',
    // Without the extension on the server this is left out: search is full-text only until it is installed.
    optional: true,
    sql: `
      CREATE EXTENSION IF NOT EXISTS vector;
      -- One vector per chunk, of any size: each size gets its own partial HNSW index.
      CREATE TABLE chunk_vectors (
        chunk_seq BIGINT PRIMARY KEY REFERENCES chunks(seq) ON DELETE CASCADE,
        document_id TEXT NOT NULL,
        collection_id TEXT NOT NULL,
        dimensions INTEGER NOT NULL,
        embedding vector NOT NULL
      );
      CREATE INDEX chunk_vectors_collection ON chunk_vectors(collection_id, dimensions);
      CREATE INDEX chunk_vectors_document ON chunk_vectors(document_id);
    `,
  },
  {
    version: 102,
    name: 'agents with versions, MCP servers and their approved tools, tool approvals, datasets, fetch hosts',
    sql: `
      CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        slug TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        active_version INTEGER NOT NULL,
        created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        UNIQUE (org_id, slug)
      );
      CREATE TABLE agent_versions (
        agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        config JSONB NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
        created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (agent_id, version)
      );
      CREATE FUNCTION refuse_agent_version_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'agent versions are immutable';
      END $$;
      CREATE TRIGGER agent_versions_immutable BEFORE UPDATE ON agent_versions
        FOR EACH ROW EXECUTE FUNCTION refuse_agent_version_update();
      -- Registered by admins only; header values and environment hold secrets and are never returned.
      CREATE TABLE mcp_servers (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        transport TEXT NOT NULL CHECK (transport IN ('stdio', 'http')),
        command TEXT,
        args JSONB NOT NULL DEFAULT '[]',
        url TEXT,
        secrets JSONB NOT NULL DEFAULT '{}',
        last_error TEXT,
        created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
        created_at TIMESTAMPTZ NOT NULL,
        UNIQUE (org_id, name)
      );
      -- A tool runs only while its listed hash equals the hash an admin approved. Its input schema is
      -- JSON (not JSONB): kept as listed, key order included.
      CREATE TABLE mcp_tools (
        server_id TEXT NOT NULL REFERENCES mcp_servers(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        input_schema JSON NOT NULL,
        hash TEXT NOT NULL,
        approved_hash TEXT,
        approved_by TEXT,
        approved_at TIMESTAMPTZ,
        read_only BOOLEAN NOT NULL DEFAULT false,
        approval TEXT NOT NULL DEFAULT 'auto' CHECK (approval IN ('auto', 'always', 'never')),
        listed_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (server_id, name)
      );
      -- A tool call waiting for its user's decision; the first decision before expiry wins.
      CREATE TABLE tool_approvals (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        agent_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        input JSON NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        decided_at TIMESTAMPTZ
      );
      CREATE INDEX tool_approvals_user ON tool_approvals(user_id, status);
      -- Each dataset is a SQLite database of its own under the data directory, opened read-only.
      CREATE TABLE agent_datasets (
        org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        file TEXT NOT NULL,
        tables JSONB NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (org_id, name)
      );
      CREATE TABLE fetch_allow_hosts (
        org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        host TEXT NOT NULL,
        PRIMARY KEY (org_id, host)
      );
    `,
  },
  {
    version: 103,
    name: 'the worker holding a running ingest job, and until when',
    sql: `
      -- A running job belongs to its worker while the lease is renewed; one whose lease has lapsed
      -- (its worker died) is taken again. Jobs running before this migration have none: they are.
      ALTER TABLE ingest_jobs ADD COLUMN worker_id TEXT;
      ALTER TABLE ingest_jobs ADD COLUMN lease_expires_at TIMESTAMPTZ;
    `,
  },
  {
    version: 104,
    name: 'document frequencies per collection and term',
    sql: `
      -- Counts every posting: on a large index longer than a request's statement timeout.
      SET LOCAL statement_timeout = 0;
      -- How many chunks of a collection hold each term (BM25's document frequency), kept by triggers
      -- on chunk_terms so that a search reads it instead of counting postings.
      CREATE TABLE collection_term_stats (
        collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        term TEXT NOT NULL,
        chunks BIGINT NOT NULL,
        PRIMARY KEY (collection_id, term)
      );
      INSERT INTO collection_term_stats (collection_id, term, chunks)
        SELECT p.collection_id, p.term, count(*) FROM chunk_terms p JOIN collections c ON c.id = p.collection_id
        GROUP BY p.collection_id, p.term;
      -- Writers of a collection take its collection_text_stats row first (the chunks trigger does on
      -- insert; these do on delete), so that two writers never take term rows in opposite orders.
      CREATE FUNCTION count_terms_added() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO collection_term_stats AS s (collection_id, term, chunks)
          SELECT collection_id, term, count(*) FROM added_postings GROUP BY collection_id, term ORDER BY collection_id, term
          ON CONFLICT (collection_id, term) DO UPDATE SET chunks = s.chunks + excluded.chunks;
        RETURN NULL;
      END $$;
      CREATE FUNCTION count_terms_removed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM 1 FROM collection_text_stats s WHERE s.collection_id IN (SELECT collection_id FROM removed_postings)
          ORDER BY s.collection_id FOR UPDATE;
        IF NOT FOUND THEN RETURN NULL; END IF;
        UPDATE collection_term_stats s SET chunks = s.chunks - r.chunks
          FROM (SELECT collection_id, term, count(*) AS chunks FROM removed_postings GROUP BY collection_id, term) r
          WHERE s.collection_id = r.collection_id AND s.term = r.term;
        RETURN NULL;
      END $$;
      CREATE TRIGGER chunk_terms_counted_in AFTER INSERT ON chunk_terms REFERENCING NEW TABLE AS added_postings
        FOR EACH STATEMENT EXECUTE FUNCTION count_terms_added();
      CREATE TRIGGER chunk_terms_counted_out AFTER DELETE ON chunk_terms REFERENCING OLD TABLE AS removed_postings
        FOR EACH STATEMENT EXECUTE FUNCTION count_terms_removed();
    `,
  },
];
