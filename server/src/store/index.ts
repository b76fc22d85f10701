export { migrateSqlite, openSqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store';
export type * from './store';
