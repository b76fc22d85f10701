import type { PgMigration } from './pg-migration';

/**
 * Every PostgreSQL migration, by room: accounts, organisations, chats and audit (1–99), documents,
 * search and agents (100–199), prompts, usage and the prompt log (200–299), uploaded originals (300–399).
 */
export const PG_MIGRATIONS: PgMigration[] = [];
