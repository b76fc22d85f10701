import { randomUUID } from 'node:crypto';
import type {
  Collection,
  CollectionAccess,
  CollectionRole,
  DocumentInfo,
  DocumentMetadata,
  DocumentStatus,
  SearchFilters,
} from '@axon/contracts';
import type Database from 'better-sqlite3';
import { AppError } from '../../errors';
import { STOPWORDS } from '../../providers/extractive-ranker';
import { reciprocalRankFusion } from '../../rag/search/hybrid-search';
import { isActiveFilter, metadataMatches } from '../../rag/search/search-filters';
import type {
  CollectionRecord,
  CollectionRepository,
  DocumentRecord,
  DocumentRepository,
  IngestJobRepository,
  ScoredChunk,
  SearchIndex,
} from '../rag-store';
import { createSearchMirror } from './sqlite-search-mirror';

type Row = Record<string, unknown>;

const toCollection = (row: Row): CollectionRecord => ({
  id: row.id as string,
  name: row.name as string,
  description: row.description as string,
  ownerId: row.owner_id as string,
  visibility: row.visibility as Collection['visibility'],
  organisationRole: row.organisation_role as CollectionRole,
  topK: row.top_k as number,
  minScore: row.min_score as number,
  mmr: row.mmr === 1,
  rerank: row.rerank === 1,
  createdAt: row.created_at as string,
  updatedAt: row.updated_at as string,
});

const toDocument = (row: Row): DocumentRecord => ({
  id: row.id as string,
  collectionId: row.collection_id as string,
  name: row.name as string,
  mime: row.mime as string,
  size: row.size as number,
  sha256: row.sha256 as string,
  status: row.status as DocumentStatus,
  error: (row.error as string | null) ?? null,
  pages: (row.pages as number | null) ?? null,
  chars: (row.chars as number | null) ?? null,
  chunkCount: row.chunk_count as number,
  date: (row.doc_date as string | null) ?? null,
  dateSource: (row.date_source as DocumentInfo['dateSource']) ?? null,
  metadata: JSON.parse((row.metadata as string | null) ?? '{}') as DocumentMetadata,
  createdBy: (row.created_by as string | null) ?? null,
  createdAt: row.created_at as string,
  updatedAt: row.updated_at as string,
});

/** A chunk row (joined with its document's name) as a search hit with `score`. */
const toScoredChunk = (r: Row, score: number): ScoredChunk => ({
  chunkId: r.chunk_id as string,
  documentId: r.document_id as string,
  documentName: r.document_name as string,
  collectionId: r.collection_id as string,
  text: r.text as string,
  page: (r.page as number | null) ?? null,
  section: (r.section as string | null) ?? null,
  startOffset: r.start_offset as number,
  endOffset: r.end_offset as number,
  documentDate: (r.document_date as string | null) ?? null,
  score,
});

/**
 * The access rule, as SQL over `c` (collections) for the user bound as :user. The search and every
 * listing use this one expression, so what a user may read is decided in one place, in the query.
 * Nothing outside the user's organisation is ever readable.
 */
const SAME_ORG_SQL = 'c.org_id = (SELECT u.org_id FROM users u WHERE u.id = :user)';
const ACCESS_SQL = `CASE
  WHEN NOT ${SAME_ORG_SQL} THEN NULL
  WHEN c.owner_id = :user THEN 'owner'
  WHEN (SELECT role FROM collection_members m WHERE m.collection_id = c.id AND m.user_id = :user) = 'editor' THEN 'editor'
  WHEN c.visibility = 'organisation' AND c.organisation_role = 'editor' THEN 'editor'
  WHEN EXISTS (SELECT 1 FROM collection_members m WHERE m.collection_id = c.id AND m.user_id = :user) THEN 'viewer'
  WHEN c.visibility = 'organisation' THEN 'viewer'
END`;
const READABLE_SQL = `(${SAME_ORG_SQL} AND (c.owner_id = :user OR c.visibility = 'organisation' OR EXISTS (SELECT 1 FROM collection_members m WHERE m.collection_id = c.id AND m.user_id = :user)))`;

/**
 * Turns free text into an FTS5 query: every content word as a quoted term, OR-ed (BM25 ranks by how
 * many match and how rare they are). A word the text repeats is repeated in the query (FTS5 scores
 * each phrase of the query), up to three times, as the memory index weighs query terms. Function
 * words are left out: they match nearly every chunk and only slow the ranking down.
 */
