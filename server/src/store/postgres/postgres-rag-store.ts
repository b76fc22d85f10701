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
import type pg from 'pg';
import { AppError } from '../../errors';
import { reciprocalRankFusion } from '../../rag/search/hybrid-search';
import { B, K1, queryTermWeights } from '../../rag/search/memory-index';
import { isActiveFilter } from '../../rag/search/search-filters';
import { analyzeText } from '../../rag/search/text-analyzer';
import type {
  ChunkInput,
  CollectionRecord,
  CollectionRepository,
  DocumentRecord,
  DocumentRepository,
  IngestJobRepository,
  ScoredChunk,
  SearchIndex,
  SearchScope,
} from '../rag-store';
import { inTransaction } from './pg-pool';
import { createParams, isoOf, isUniqueViolation, type Sql, storableText } from './pg-values';

type Row = Record<string, unknown>;

export interface PostgresRagOptions {
  /**
   * Whether the database has pgvector (the vector migration applied; see {@link detectVectorSupport}).
   * Without it vectors are not stored, vector search finds nothing and hybrid search is full-text.
   */
  vectors: boolean;
  now?: (() => Date) | undefined;
  /**
   * What the HNSW indexes hold: `vector` (float32) or `halfvec` (float16: half the index size, about
   * the same recall). Vectors over 2,000 dimensions are indexed as `halfvec` either way (pgvector's
   * limit), and over 4,000 not at all (searched exactly).
   */
  vectorIndex?: 'vector' | 'halfvec' | undefined;
  /**
   * Candidates the HNSW search keeps (`hnsw.ef_search`); at least k are kept. By default 100 on a graph
   * of m ≥ 24 (the default build: recall@10 0.97 at 100k chunks) and 200 on a sparser one (an index
   * made before with m 16, ef_construction 64, which needs 200 for recall@10 0.97).
   */
  efSearch?: number | undefined;
  /** HNSW graph parameters of indexes made from now on (m 24, ef_construction 128 by default). */
  hnsw?: { m: number; efConstruction: number } | undefined;
  /**
   * Leave making the HNSW index to {@link ensureVectorIndex} instead of the first upsert of a size: for
   * bulk loads, where one build after loading is several times faster than growing the graph row by
   * row. Searches are exact until the index exists.
   */
  deferVectorIndex?: boolean | undefined;
}

/** Whether the vector migration is applied (the server has pgvector). */
export async function detectVectorSupport(sql: Sql): Promise<boolean> {
  const { rows } = await sql.query<{ ok: boolean }>("SELECT to_regclass('chunk_vectors') IS NOT NULL AS ok");
  return rows[0]?.ok === true;
}

const toCollection = (row: Row): CollectionRecord => ({
  id: row.id as string,
  name: row.name as string,
  description: row.description as string,
  ownerId: row.owner_id as string,
  visibility: row.visibility as Collection['visibility'],
  organisationRole: row.organisation_role as CollectionRole,
  topK: row.top_k as number,
  minScore: row.min_score as number,
  mmr: row.mmr === true,
  rerank: row.rerank === true,
  createdAt: isoOf(row.created_at),
  updatedAt: isoOf(row.updated_at),
});

/** A document's columns, its date as YYYY-MM-DD whatever the session's DateStyle. */
const DOCUMENT_COLUMNS = "d.*, to_char(d.doc_date, 'YYYY-MM-DD') AS date_text";

const toDocument = (row: Row): DocumentRecord => ({
  id: row.id as string,
  collectionId: row.collection_id as string,
  name: row.name as string,
  mime: row.mime as string,
  size: Number(row.size),
  sha256: row.sha256 as string,
  status: row.status as DocumentStatus,
  error: (row.error as string | null) ?? null,
  pages: (row.pages as number | null) ?? null,
  chars: (row.chars as number | null) ?? null,
  chunkCount: row.chunk_count as number,
  date: (row.date_text as string | null) ?? null,
  dateSource: (row.date_source as DocumentInfo['dateSource']) ?? null,
  metadata: (row.metadata ?? {}) as DocumentMetadata,
  createdBy: (row.created_by as string | null) ?? null,
  createdAt: isoOf(row.created_at),
  updatedAt: isoOf(row.updated_at),
});

const CHUNK_DETAILS = `ch.seq, ch.id AS chunk_id, ch.document_id, d.name AS document_name, to_char(d.doc_date, 'YYYY-MM-DD') AS document_date,
  ch.collection_id, ch.text, ch.page, ch.section, ch.start_offset, ch.end_offset`;

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
 * The access rule, as SQL over `c` (collections) for the user in placeholder `user`: the rule of the
 * SQLite store, word for word. The searches and every listing use it, so what a user may read is
 * decided in one place, in the query. Nothing outside the user's organisation is ever readable.
 */
const sameOrgSql = (user: string) => `c.org_id = (SELECT u.org_id FROM users u WHERE u.id = ${user})`;
const accessSql = (user: string) => `CASE
  WHEN NOT ${sameOrgSql(user)} THEN NULL
  WHEN c.owner_id = ${user} THEN 'owner'
  WHEN (SELECT role FROM collection_members m WHERE m.collection_id = c.id AND m.user_id = ${user}) = 'editor' THEN 'editor'
  WHEN c.visibility = 'organisation' AND c.organisation_role = 'editor' THEN 'editor'
  WHEN EXISTS (SELECT 1 FROM collection_members m WHERE m.collection_id = c.id AND m.user_id = ${user}) THEN 'viewer'
  WHEN c.visibility = 'organisation' THEN 'viewer'
END`;
const readableSql = (user: string) =>
  `(${sameOrgSql(user)} AND (c.owner_id = ${user} OR c.visibility = 'organisation' OR EXISTS (SELECT 1 FROM collection_members m WHERE m.collection_id = c.id AND m.user_id = ${user})))`;
