import type pg from 'pg';

/** What a repository needs to run a statement: the pool, or one client inside a transaction. */
export interface Sql {
  query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** A named statement: prepared once per connection. */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/** A `TIMESTAMPTZ` read back as the ISO string the repositories return (`2030-01-01T00:00:00.000Z`). */
export function isoOf(value: unknown): string {
  return (value instanceof Date ? value : new Date(value as string)).toISOString();
}

export function isoOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : isoOf(value);
}

/** PostgreSQL text cannot hold U+0000; it is dropped from free text (a model may write one). */
export function storableText(text: string): string;
export function storableText(text: string | null): string | null;
export function storableText(text: string | null): string | null {
  return text?.includes('\u0000') ? text.replaceAll('\u0000', '') : text;
}

/** Whether `error` is a unique constraint violation (SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23505';
}

/** Collects the values of a statement built piece by piece, handing out their `$n` placeholders. */
export function createParams(): { values: unknown[]; add(value: unknown): string } {
  const values: unknown[] = [];
  return {
    values,
    add(value) {
      values.push(value);
      return `$${values.length}`;
    },
  };
}
