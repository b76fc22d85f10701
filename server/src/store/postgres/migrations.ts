import { CORE_MIGRATIONS } from './core-migrations';
import { MODEL_REGISTRY_MIGRATIONS } from './model-registry-migrations';
import type { PgMigration } from './pg-migration';
import { RAG_MIGRATIONS } from './rag-migrations';
import { SERVICE_MIGRATIONS } from './service-migrations';
import { SHARE_MIGRATIONS } from './share-migrations';

/**
 * Every PostgreSQL migration, by room: accounts, organisations, chats, audit and uploaded originals
 * (1–99; shared links 50), documents, search and agents (100–199), prompts, usage and the prompt log (200–299),
 * model aliases and their versions (300–399).
 */
export const PG_MIGRATIONS: PgMigration[] = [
  ...CORE_MIGRATIONS,
  ...SHARE_MIGRATIONS,
  ...RAG_MIGRATIONS,
  ...SERVICE_MIGRATIONS,
  ...MODEL_REGISTRY_MIGRATIONS,
];
