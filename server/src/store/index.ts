export { migrateSqlite, openSqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store';
export type * from './rag-store';
export type * from './store';
export { toFtsQuery } from './sqlite/sqlite-rag-store';