/** The ids of the requested collections the user may read, as an array the planner evaluates once. */
const readableArraySql = (ids: string, user: string) =>
  `ARRAY(SELECT c.id FROM collections c WHERE c.id = ANY(${ids}::text[]) AND ${readableSql(user)})`;

/** Metadata as filters test it: each field a list of lower-cased texts, so that `@>` is the match. */
export function foldMetadata(metadata: DocumentMetadata): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(metadata).map(([key, value]) => [
      key,
      (Array.isArray(value) ? value : [value]).map((v) => storableText(v).toLowerCase()),
    ]),
  );
}

/**
 * The filter as a condition on documents `d`, or undefined when it restricts nothing: the rule of
 * `metadataMatches` (every field named; any of its wanted values, without regard to case) and the date
 * bounds (an undated document is outside any bound).
 */
function documentFilterSql(filter: SearchFilters | undefined, params: ReturnType<typeof createParams>): string | undefined {
  if (!isActiveFilter(filter)) return undefined;
  const parts: string[] = [];
  if (filter.dateFrom) parts.push(`d.doc_date >= ${params.add(filter.dateFrom)}::date`);
  if (filter.dateTo) parts.push(`d.doc_date <= ${params.add(filter.dateTo)}::date`);
  for (const [key, want] of Object.entries(filter.metadata ?? {})) {
    const values = (Array.isArray(want) ? want : [want]).map((v) => v.toLowerCase());
    if (values.length === 0) parts.push('false');
    else parts.push(`(${values.map((v) => `d.metadata_folded @> ${params.add(JSON.stringify({ [key]: [v] }))}::jsonb`).join(' OR ')})`);
  }
  return parts.join(' AND ');
}

/** pgvector's text form of a vector. */
const vectorLiteral = (vector: ArrayLike<number>) => `[${Array.from(vector, (x) => (Number.isFinite(x) ? x : 0)).join(',')}]`;

/** Holder of the lock under which HNSW indexes are made, so that replicas storing their first vectors at once make one. */
const VECTOR_INDEX_LOCK = 0x6178_7669; // "axvi"

interface Hit {
  seq: number;
  score: number;
}

/** A query term found in the collections searched: its BM25 weight w (see `queryTerms`) and document frequency. */
interface QueryTerm {
  term: string;
  df: number;
  w: number;
}

/** A query's terms, most weighty first, with BM25's length normalisation (see `queryTerms`). */
interface QueryTerms {
  terms: QueryTerm[];
  c1: number;
  c2: number;
}

/** How many chunks of the rarest query terms are scored in full to bound the k-th best score (MaxScore's start). */
const SEED_DEPTH = 100;

/** What an index lookup of one posting costs, in postings scored by a scan (measured at 100k chunks). */
const LOOKUP_COST = 5;
/** How much cheaper than the exhaustive search a pruned one must promise to be to be tried (its extra statements cost too). */
const PRUNING_GAIN = 0.7;
/** The share of that the best case (only the rarest terms essential) must promise for the bound to be sought at all. */
const SEED_GAIN = 0.5;

/** What scores are rounded to, so that they add up exactly (see `shareSql`). */
const SCORE_UNIT = 2 ** -36;

/**
 * Collections, documents, ingest jobs and the search index in PostgreSQL. Searches run in the
 * database (nothing is mirrored in the process): BM25 over `chunk_terms`, vectors through pgvector's
 * HNSW indexes, both with the permission rule and the filters in the query.
 */
