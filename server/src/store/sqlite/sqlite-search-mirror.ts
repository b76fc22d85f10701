import type Database from 'better-sqlite3';
import { type IndexHit, TextIndex, VectorIndex } from '../../rag/search/memory-index';

type Row = Record<string, unknown>;

/** Change-log rows older than this are pruned when an index is built; a lagging reader rebuilds. */
const CHANGE_LOG_RETENTION_MS = 24 * 60 * 60 * 1000;

const floats = (blob: Buffer) => new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));

/**
 * The in-memory search indexes of one process, kept in step with the database through the
 * `index_changes` log (written by triggers on `chunks` and by vector upserts): before each search
 * the changes since the last one are applied, so writes of other processes on the same file (the
 * CLI ingesting while the server runs) are seen as well as this one's.
 */
export function createSearchMirror(db: Database.Database) {
  let text = new TextIndex();
  let vectors = new VectorIndex();
  let lastSeq = -1;
  const q = {
    maxSeq: db.prepare('SELECT coalesce(max(seq), 0) FROM index_changes').pluck(),
    changes: db.prepare('SELECT seq, chunk_rowid, kind FROM index_changes WHERE seq > ? ORDER BY seq LIMIT 5000'),
    prune: db.prepare('DELETE FROM index_changes WHERE seq <= ? AND created_at < ?'),
    chunk: db.prepare("SELECT collection_id, text || ' ' || coalesce(section, '') AS text FROM chunks WHERE rowid = ?"),
    chunks: db.prepare("SELECT rowid, collection_id, text || ' ' || coalesce(section, '') AS text FROM chunks"),
    vector: db.prepare('SELECT collection_id, embedding FROM chunk_embeddings WHERE chunk_rowid = ?'),
    vectors: db.prepare('SELECT chunk_rowid, collection_id, embedding FROM chunk_embeddings'),
  };

  const loadVector = (rowid: number) => {
    const row = q.vector.get(rowid) as Row | undefined;
    if (row) vectors.set(rowid, row.collection_id as string, floats(row.embedding as Buffer));
  };

  const build = () => {
    lastSeq = q.maxSeq.get() as number;
    for (const row of q.chunks.iterate() as Iterable<Row>) text.add(row.rowid as number, row.collection_id as string, row.text as string);
    for (const row of q.vectors.iterate() as Iterable<Row>) {
      vectors.set(row.chunk_rowid as number, row.collection_id as string, floats(row.embedding as Buffer));
    }
    q.prune.run(lastSeq, new Date(Date.now() - CHANGE_LOG_RETENTION_MS).toISOString());
  };

  /** Applies the changes since the last call (building the indexes on first use). */
  const sync = () => {
    if (lastSeq < 0) return build();
    for (;;) {
      const rows = q.changes.all(lastSeq) as Row[];
      if (rows.length === 0) return;
      if ((rows[0] as Row).seq !== lastSeq + 1) {
        // The rows in between were pruned: start over from the tables themselves.
        text = new TextIndex();
        vectors = new VectorIndex();
        return build();
      }
      for (const row of rows) {
        const rowid = row.chunk_rowid as number;
        if (row.kind === 'removed') {
          text.remove(rowid);
          vectors.remove(rowid);
        } else if (row.kind === 'chunk') {
          const chunk = q.chunk.get(rowid) as Row | undefined;
          if (chunk) text.add(rowid, chunk.collection_id as string, chunk.text as string);
        } else {
          loadVector(rowid);
        }
        lastSeq = row.seq as number;
      }
    }
  };

  return {
    sync,
    searchText(query: string, collectionIds: string[], k: number, allowedRows?: Set<number>): IndexHit[] {
      sync();
      return text.search(query, collectionIds, k, allowedRows);
    },
    searchVector(vector: number[], collectionIds: string[], candidates: number): IndexHit[] {
      sync();
      return vectors.search(vector, collectionIds, candidates);
    },
  };
}
