import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface PgliteServer {
  /** `postgres://…` of the server, for `createPgPool` (with `max: 1`: PGlite is one session). */
  url: string;
  /** The pgvector version the server offers. */
  vectorVersion: string;
  /** PGlite's PostgreSQL version. */
  postgresVersion: string;
  stop(): Promise<void>;
}

/**
 * PostgreSQL with pgvector, in this process: PGlite (PostgreSQL compiled to WebAssembly) with its
 * pgvector build, served over the wire protocol on a random loopback port, so that the production
 * `pg` driver path is what talks to it. PGlite is a single session: one connection at a time.
 * `dataDir`: a folder keeping the database (opened again when it holds one), instead of memory.
 */
export async function startPgliteServer(options: { dataDir?: string } = {}): Promise<PgliteServer> {
  const db = await PGlite.create({ extensions: { vector }, ...(options.dataDir ? { dataDir: options.dataDir } : {}) });
  // Available, not created: the vector migration creates it, as on a server with pgvector installed.
  const version = await db.query<{ v: string }>("SELECT default_version AS v FROM pg_available_extensions WHERE name = 'vector'");
  // The pool holds one connection, but closes it after a failed query (pg-pool's rule) and opens the
  // next before PGlite has let go of the first: room for two, of which one at a time is in use.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 2 });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    vectorVersion: version.rows[0]?.v ?? 'unknown',
    postgresVersion: (await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? 'unknown',
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