export function createPostgresRagRepositories(pool: pg.Pool, options: PostgresRagOptions) {
  const now = options.now ?? (() => new Date());
  const iso = () => now().toISOString();
  const hnsw = options.hnsw ?? { m: 24, efConstruction: 128 };

  const collectionColumns = `c.*, ${accessSql('$1')} AS access, (SELECT count(*)::int FROM documents d WHERE d.collection_id = c.id) AS document_count`;
  const withAccess = (row: Row): Collection => ({
    ...toCollection(row),
    access: row.access as CollectionAccess,
    documentCount: row.document_count as number,
  });
  const conflict = (name: string | undefined) => new AppError('conflict', { detail: `You already have a collection named "${name}".` });

  const collections: CollectionRepository = {
    async create({ ownerId, name, description = '', visibility = 'private', organisationRole = 'viewer' }) {
      const at = iso();
      try {
        const { rows } = await pool.query(
          `INSERT INTO collections (id, owner_id, name, description, visibility, organisation_role, created_at, updated_at, org_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $7, (SELECT org_id FROM users WHERE id = $2)) RETURNING *`,
          [randomUUID(), ownerId, name, description, visibility, organisationRole, at],
        );
        return toCollection(rows[0] as Row);
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(name);
        throw error;
      }
    },
    async findByName(ownerId, name) {
      const { rows } = await pool.query('SELECT * FROM collections WHERE owner_id = $1 AND name = $2', [ownerId, name]);
      return rows[0] && toCollection(rows[0]);
    },
    async getForUser(id, userId) {
      const { rows } = await pool.query(`SELECT ${collectionColumns} FROM collections c WHERE c.id = $2 AND ${readableSql('$1')}`, [
        userId,
        id,
      ]);
      return rows[0] && withAccess(rows[0]);
    },
    async listForUser(userId) {
      const { rows } = await pool.query(
        `SELECT ${collectionColumns} FROM collections c WHERE ${readableSql('$1')} ORDER BY c.name COLLATE "C"`,
        [userId],
      );
      return rows.map(withAccess);
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
      const params = createParams();
      const sets: string[] = [];
      for (const [key, value] of Object.entries(patch)) {
        const column = columns[key];
        if (value === undefined || !column) continue;
        sets.push(`${column} = ${params.add(value)}`);
      }
      sets.push(`updated_at = ${params.add(iso())}`);
      try {
        await pool.query(`UPDATE collections SET ${sets.join(', ')} WHERE id = ${params.add(id)}`, params.values);
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(patch.name);
        throw error;
      }
    },
    async delete(id) {
      await pool.query('DELETE FROM collections WHERE id = $1', [id]);
    },
    async setMembers(id, members) {
      await inTransaction(pool, async (client) => {
        await client.query('DELETE FROM collection_members WHERE collection_id = $1', [id]);
        if (members.length === 0) return;
        await client.query(
          'INSERT INTO collection_members (collection_id, user_id, role) SELECT $1, * FROM unnest($2::text[], $3::text[]) ON CONFLICT DO NOTHING',
          [id, members.map((m) => m.userId), members.map((m) => m.role)],
        );
      });
    },
    async listMembers(id) {
      const { rows } = await pool.query(
        'SELECT m.user_id, u.email, m.role FROM collection_members m JOIN users u ON u.id = m.user_id WHERE m.collection_id = $1 ORDER BY u.email COLLATE "C"',
        [id],
      );
      return rows.map((r) => ({ userId: r.user_id as string, email: r.email as string, role: r.role as CollectionRole }));
    },
    async readableIds(userId, ids) {
      if (ids.length === 0) return [];
      const { rows } = await pool.query(
        `SELECT c.id FROM collections c WHERE c.id = ANY($2::text[]) AND ${readableSql('$1')} ORDER BY array_position($2::text[], c.id)`,
        [userId, ids],
      );
      return rows.map((r) => r.id as string);
    },
    async getEmbedding(id) {
      const { rows } = await pool.query('SELECT embedding_model, embedding_dimensions FROM collections WHERE id = $1', [id]);
      const row = rows[0];
      return { model: (row?.embedding_model as string | null) ?? null, dimensions: (row?.embedding_dimensions as number | null) ?? null };
    },
    async setEmbedding(id, model, dimensions) {
      await pool.query('UPDATE collections SET embedding_model = $1, embedding_dimensions = $2 WHERE id = $3', [model, dimensions, id]);
    },
    async listNeedingEmbedding(model) {
      const { rows } = await pool.query(
        `SELECT c.id FROM collections c WHERE (c.embedding_model IS NULL OR c.embedding_model != $1)
         AND EXISTS (SELECT 1 FROM documents d WHERE d.collection_id = c.id) ORDER BY c.created_at, c.id`,
        [model],
      );
      return rows.map((r) => r.id as string);
    },
  };

  const documentById = async (db: Sql, id: string) => {
    const { rows } = await db.query(`SELECT ${DOCUMENT_COLUMNS} FROM documents d WHERE d.id = $1`, [id]);
    return rows[0] && toDocument(rows[0]);
  };

  const documents: DocumentRepository = {
    async create({ id = randomUUID(), collectionId, name, mime, size, sha256, createdBy }) {
      const at = iso();
      // Of two uploads of the same bytes at once (two replicas), one inserts and the other finds it.
      const { rows } = await pool.query(
        `INSERT INTO documents (id, collection_id, name, mime, size, sha256, status, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $8) ON CONFLICT (collection_id, sha256) DO NOTHING RETURNING id`,
        [id, collectionId, storableText(name), mime, size, sha256, createdBy, at],
      );
      if (rows.length > 0) return { document: (await documentById(pool, id)) as DocumentRecord, created: true };
      const existing = await pool.query(`SELECT ${DOCUMENT_COLUMNS} FROM documents d WHERE d.collection_id = $1 AND d.sha256 = $2`, [
        collectionId,
        sha256,
      ]);
      return { document: toDocument(existing.rows[0] as Row), created: false };
    },
    async get(id) {
      return documentById(pool, id);
    },
    async listByCollection(collectionId) {
      const { rows } = await pool.query(
        `SELECT ${DOCUMENT_COLUMNS} FROM documents d WHERE d.collection_id = $1 ORDER BY d.created_at DESC, d.name COLLATE "C"`,
        [collectionId],
      );
      return rows.map(toDocument);
    },
    async listChunks(documentId) {
      const { rows } = await pool.query(
        `SELECT ${CHUNK_DETAILS} FROM chunks ch JOIN documents d ON d.id = ch.document_id WHERE ch.document_id = $1 ORDER BY ch.ordinal`,
        [documentId],
      );
      return rows.map((r) => toScoredChunk(r, 0));
    },
    async setStatus(id, status, details = {}) {
      const params = createParams();
      const sets = [`status = ${params.add(status)}`, `updated_at = ${params.add(iso())}`];
      if (details.error !== undefined) sets.push(`error = ${params.add(details.error === null ? null : storableText(details.error))}`);
      if (details.pages !== undefined) sets.push(`pages = ${params.add(details.pages)}`);
      if (details.chars !== undefined) sets.push(`chars = ${params.add(details.chars)}`);
      if (details.chunkCount !== undefined) sets.push(`chunk_count = ${params.add(details.chunkCount)}`);
      await pool.query(`UPDATE documents SET ${sets.join(', ')} WHERE id = ${params.add(id)}`, params.values);
    },
    async delete(id) {
      // Chunks, their postings and vectors, the text and the jobs go with it (foreign keys).
      await pool.query('DELETE FROM documents WHERE id = $1', [id]);
    },
    async saveText(id, text) {
      await pool.query(
        'INSERT INTO document_texts (document_id, text) VALUES ($1, $2) ON CONFLICT (document_id) DO UPDATE SET text = excluded.text',
        [id, storableText(text)],
      );
    },
    async describe(id, { date, metadata }) {
      if (date) {
        // A date found while indexing does not replace one set by hand.
        const guard = date.source === 'manual' ? '' : " AND (date_source IS NULL OR date_source != 'manual')";
        await pool.query(`UPDATE documents SET doc_date = $1::date, date_source = $2, updated_at = $3 WHERE id = $4${guard}`, [
          date.value,
          date.value === null ? null : date.source,
          iso(),
          id,
        ]);
      }
      if (metadata) {
        const stored = Object.fromEntries(
          Object.entries(metadata).map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => storableText(x)) : storableText(v)]),
        );
        await pool.query('UPDATE documents SET metadata = $1, metadata_folded = $2, updated_at = $3 WHERE id = $4', [
          JSON.stringify(stored),
          JSON.stringify(foldMetadata(metadata)),
          iso(),
          id,
        ]);
      }
    },
    async getText(id) {
      const { rows } = await pool.query('SELECT text FROM document_texts WHERE document_id = $1', [id]);
      return rows[0]?.text as string | undefined;
    },
  };

  /** The details of hits, in the hits' order. */
  const withDetails = async (hits: Hit[]): Promise<ScoredChunk[]> => {
    if (hits.length === 0) return [];
    const { rows } = await pool.query(
      `SELECT ${CHUNK_DETAILS} FROM chunks ch JOIN documents d ON d.id = ch.document_id WHERE ch.seq = ANY($1::bigint[])`,
      [hits.map((h) => h.seq)],
    );
    const bySeq = new Map(rows.map((r) => [Number(r.seq), r]));
    return hits.flatMap((hit) => {
      const row = bySeq.get(hit.seq);
      return row ? [toScoredChunk(row, hit.score)] : [];
    });
  };

  /** The readable collections of a search, as a CTE that every full-text statement starts with. */
  const readableCte = (ids: string, user: string) => `readable AS MATERIALIZED (SELECT unnest(${readableArraySql(ids, user)}) AS id)`;

  /**
   * A full-text statement: the readable collections, and the filter's condition on documents `d`
   * (undefined when it restricts nothing; its values are added to the parameters when asked for).
   */
  const textStatement = (
    { userId, collectionIds, filter }: SearchScope,
    build: (params: ReturnType<typeof createParams>, readable: string, where: () => string | undefined) => string,
  ) => {
    const params = createParams();
    const readable = readableCte(params.add(collectionIds), params.add(userId));
    return pool.query(
      build(params, readable, () => documentFilterSql(filter, params)),
      params.values,
    );
  };

  /**
   * The query's terms found in the readable collections, most weighty first, with what BM25 needs: w =
   * weight·idf·(k1 + 1), and c1 = k1·(1 − b) and c2 = k1·b / average length, so that a posting adds
   * w·tf / (tf + c1 + c2·length) to its chunk's score (less than w: each term adds less than its w to
   * any chunk). Document frequencies come from `collection_term_stats`, collection size and average
   * length from `collection_text_stats` (both kept by triggers): those of the collections searched.
   */
  const queryTerms = async (query: string, scope: SearchScope): Promise<QueryTerms | undefined> => {
    const weights = queryTermWeights(analyzeText(query));
    if (weights.size === 0 || scope.collectionIds.length === 0) return undefined;
    const { rows } = await textStatement(scope, (params, readable) => {
      const terms = params.add([...weights.keys()]);
      return `WITH ${readable},
         stats AS (
           SELECT coalesce(sum(s.chunks), 0)::float8 AS n, coalesce(sum(s.terms), 0)::float8 AS total
           FROM collection_text_stats s WHERE s.collection_id IN (SELECT id FROM readable)
         ),
         df AS (
           SELECT t.term, sum(t.chunks)::float8 AS df FROM collection_term_stats t
           WHERE t.collection_id IN (SELECT id FROM readable) AND t.term = ANY(${terms}::text[])
           GROUP BY t.term HAVING sum(t.chunks) > 0
         )
         SELECT q.term, f.df,
           q.weight * ln(1 + (s.n - f.df + 0.5) / (f.df + 0.5)) * ${K1 + 1}::float8 AS w,
           ${K1 * (1 - B)}::float8 AS c1,
           ${K1 * B}::float8 / CASE WHEN s.n > 0 AND s.total > 0 THEN s.total / s.n ELSE 1 END AS c2
         FROM unnest(${terms}::text[], ${params.add([...weights.values()])}::float8[]) AS q(term, weight)
         JOIN df f ON f.term = q.term CROSS JOIN stats s
         ORDER BY w DESC, q.term`;
    });
    const first = rows[0];
    if (!first) return undefined;
    return {
      terms: rows.map((r) => ({ term: r.term as string, df: Number(r.df), w: Number(r.w) })),
      c1: Number(first.c1),
      c2: Number(first.c2),
    };
  };

  /**
   * A posting's share of its chunk's score (postings `p` of a term of weight `w`), in SCORE_UNIT and
   * rounded to a whole number: sums of whole numbers are exact in float8 (below 2^53), whatever order
   * the rows come in, so that a chunk's score does not depend on the plan and chunks of equal score
   * are ordered by seq alike by every search.
   */
  const shareSql = (params: ReturnType<typeof createParams>, { c1, c2 }: QueryTerms, w: number, p = 'p') =>
    `round(${params.add(w / SCORE_UNIT)}::float8 * ${p}.tf / (${p}.tf + ${params.add(c1)}::float8 + ${params.add(c2)}::float8 * ${p}.chunk_length))`;

  /** The shares of every posting of `terms` in the readable collections (and the filter's documents), by index only. */
  const sharesSql = (params: ReturnType<typeof createParams>, query: QueryTerms, terms: QueryTerm[], filter: () => string | undefined) => {
    const where = filter();
    return `(${terms
      .map(
        (t) => `SELECT p.collection_id, p.chunk_seq, ${shareSql(params, query, t.w)} AS share FROM chunk_terms p
          WHERE p.collection_id = ANY(ARRAY(SELECT id FROM readable)) AND p.term = ${params.add(t.term)}`,
      )
      .join(' UNION ALL ')}) p
    ${
      where
        ? `WHERE p.chunk_seq IN (SELECT ch.seq FROM chunks ch JOIN documents d ON d.id = ch.document_id
             WHERE ch.collection_id IN (SELECT id FROM readable) AND ${where})`
        : ''
    }`;
  };

  /** BM25 by brute force: every posting of the query's terms scored and summed per chunk, the k best. */
  const scanTextHits = async (query: QueryTerms, scope: SearchScope): Promise<Hit[]> => {
    const { rows } = await textStatement(
      scope,
      (params, readable, where) =>
        `WITH ${readable}
         SELECT p.chunk_seq AS seq, sum(p.share) * ${SCORE_UNIT}::float8 AS score FROM ${sharesSql(params, query, query.terms, where)}
         GROUP BY p.chunk_seq ORDER BY score DESC, p.chunk_seq LIMIT ${params.add(scope.k)}`,
    );
    return rows.map((r) => ({ seq: Number(r.seq), score: Number(r.score) }));
  };

  /**
   * BM25 over the readable collections by brute force: every posting of the query's terms in the
   * readable collections scored and summed per chunk (index-only reads of `chunk_terms`). The same
   * formula and analyzer as the SQLite search, score for score. The reference {@link textHits} must
   * equal, and what it runs when pruning would not pay.
   */
  const exhaustiveTextHits = async (query: string, scope: SearchScope): Promise<Hit[]> => {
    if (scope.k <= 0) return [];
    const terms = await queryTerms(query, scope);
    return terms ? scanTextHits(terms, scope) : [];
  };

  /**
   * The chunks holding terms of `essential`, scored on those, and of them those whose score plus
   * `rest` reaches `bound`, completed with the `others` (one index lookup each in the primary key
   * (collection, term, chunk), index only): the k best by full score, or of the `depth` best on the
   * essential terms alone.
   */
  const completedTextHits = async (
    query: QueryTerms,
    scope: SearchScope,
    { essential, others, bound, rest, depth }: { essential: QueryTerm[]; others: QueryTerm[]; bound: number; rest: number; depth?: number },
  ): Promise<Hit[]> => {
    const { rows } = await textStatement(
      scope,
      (params, readable, where) =>
        `WITH ${readable},
         partial AS MATERIALIZED (
           SELECT p.collection_id, p.chunk_seq, sum(p.share) AS score FROM ${sharesSql(params, query, essential, where)}
           GROUP BY p.collection_id, p.chunk_seq
         ),
         candidates AS (
           SELECT * FROM partial WHERE score + ${params.add(rest / SCORE_UNIT)}::float8 >= ${params.add(bound / SCORE_UNIT)}::float8
           ${depth ? `ORDER BY score DESC, chunk_seq LIMIT ${params.add(depth)}` : ''}
         )
         SELECT c.chunk_seq AS seq, (c.score${others
           .map(
             (t) => ` + coalesce((SELECT ${shareSql(params, query, t.w, 'q')} FROM chunk_terms q
               WHERE q.collection_id = c.collection_id AND q.term = ${params.add(t.term)} AND q.chunk_seq = c.chunk_seq), 0)`,
           )
           .join('')}) * ${SCORE_UNIT}::float8 AS score
         FROM candidates c ORDER BY score DESC, seq LIMIT ${params.add(scope.k)}`,
    );
    return rows.map((r) => ({ seq: Number(r.seq), score: Number(r.score) }));
  };

  /**
   * The k best chunks by BM25, as {@link exhaustiveTextHits} finds them (the same chunks, order and
   * scores), without scoring every posting of common terms (MaxScore): each term adds less than its w
   * to a chunk, so when the terms of smallest w (the common ones, with the most postings) add up to
   * less than the k-th best score, a chunk holding none of the others cannot be among the k. Only the
   * postings of the others (the essential terms: rarer, fewer postings) are read; their chunks get the
   * common terms' shares by index lookups, and only those that could still reach the k-th best score.
   *
   * 1. The terms, their w and document frequencies.
   * 2. A lower bound of the k-th best score: the k-th best full score of the chunks that score best on
   *    the weightiest terms (those holding k chunks between them) alone.
   * 3. The essential terms: the fewest of largest w such that the others' w add up to less than that
   *    bound (with a margin for rounding).
   * 4. The chunks holding an essential term, scored on those, completed with the other terms when their
   *    score plus the others' w reaches the bound: their k best by full score.
   *
   * When that would read about as many postings as the exhaustive search (the terms are all common),
   * the exhaustive search is run instead.
   */
  const textHits = async (query: string, scope: SearchScope): Promise<Hit[]> => {
    if (scope.k <= 0) return [];
    const found = await queryTerms(query, scope);
    if (!found) return [];
    const { terms } = found;
    const { k } = scope;
    const sumOfW = (list: QueryTerm[]) => list.reduce((sum, t) => sum + t.w, 0);
    const postings = (list: QueryTerm[]) => list.reduce((sum, t) => sum + t.df, 0);
    // A margin for rounding: each share is within SCORE_UNIT / 2 of its value, a sum of w a few ulps off.
    const margin = (x: number) => x * (1 + 1e-9) + 1e-9;
    // What the pruned search costs, in postings scored, against the exhaustive one: the essential
    // terms' postings plus a lookup per other term for each (at most) of their chunks.
    const exhaustiveCost = postings(terms) * PRUNING_GAIN;
    const prunedCost = (essential: number) => postings(terms.slice(0, essential)) * (1 + LOOKUP_COST * (terms.length - essential));
    // 2.
    let seeds = 0;
    let seedCount = 0;
    while (seeds < k && seedCount < terms.length) seeds += (terms[seedCount++] as QueryTerm).df;
    if (seedCount === terms.length || prunedCost(seedCount) >= exhaustiveCost * SEED_GAIN) return scanTextHits(found, scope);
    const seed = await completedTextHits(found, scope, {
      essential: terms.slice(0, seedCount),
      others: terms.slice(seedCount),
      bound: 0,
      rest: 0,
      depth: SEED_DEPTH,
    });
    const bound = seed.length >= k ? (seed[k - 1] as Hit).score : 0;
    // 3.
    let essential = 1;
    while (essential < terms.length && !(margin(sumOfW(terms.slice(essential))) < bound)) essential++;
    if (essential === terms.length || prunedCost(essential) >= exhaustiveCost) return scanTextHits(found, scope);
    // 4.
    const others = terms.slice(essential);
    return completedTextHits(found, scope, {
      essential: terms.slice(0, essential),
      others,
      bound: bound - margin(0),
      rest: margin(sumOfW(others)),
    });
  };

  // Vectors. Each size has its own partial HNSW index over the cast column (pgvector's way of
  // indexing vectors of several sizes in one table); made when the first vector of that size is stored.
  const indexKind = (dimensions: number): 'vector' | 'halfvec' | undefined => {
    if (dimensions > 4000) return undefined;
    return options.vectorIndex === 'halfvec' || dimensions > 2000 ? 'halfvec' : 'vector';
  };
  const indexed = new Set<number>();
  const ensureVectorIndex = async (dimensions: number): Promise<void> => {
    if (!options.vectors || indexed.has(dimensions)) return;
    if (!Number.isInteger(dimensions) || dimensions < 1) throw new Error(`a vector size must be a whole number, not ${dimensions}`);
    const kind = indexKind(dimensions);
    if (kind) {
      const name = `chunk_vectors_hnsw_${kind}_${dimensions}`;
      const { rows } = await pool.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [name]);
      if (!rows[0]?.found) {
        await inTransaction(pool, async (client) => {
          await client.query('SELECT pg_advisory_xact_lock($1)', [VECTOR_INDEX_LOCK]);
          await client.query(
            `CREATE INDEX IF NOT EXISTS ${name} ON chunk_vectors USING hnsw ((embedding::${kind}(${dimensions})) ${kind}_cosine_ops)
             WITH (m = ${Math.trunc(hnsw.m)}, ef_construction = ${Math.trunc(hnsw.efConstruction)}) WHERE dimensions = ${dimensions}`,
          );
        });
      }
    }
    indexed.add(dimensions);
  };

  // Iterative index scans (pgvector 0.8) keep filtered searches at k results; older versions lack them.
  let iterativeScan: Promise<boolean> | undefined;
  const hasIterativeScan = () => {
    iterativeScan ??= pool
      .query<{ v: string | null }>("SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'")
      .then(({ rows }) => {
        const [major = 0, minor = 0] = (rows[0]?.v ?? '0.0').split('.').map(Number);
        return major > 0 || minor >= 8;
      });
    return iterativeScan;
  };

  // The ef_search an index needs, from the m it was built with (read once per index).
  const efSearchOf = new Map<string, Promise<number>>();
  const efSearchFor = (kind: 'vector' | 'halfvec', dimensions: number): Promise<number> => {
    if (options.efSearch !== undefined) return Promise.resolve(options.efSearch);
    const name = `chunk_vectors_hnsw_${kind}_${dimensions}`;
    let found = efSearchOf.get(name);
    if (!found) {
      found = pool
        .query<{ options: string[] | null }>('SELECT reloptions AS options FROM pg_class WHERE relname = $1', [name])
        .then(({ rows }) => {
          // No index yet (the search is exact): asked again once there is one.
          if (rows.length === 0) efSearchOf.delete(name);
          const m = Number(rows[0]?.options?.find((o) => o.startsWith('m='))?.slice(2) ?? 16);
          return m >= 24 ? 100 : 200;
        });
      found.catch(() => efSearchOf.delete(name));
      efSearchOf.set(name, found);
    }
    return found;
  };

  /**
   * The k nearest chunks by cosine among the readable collections (and the filter's documents). The
   * HNSW index is searched with the filters applied during the scan (iterative scan, so that enough
   * candidates pass them); when that finds fewer than k, the search is redone exactly.
   */
  const vectorHits = async (vector: number[], { userId, collectionIds, k, filter }: SearchScope): Promise<Hit[]> => {
    if (!options.vectors || collectionIds.length === 0 || k <= 0 || vector.length === 0) return [];
    const d = vector.length;
    const kind = indexKind(d);
    const iterative = await hasIterativeScan();
    const efSearch = kind ? await efSearchFor(kind, d) : 0;
    const run = async (exact: boolean) => {
      const params = createParams();
      const q = params.add(vectorLiteral(vector));
      const readable = readableArraySql(params.add(collectionIds), params.add(userId));
      const where = documentFilterSql(filter, params);
      const limit = params.add(k);
      // The index is used for the ordering only when it is written as its expression: cast to its type and size.
      const distance = exact || !kind ? `v.embedding <=> ${q}::vector` : `v.embedding::${kind}(${d}) <=> ${q}::${kind}(${d})`;
      const score = kind === 'halfvec' && !exact ? `v.embedding <=> ${q}::vector` : distance;
      const filterSql = !where
        ? ''
        : exact
          ? `AND v.document_id IN (SELECT d.id FROM documents d WHERE d.collection_id = ANY(${readable}) AND ${where})`
          : // A scalar subquery, not a join: it stays a filter of the index scan.
            `AND (SELECT ${where} FROM documents d WHERE d.id = v.document_id)`;
      const text = `SELECT v.chunk_seq AS seq, 1 - (${score}) AS score FROM chunk_vectors v
        WHERE v.dimensions = ${d} AND v.collection_id = ANY(${readable}) ${filterSql}
        ORDER BY ${distance} LIMIT ${limit}`;
      if (exact || !kind) {
        const { rows } = await pool.query(text, params.values);
        return rows;
      }
      return inTransaction(pool, async (client) => {
        await client.query(
          `SET LOCAL hnsw.ef_search = ${Math.min(1000, Math.max(efSearch, k))}${iterative ? '; SET LOCAL hnsw.iterative_scan = relaxed_order' : ''}`,
        );
        return (await client.query(text, params.values)).rows;
      });
    };
    let rows = await run(false);
    if (rows.length < k && kind) rows = await run(true);
    // A relaxed-order scan may return its last few slightly out of order.
    return rows.map((r) => ({ seq: Number(r.seq), score: Number(r.score) })).sort((a, b) => b.score - a.score || a.seq - b.seq);
  };

  const removeChunks = (db: Sql, documentId: string) => db.query('DELETE FROM chunks WHERE document_id = $1', [documentId]);

  const searchIndex: SearchIndex = {
    async warm() {
      // Nothing is held in memory: every search runs in the database.
    },
    async replaceChunks(document, chunks: ChunkInput[]) {
      const analyzed = chunks.map((c) => {
        const terms = analyzeText(`${c.text} ${c.section ?? ''}`);
        const counts = new Map<string, number>();
        for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
        return { length: terms.length, counts };
      });
      await inTransaction(pool, async (client) => {
        await removeChunks(client, document.id);
        if (chunks.length === 0) return;
        const { rows } = await client.query(
          `INSERT INTO chunks (id, document_id, collection_id, ordinal, text, page, section, start_offset, end_offset, token_count, term_count)
           SELECT c.id, $1, $2, c.ordinal, c.text, c.page, c.section, c.start_offset, c.end_offset, c.token_count, c.term_count
           FROM unnest($3::text[], $4::int[], $5::text[], $6::int[], $7::text[], $8::int[], $9::int[], $10::int[], $11::int[])
             AS c(id, ordinal, text, page, section, start_offset, end_offset, token_count, term_count)
           RETURNING seq, ordinal`,
          [
            document.id,
            document.collectionId,
            chunks.map(() => randomUUID()),
            chunks.map((c) => c.ordinal),
            chunks.map((c) => storableText(c.text)),
            chunks.map((c) => c.page ?? null),
            chunks.map((c) => (c.section === undefined ? null : storableText(c.section))),
            chunks.map((c) => c.startOffset),
            chunks.map((c) => c.endOffset),
            chunks.map((c) => c.tokenCount),
            analyzed.map((a) => a.length),
          ],
        );
        // RETURNING follows the input's order; chunks of one document may share an ordinal, so match by position.
        const seqs = rows.map((r) => Number(r.seq));
        const postings = { terms: [] as string[], seqs: [] as number[], tfs: [] as number[], lengths: [] as number[] };
        analyzed.forEach((a, i) => {
          for (const [term, tf] of a.counts) {
            postings.terms.push(term);
            postings.seqs.push(seqs[i] as number);
            postings.tfs.push(tf);
            postings.lengths.push(a.length);
          }
        });
        if (postings.terms.length === 0) return;
        await client.query(
          `INSERT INTO chunk_terms (collection_id, term, chunk_seq, tf, chunk_length)
           SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::int[], $5::int[])`,
          [document.collectionId, postings.terms, postings.seqs, postings.tfs, postings.lengths],
        );
      });
    },
    async deleteDocument(documentId) {
      await removeChunks(pool, documentId);
    },
    async upsertVectors(documentId, vectors) {
      if (!options.vectors || vectors.length === 0) return;
      if (!options.deferVectorIndex) for (const size of new Set(vectors.map((v) => v.length))) await ensureVectorIndex(size);
      await inTransaction(pool, async (client) => {
        await client.query('DELETE FROM chunk_vectors WHERE document_id = $1', [documentId]);
        // The i-th vector belongs to the i-th chunk in reading order (as the SQLite store pairs them).
        await client.query(
          `INSERT INTO chunk_vectors (chunk_seq, document_id, collection_id, dimensions, embedding)
           SELECT ch.seq, ch.document_id, ch.collection_id, v.dimensions, v.embedding::vector
           FROM (SELECT seq, document_id, collection_id, row_number() OVER (ORDER BY ordinal, seq) AS i FROM chunks WHERE document_id = $1) ch
           JOIN unnest($2::text[], $3::int[]) WITH ORDINALITY AS v(embedding, dimensions, i) ON v.i = ch.i`,
          [documentId, vectors.map(vectorLiteral), vectors.map((v) => v.length)],
        );
      });
    },
    async searchText(query, scope) {
      return withDetails(await textHits(query, scope));
    },
    async searchVector(vector, scope) {
      return withDetails(await vectorHits(vector, scope));
    },
    async searchFused(query, vector, { depth, k, ...scope }) {
      const [text, vectors] = await Promise.all([textHits(query, { ...scope, k: depth }), vectorHits(vector, { ...scope, k: depth })]);
      return withDetails(reciprocalRankFusion([text, vectors], (hit) => hit.seq, k));
    },
  };

  const ingestJobs: IngestJobRepository = {
    async enqueue(documentId) {
      const at = iso();
      await pool.query("INSERT INTO ingest_jobs (id, document_id, state, created_at, updated_at) VALUES ($1, $2, 'queued', $3, $3)", [
        randomUUID(),
        documentId,
        at,
      ]);
    },
    async claimNext({ workerId, leaseMs }) {
      // SKIP LOCKED: workers of several replicas polling at once each take a different job. A job
      // running under a lease that has lapsed was left by a worker that died, and is taken again.
      const at = now();
      const { rows } = await pool.query(
        `UPDATE ingest_jobs SET state = 'running', attempts = attempts + 1, worker_id = $1, lease_expires_at = $2, updated_at = $3
         WHERE id = (
           SELECT id FROM ingest_jobs
           WHERE state = 'queued' OR (state = 'running' AND (lease_expires_at IS NULL OR lease_expires_at <= $3))
           ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
         )
         RETURNING id, document_id, attempts`,
        [workerId, new Date(at.getTime() + leaseMs).toISOString(), at.toISOString()],
      );
      const row = rows[0];
      return row && { id: row.id as string, documentId: row.document_id as string, attempts: row.attempts as number };
    },
    async renew(ids, { workerId, leaseMs }) {
      if (ids.length === 0) return;
      await pool.query("UPDATE ingest_jobs SET lease_expires_at = $1 WHERE state = 'running' AND worker_id = $2 AND id = ANY($3::text[])", [
        new Date(now().getTime() + leaseMs).toISOString(),
        workerId,
        ids,
      ]);
    },
    async finish(id, state) {
      await pool.query('UPDATE ingest_jobs SET state = $1, worker_id = NULL, lease_expires_at = NULL, updated_at = $2 WHERE id = $3', [
        state,
        iso(),
        id,
      ]);
    },
    async requeueExpired() {
      // Other replicas may be working on jobs right now: only those whose lease has lapsed are put back.
      const at = iso();
      const result = await pool.query(
        `UPDATE ingest_jobs SET state = 'queued', worker_id = NULL, lease_expires_at = NULL, updated_at = $1
         WHERE state = 'running' AND (lease_expires_at IS NULL OR lease_expires_at <= $1)`,
        [at],
      );
      return result.rowCount ?? 0;
    },
  };

  return {
    collections,
    documents,
    ingestJobs,
    searchIndex,
    /** Whether vectors are stored and searched (pgvector is installed). */
    vectors: options.vectors,
    /** The k best chunks by BM25 (seq and score), as the full-text search finds them: pruned, exact. */
    textHits,
    /** The same by scoring every posting of the query's terms: the reference the pruned search must equal. */
    exhaustiveTextHits,
    /** Makes the HNSW index for vectors of that size now (e.g. at start, when the size is known), rather than at the first upsert. */
    ensureVectorIndex,
  };
}
