/** One step of the PostgreSQL schema; applied once, in version order, inside a transaction. */
export interface PgMigration {
  version: number;
  name: string;
  sql: string;
  /** Runs instead of failing when `sql` fails (e.g. an extension that the server does not have). */
  optional?: boolean;
}
