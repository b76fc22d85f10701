export type * from './agent-store';
export type * from './rag-store';
export { toFtsQuery } from './sqlite/sqlite-rag-store';
export { migrateSqlite, openSqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store';
export type * from './store';
export { HOME_ORG_ID } from './store';