export function toFtsQuery(text: string): string | undefined {
  const words = (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((t) => t.length > 1 || /\d/.test(t));
  const content = words.filter((t) => !STOPWORDS.has(t));
  const counts = new Map<string, number>();
  for (const word of content.length > 0 ? content : words) counts.set(word, (counts.get(word) ?? 0) + 1);
  const terms = [...counts].slice(0, 256).flatMap(([word, n]) => Array.from({ length: Math.min(3, n) }, () => `"${word}"`));
  return terms.length ? terms.join(' OR ') : undefined;
}

export function createSqliteRagRepositories(db: Database.Database, now: () => Date, options: { memoryIndex?: boolean } = {}) {
  const iso = () => now().toISOString();
  const collectionColumns = `c.*, ${ACCESS_SQL} AS access, (SELECT count(*) FROM documents d WHERE d.collection_id = c.id) AS document_count`;
  const withAccess = (row: Row): Collection => ({
    ...toCollection(row),
    access: row.access as CollectionAccess,
    documentCount: row.document_count as number,
  });

  const collections: CollectionRepository = {
    async create({ ownerId, name, description = '', visibility = 'private', organisationRole = 'viewer' }) {
      const id = randomUUID();
      const at = iso();
      try {
        db.prepare(
          `INSERT INTO collections (id, owner_id, name, description, visibility, organisation_role, created_at, updated_at, org_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, (SELECT org_id FROM users WHERE id = ?))`,
        ).run(id, ownerId, name, description, visibility, organisationRole, at, at, ownerId);
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
          throw new AppError('conflict', { detail: `You already have a collection named "${name}".` });
        throw error;
      }
      return toCollection(db.prepare('SELECT * FROM collections WHERE id = ?').get(id) as Row);
    },
    async findByName(ownerId, name) {
      const row = db.prepare('SELECT * FROM collections WHERE owner_id = ? AND name = ?').get(ownerId, name) as Row | undefined;
      return row && toCollection(row);
    },
    async getForUser(id, userId) {
      const row = db
        .prepare(`SELECT ${collectionColumns} FROM collections c WHERE c.id = :id AND ${READABLE_SQL}`)
        .get({ id, user: userId }) as Row | undefined;
      return row && withAccess(row);
    },
    async listForUser(userId) {
      return (
        db.prepare(`SELECT ${collectionColumns} FROM collections c WHERE ${READABLE_SQL} ORDER BY c.name`).all({ user: userId }) as Row[]
      ).map(withAccess);
    },
    async update(id, patch) {
      const columns: Record<string, string> = {
        name: 'name',
        description: 'description',
        visibility: 'visibility',
        organisationRole: 'organisation_role',
        topK: 'top_k',
        minScore: 'min_score',
        mmr: 'mmr',
        rerank: 'rerank',
      };
      const sets: string[] = [];
      const params: unknown[] = [];
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined || !columns[key]) continue;
        sets.push(`${columns[key]} = ?`);
        params.push(typeof value === 'boolean' ? Number(value) : value);
      }
      sets.push('updated_at = ?');
      params.push(iso());
      try {
        db.prepare(`UPDATE collections SET ${sets.join(', ')} WHERE id = ?`).run(...params, id);
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
          throw new AppError('conflict', { detail: `You already have a collection named "${patch.name}".` });
        throw error;
      }
    },
    async delete(id) {
      db.prepare('DELETE FROM collections WHERE id = ?').run(id);
    },
    async setMembers(id, members) {
      db.transaction(() => {
        db.prepare('DELETE FROM collection_members WHERE collection_id = ?').run(id);
        const insert = db.prepare('INSERT INTO collection_members (collection_id, user_id, role) VALUES (?, ?, ?)');
        for (const m of members) insert.run(id, m.userId, m.role);
      })();
    },
    async listMembers(id) {
      return (
        db
          .prepare(
            'SELECT m.user_id, u.email, m.role FROM collection_members m JOIN users u ON u.id = m.user_id WHERE m.collection_id = ? ORDER BY u.email',
          )
          .all(id) as Row[]
      ).map((r) => ({ userId: r.user_id as string, email: r.email as string, role: r.role as CollectionRole }));
    },
    async getEmbedding(id) {
      const row = db.prepare('SELECT embedding_model, embedding_dimensions FROM collections WHERE id = ?').get(id) as Row | undefined;
      return { model: (row?.embedding_model as string | null) ?? null, dimensions: (row?.embedding_dimensions as number | null) ?? null };
    },
    async setEmbedding(id, model, dimensions) {
      db.prepare('UPDATE collections SET embedding_model = ?, embedding_dimensions = ? WHERE id = ?').run(model, dimensions, id);
    },
    async listNeedingEmbedding(model) {
      return (
        db
          .prepare(
            'SELECT c.id FROM collections c WHERE (c.embedding_model IS NULL OR c.embedding_model != ?) AND EXISTS (SELECT 1 FROM documents d WHERE d.collection_id = c.id)',
          )
          .all(model) as Row[]
      ).map((r) => r.id as string);
    },
    async readableIds(userId, ids) {
      if (ids.length === 0) return [];
      const rows = db
        .prepare(`SELECT c.id FROM collections c, json_each(:ids) j WHERE c.id = j.value AND ${READABLE_SQL}`)
        .all({ user: userId, ids: JSON.stringify(ids) }) as Row[];
      return rows.map((r) => r.id as string);
    },
  };

  const documents: DocumentRepository = {
    async create({ id = randomUUID(), collectionId, name, mime, size, sha256, createdBy }) {
      const existing = db.prepare('SELECT * FROM documents WHERE collection_id = ? AND sha256 = ?').get(collectionId, sha256) as
        | Row
        | undefined;
      if (existing) return { document: toDocument(existing), created: false };
      const at = iso();
      db.prepare(
        "INSERT INTO documents (id, collection_id, name, mime, size, sha256, status, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
      ).run(id, collectionId, name, mime, size, sha256, createdBy, at, at);
      return { document: toDocument(db.prepare('SELECT * FROM documents WHERE id = ?').get(id) as Row), created: true };
    },
    async get(id) {
      const row = db.prepare('SELECT * FROM documents WHERE id = ?').get(id) as Row | undefined;
      return row && toDocument(row);
    },
    async listChunks(documentId) {
      const rows = db
        .prepare(
          `SELECT ch.id AS chunk_id, ch.document_id, d.name AS document_name, d.doc_date AS document_date, ch.collection_id, ch.text, ch.page, ch.section, ch.start_offset, ch.end_offset
           FROM chunks ch JOIN documents d ON d.id = ch.document_id WHERE ch.document_id = ? ORDER BY ch.ordinal`,
        )
        .all(documentId) as Row[];
      return rows.map((r) => toScoredChunk(r, 0));
    },
    async listByCollection(collectionId) {
      return (db.prepare('SELECT * FROM documents WHERE collection_id = ? ORDER BY created_at DESC, name').all(collectionId) as Row[]).map(
        toDocument,
      );
    },
    async setStatus(id, status, details = {}) {
      const sets = ['status = ?', 'updated_at = ?'];
      const params: unknown[] = [status, iso()];
      if (details.error !== undefined) {
        sets.push('error = ?');
        params.push(details.error);
      }
      if (details.pages !== undefined) {
        sets.push('pages = ?');
        params.push(details.pages);
      }
      if (details.chars !== undefined) {
        sets.push('chars = ?');
        params.push(details.chars);
      }
      if (details.chunkCount !== undefined) {
        sets.push('chunk_count = ?');
        params.push(details.chunkCount);
      }
      db.prepare(`UPDATE documents SET ${sets.join(', ')} WHERE id = ?`).run(...params, id);
    },
    async delete(id) {
      db.transaction(() => {
        deleteVectors(id);
        db.prepare('DELETE FROM chunks WHERE document_id = ?').run(id);
        db.prepare('DELETE FROM documents WHERE id = ?').run(id);
      })();
    },
    async saveText(id, text) {
      db.prepare(
        'INSERT INTO document_texts (document_id, text) VALUES (?, ?) ON CONFLICT(document_id) DO UPDATE SET text = excluded.text',
      ).run(id, text);
    },
    async describe(id, { date, metadata }) {
      if (date) {
        // A date found while indexing does not replace one set by hand.
        const where = date.source === 'manual' ? 'id = ?' : "id = ? AND (date_source IS NULL OR date_source != 'manual')";
        db.prepare(`UPDATE documents SET doc_date = ?, date_source = ?, updated_at = ? WHERE ${where}`).run(
          date.value,
          date.value === null ? null : date.source,
          iso(),
          id,
        );
      }
      if (metadata) db.prepare('UPDATE documents SET metadata = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(metadata), iso(), id);
    },
    async getText(id) {
      return (db.prepare('SELECT text FROM document_texts WHERE document_id = ?').get(id) as Row | undefined)?.text as string | undefined;
    },
  };

  // Vectors live in a plain table (float32 blobs, one row per chunk, removed with their chunk): point
  // reads for re-scoring are B-tree lookups, and sqlite-vec's distance functions work on the blobs.
  const deleteVectors = (documentId: string) => {
    db.prepare('DELETE FROM chunk_embeddings WHERE chunk_rowid IN (SELECT rowid FROM chunks WHERE document_id = ?)').run(documentId);
  };
  const distanceTo = db.prepare('SELECT vec_distance_cosine(embedding, ?) FROM chunk_embeddings WHERE chunk_rowid = ?').pluck();
  const allowedDistances = db.prepare(
    `SELECT e.chunk_rowid AS rowid, vec_distance_cosine(e.embedding, :q) AS distance FROM chunk_embeddings e, json_each(:rows) j
     WHERE e.chunk_rowid = j.value AND e.dimensions = :dimensions ORDER BY distance LIMIT :k`,
  );
  /** Exact nearest chunks among the rows a filter lets through (few, so scored in SQLite directly). */
  const filteredVectorHits = (vector: number[], allowed: Set<number>, k: number) =>
    (
      allowedDistances.all({
        q: Buffer.from(new Float32Array(vector).buffer),
        rows: JSON.stringify([...allowed]),
        dimensions: vector.length,
        k,
      }) as Row[]
    ).map((r) => ({ rowid: r.rowid as number, score: 1 - (r.distance as number) }));
  /** int8 candidates from memory, re-scored against the stored floats: the order of exact search. */
  const vectorHits = (from: NonNullable<typeof mirror>, vector: number[], readable: string[], k: number, allowed?: Set<number>) => {
    if (allowed) return filteredVectorHits(vector, allowed, k);
    const query = Buffer.from(new Float32Array(vector).buffer);
    return from
      .searchVector(vector, readable, Math.max(40, k * 4))
      .map((c) => ({ rowid: c.rowid, score: 1 - (distanceTo.get(query, c.rowid) as number) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, k);
  };

  // Searches run on in-memory indexes mirroring the tables (see sqlite-search-mirror.ts); with
  // `memoryIndex: false` they run in SQLite itself (FTS5 and sqlite-vec), with the same results up
  // to BM25 variant and ties.
  const mirror = options.memoryIndex === false ? undefined : createSearchMirror(db);
  const readableIds = (userId: string, collectionIds: string[]) =>
    (
      db
        .prepare(`SELECT c.id FROM collections c, json_each(:ids) j WHERE c.id = j.value AND ${READABLE_SQL}`)
        .all({ user: userId, ids: JSON.stringify(collectionIds) }) as Row[]
    ).map((r) => r.id as string);
  const datedDocuments = db.prepare(
    `SELECT d.id, d.metadata FROM documents d, json_each(:ids) j WHERE d.collection_id = j.value
       AND (:from IS NULL OR d.doc_date >= :from) AND (:to IS NULL OR d.doc_date <= :to)`,
  );
  const chunkRowsOf = db.prepare('SELECT ch.rowid FROM chunks ch, json_each(:documents) j WHERE ch.document_id = j.value').pluck();
  /**
   * The chunk rows of readable collections whose documents pass the filter, or undefined when it
   * restricts nothing. Searches then score only these rows (dates and metadata are per document).
   */
  const filteredRows = (readable: string[], filter: SearchFilters | undefined): Set<number> | undefined => {
    if (!isActiveFilter(filter)) return undefined;
    const documents = (
      datedDocuments.all({ ids: JSON.stringify(readable), from: filter.dateFrom ?? null, to: filter.dateTo ?? null }) as Row[]
    )
      .filter((d) => metadataMatches(JSON.parse(d.metadata as string) as DocumentMetadata, filter.metadata))
      .map((d) => d.id as string);
    return new Set(chunkRowsOf.all({ documents: JSON.stringify(documents) }) as number[]);
  };
  const chunkDetails = db.prepare(
    `SELECT ch.id AS chunk_id, ch.document_id, d.name AS document_name, d.doc_date AS document_date, ch.collection_id, ch.text, ch.page, ch.section, ch.start_offset, ch.end_offset
     FROM chunks ch JOIN documents d ON d.id = ch.document_id WHERE ch.rowid = ?`,
  );
  const withDetails = (hits: Array<{ rowid: number; score: number }>) =>
    hits.flatMap((hit) => {
      const row = chunkDetails.get(hit.rowid) as Row | undefined;
      return row ? [toScoredChunk(row, hit.score)] : [];
    });

  const insertChunk = db.prepare(
    'INSERT INTO chunks (id, document_id, collection_id, ordinal, text, page, section, start_offset, end_offset, token_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const searchIndex: SearchIndex = {
    async warm() {
      mirror?.sync();
    },
    async replaceChunks(document, chunks) {
      db.transaction(() => {
        deleteVectors(document.id);
        db.prepare('DELETE FROM chunks WHERE document_id = ?').run(document.id);
        for (const c of chunks) {
          insertChunk.run(
            randomUUID(),
            document.id,
            document.collectionId,
            c.ordinal,
            c.text,
            c.page ?? null,
            c.section ?? null,
            c.startOffset,
            c.endOffset,
            c.tokenCount,
          );
        }
      })();
    },
    async deleteDocument(documentId) {
      db.transaction(() => {
        deleteVectors(documentId);
        db.prepare('DELETE FROM chunks WHERE document_id = ?').run(documentId);
      })();
    },
    async upsertVectors(documentId, vectors) {
      if (vectors.length === 0) return;
      const rows = db.prepare('SELECT rowid, collection_id FROM chunks WHERE document_id = ? ORDER BY ordinal').all(documentId) as Row[];
      db.transaction(() => {
        deleteVectors(documentId);
        const insert = db.prepare('INSERT INTO chunk_embeddings (chunk_rowid, collection_id, dimensions, embedding) VALUES (?, ?, ?, ?)');
        const logged = db.prepare("INSERT INTO index_changes (chunk_rowid, kind) VALUES (?, 'vector')");
        rows.forEach((row, i) => {
          const vector = vectors[i];
          if (!vector) return;
          insert.run(row.rowid, row.collection_id, vector.length, Buffer.from(new Float32Array(vector).buffer));
          logged.run(row.rowid);
        });
      })();
    },
    async searchVector(vector, { userId, collectionIds, k, filter }) {
      if (collectionIds.length === 0) return [];
      const query = Buffer.from(new Float32Array(vector).buffer);
      const readable = readableIds(userId, collectionIds);
      const allowed = filteredRows(readable, filter);
      if (allowed) return withDetails(filteredVectorHits(vector, allowed, k));
      if (mirror) return withDetails(vectorHits(mirror, vector, readable, k));
      // Exact search in SQLite: sqlite-vec's distance over the collection's vectors of this size.
      const knn = db.prepare(
        `SELECT chunk_rowid, vec_distance_cosine(embedding, :q) AS distance FROM chunk_embeddings
         WHERE collection_id = :collection AND dimensions = :dimensions ORDER BY distance LIMIT :k`,
      );
      const hits = readable.flatMap((id) => knn.all({ q: query, k, collection: id, dimensions: vector.length }) as Row[]);
      hits.sort((a, b) => (a.distance as number) - (b.distance as number));
      return withDetails(hits.slice(0, k).map((hit) => ({ rowid: hit.chunk_rowid as number, score: 1 - (hit.distance as number) })));
    },
    async searchFused(query, vector, { userId, collectionIds, k, depth, filter }) {
      if (!mirror) {
        const [text, vectors] = [
          await searchIndex.searchText(query, { userId, collectionIds, k: depth, filter }),
          await searchIndex.searchVector(vector, { userId, collectionIds, k: depth, filter }),
        ];
        return reciprocalRankFusion([text, vectors], (hit) => hit.chunkId, k);
      }
      if (collectionIds.length === 0) return [];
      const readable = readableIds(userId, collectionIds);
      const allowed = filteredRows(readable, filter);
      const fused = reciprocalRankFusion(
        [mirror.searchText(query, readable, depth, allowed), vectorHits(mirror, vector, readable, depth, allowed)],
        (hit) => hit.rowid,
        k,
      );
      return withDetails(fused);
    },
    async searchText(query, { userId, collectionIds, k, filter }) {
      if (collectionIds.length === 0) return [];
      if (mirror) {
        const readable = readableIds(userId, collectionIds);
        return withDetails(mirror.searchText(query, readable, k, filteredRows(readable, filter)));
      }
      const match = toFtsQuery(query);
      if (!match) return [];
      const allowed = filteredRows(readableIds(userId, collectionIds), filter);
      // Rank inside the index, over the chunks of readable collections only (the permission rule is
      // the subquery), then fetch the details of the k best. One ranking over any term: a pass over
      // chunks holding every term first would favour the few chunks that happen to hold all the
      // words of a long question over the ones BM25 ranks best.
      const search = db.prepare(
        `WITH ranked AS (
           SELECT rowid, bm25(chunks_fts, 1.0, 0.3) AS rank FROM chunks_fts
           WHERE chunks_fts MATCH :match
             AND collection_id IN (SELECT c.id FROM collections c, json_each(:ids) j WHERE c.id = j.value AND ${READABLE_SQL})
             ${allowed ? 'AND rowid IN (SELECT value FROM json_each(:rows))' : ''}
           ORDER BY rank LIMIT :k
         )
         SELECT ch.id AS chunk_id, ch.document_id, d.name AS document_name, d.doc_date AS document_date, ch.collection_id, ch.text, ch.page, ch.section, ch.start_offset, ch.end_offset, -ranked.rank AS score
         FROM ranked JOIN chunks ch ON ch.rowid = ranked.rowid JOIN documents d ON d.id = ch.document_id
         ORDER BY ranked.rank`,
      );
      const rows = search.all({
        ids: JSON.stringify(collectionIds),
        user: userId,
        k,
        match,
        ...(allowed ? { rows: JSON.stringify([...allowed]) } : {}),
      }) as Row[];
      return rows.map((r) => toScoredChunk(r, r.score as number));
    },
  };

  const ingestJobs: IngestJobRepository = {
    async enqueue(documentId) {
      const at = iso();
      db.prepare("INSERT INTO ingest_jobs (id, document_id, state, created_at, updated_at) VALUES (?, ?, 'queued', ?, ?)").run(
        randomUUID(),
        documentId,
        at,
        at,
      );
    },
    async claimNext({ workerId, leaseMs }) {
      // A job running under a lease that has lapsed was left by a worker that died: it is taken again.
      const at = now();
      const row = db
        .prepare(
          `UPDATE ingest_jobs SET state = 'running', attempts = attempts + 1, worker_id = ?, lease_expires_at = ?, updated_at = ?
           WHERE id = (
             SELECT id FROM ingest_jobs
             WHERE state = 'queued' OR (state = 'running' AND (lease_expires_at IS NULL OR lease_expires_at <= ?))
             ORDER BY created_at LIMIT 1
           )
           RETURNING id, document_id, attempts`,
        )
        .get(workerId, new Date(at.getTime() + leaseMs).toISOString(), at.toISOString(), at.toISOString()) as Row | undefined;
      return row && { id: row.id as string, documentId: row.document_id as string, attempts: row.attempts as number };
    },
    async renew(ids, { workerId, leaseMs }) {
      if (ids.length === 0) return;
      const at = now();
      db.prepare(
        `UPDATE ingest_jobs SET lease_expires_at = ?
         WHERE state = 'running' AND worker_id = ? AND id IN (SELECT value FROM json_each(?))`,
      ).run(new Date(at.getTime() + leaseMs).toISOString(), workerId, JSON.stringify(ids));
    },
    async finish(id, state) {
      db.prepare('UPDATE ingest_jobs SET state = ?, worker_id = NULL, lease_expires_at = NULL, updated_at = ? WHERE id = ?').run(
        state,
        iso(),
        id,
      );
    },
    async requeueExpired() {
      const at = iso();
      return db
        .prepare(
          `UPDATE ingest_jobs SET state = 'queued', worker_id = NULL, lease_expires_at = NULL, updated_at = ?
           WHERE state = 'running' AND (lease_expires_at IS NULL OR lease_expires_at <= ?)`,
        )
        .run(at, at).changes;
    },
  };

  return { collections, documents, searchIndex, ingestJobs };
}
