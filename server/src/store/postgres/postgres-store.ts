import type pg from 'pg';
import type { Store } from '../store';
import { type MigrationResult, migratePostgres } from './migrate';
import { createPgPool } from './pg-pool';
import { createPostgresAccountRepositories } from './postgres-account-store';
import { createPostgresAgentRepositories } from './postgres-agent-store';
import { createPostgresAuditRepository } from './postgres-audit-store';
import { createPostgresConversationRepository } from './postgres-conversation-store';
import { createPostgresFeedbackRepository, createPostgresPreferencesRepository } from './postgres-feedback-store';
import { createPostgresMessageRepository } from './postgres-message-store';
import { createPostgresModelRegistryRepository } from './postgres-model-registry-store';
import { createPostgresOrgRepositories } from './postgres-org-store';
import { createPostgresRagRepositories, detectVectorSupport, type PostgresRagOptions } from './postgres-rag-store';
import { createPostgresResponseRepository } from './postgres-response-store';
import { createPostgresServiceRepositories } from './postgres-service-store';
import { createPostgresShareRepository } from './postgres-share-store';

export interface PostgresStoreOptions {
  /** `postgres://…` of the database. */
  url: string;
  /** Connections this process keeps open at most. */
  poolSize?: number;
  now?: () => Date;
  /** How documents are indexed and searched (vectors are used when the database has pgvector). */
  search?: Omit<PostgresRagOptions, 'vectors' | 'now'>;
  /** Called when rows written in the background (usage, the prompt log) could not be written. */
  onError?: (error: unknown) => void;
}

/** `vectors`: whether the database has pgvector (without it, documents are searched by full text only). */
export type PostgresStore = Store & { pool: pg.Pool; migrated: MigrationResult; vectors: boolean };

/**
 * The shared store of the scale-out deployment: one PostgreSQL database for every replica. Opening it
 * migrates the schema (once, however many replicas start at the same time).
 */
export async function openPostgresStore({
  url,
  poolSize,
  now = () => new Date(),
  search = {},
  onError,
}: PostgresStoreOptions): Promise<PostgresStore> {
  const pool = createPgPool({ url, ...(poolSize === undefined ? {} : { max: poolSize }) });
  let migrated: MigrationResult;
  let vectors: boolean;
  try {
    migrated = await migratePostgres(pool);
    vectors = await detectVectorSupport(pool);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  const clock = { now };
  const accounts = createPostgresAccountRepositories(pool, clock);
  const services = createPostgresServiceRepositories(pool, { now, ...(onError ? { onError } : {}) });
  let closed: Promise<void> | undefined;
  return {
    pool,
    migrated,
    ...createPostgresOrgRepositories(pool, clock),
    users: accounts.users,
    sessions: accounts.sessions,
    passwordResets: accounts.passwordResets,
    apiKeys: accounts.apiKeys,
    conversations: createPostgresConversationRepository(pool, clock),
    shares: createPostgresShareRepository(pool, clock),
    messages: createPostgresMessageRepository(pool, clock),
    audit: createPostgresAuditRepository(pool, clock),
    gatewayResponses: createPostgresResponseRepository(pool, clock),
    feedback: createPostgresFeedbackRepository(pool, clock),
    preferences: createPostgresPreferencesRepository(pool, clock),
    ...createPostgresRagRepositories(pool, { ...search, vectors, now }),
    ...createPostgresAgentRepositories(pool, clock),
    ...services,
    modelRegistry: createPostgresModelRegistryRepository(pool, clock),
    async ping() {
      await pool.query('SELECT 1');
    },
    close() {
      // Queued usage rows are written first; a failure to write them does not keep the pool open.
      closed ??= services.usage
        .flush()
        .catch(() => undefined)
        .then(() => pool.end());
      return closed;
    },
  };
}
