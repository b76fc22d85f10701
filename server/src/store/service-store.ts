import type { PromptLogRow, PromptTemplate, PromptTemplateVersion } from '@axon/contracts';
import type { RedactorOptions } from '../redaction/redact';

/** What a new version of a prompt template holds; its number and time are given by the store. */
export type PromptVersionInput = Omit<PromptTemplateVersion, 'version' | 'createdAt'>;

/**
 * Named prompt templates and their immutable, numbered versions. Every lookup by name or id names
 * the organisation: a template of another one does not exist for the caller.
 */
export interface PromptRepository {
  /** The organisation's templates, by name. */
  list(orgId: string): Promise<PromptTemplate[]>;
  /** A template of the organisation, by id or name. */
  get(orgId: string, idOrName: string): Promise<PromptTemplate | undefined>;
  /** Creates a template with its first version, which is active; `conflict` when the organisation has one of that name. */
  create(orgId: string, input: PromptVersionInput & { name: string; description: string }): Promise<PromptTemplate>;
  /** Every version of a template, newest first. */
  versions(templateId: string): Promise<PromptTemplateVersion[]>;
  version(templateId: string, version: number): Promise<PromptTemplateVersion | undefined>;
  /** Adds the next version (numbered in the same transaction); it becomes the active one only with `activate`. */
  addVersion(templateId: string, input: PromptVersionInput, activate: boolean): Promise<PromptTemplateVersion>;
  /** Makes a version the active one. */
  activate(templateId: string, version: number): Promise<void>;
}

/** One model call as the usage ledger keeps it: no content, only who, which model, tokens, cost and timing. */
export interface UsageRecord {
  /** ISO 8601, UTC. */
  at: string;
  orgId: string;
  userId: string | null;
  userEmail: string | null;
  apiKeyId: string | null;
  route: string;
  model: string;
  status: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencyMs: number | null;
  ttftMs: number | null;
}

/** A written usage row: `id` grows in the order rows were written. */
export interface StoredUsageRecord extends UsageRecord {
  id: number;
}

/** What usage totals are grouped by: model id, user email (`unknown` without one), UTC day, organisation slug. */
export type UsageGrouping = 'model' | 'user' | 'day' | 'organisation';

/** An instant range `[from, to)` (ISO 8601), of one organisation or (`orgId` null) of all of them. */
export interface UsageRange {
  from: string;
  to: string;
  orgId: string | null;
}

/** The sums of one group of usage rows. */
export interface UsageTotals {
  /** The group's model, email, day (`YYYY-MM-DD`) or organisation slug; null for an organisation that no longer exists. */
  key: string | null;
  requests: number;
  /** Rows whose status is `error`. */
  errors: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** The latencies of the group's calls that have one, in ascending order. */
  latenciesMs: number[];
}

/**
 * The usage ledger's rows. Rows are appended to a queue and written in batches (one transaction or
 * statement per batch); every read sees the rows appended before it.
 */
export interface UsageRepository {
  /** Queues one row; it is written within a few tens of milliseconds, or at the next `flush`. */
  append(record: UsageRecord): void;
  /** Resolves when every row appended so far is written; rejects when writing failed (those rows stay queued). */
  flush(): Promise<void>;
  /** Totals per group of the rows in the range, ordered by key (by code point, no key first). */
  totals(range: UsageRange & { groupBy: UsageGrouping }): Promise<UsageTotals[]>;
  /** What a user's, or an organisation's, rows cost since an instant, in USD. */
  spentSince(subject: { userId: string } | { orgId: string }, since: string): Promise<number>;
  /** Every row in the range, in the order written, for export. */
  events(range: UsageRange): Promise<StoredUsageRecord[]>;
}

/** What a prompt log writer redacts in rows of `redacted` mode: a redactor's options, which a writer thread can be sent. */
export type PromptLogRedaction = Pick<RedactorOptions, 'types' | 'phoneRegions' | 'custom'>;

/** Writes prompt log rows in batches. */
export interface PromptLogWriter {
  /**
   * Queues one row, as sent. A row in `redacted` mode has its prompt and response redacted before it
   * is written (raw text is only ever in memory, on its way to the table).
   */
  add(row: PromptLogRow): void;
  /** Resolves when every row added so far is in the table. */
  flush(): Promise<void>;
  /** Flushes, then stops (a thread of its own, if it has one). */
  close(): Promise<void>;
}

/** What was asked of the models through the API and what they answered, as the logging mode kept it. */
export interface PromptLogRepository {
  /**
   * Starts a writer. Redacting belongs to the writer so that an implementation can do it, with the
   * write, off the thread that serves requests.
   */
  openWriter(redaction: PromptLogRedaction): PromptLogWriter;
  /** The organisation's rows written before `before` (an instant; all when absent), newest first. */
  list(query: { orgId: string; before?: string | undefined; limit: number }): Promise<PromptLogRow[]>;
  /** Deletes the rows written before an instant; returns how many. */
  deleteBefore(at: string): Promise<number>;
}
