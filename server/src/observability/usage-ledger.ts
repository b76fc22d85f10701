import type Database from 'better-sqlite3';
import { createBatchWriter } from './batch-writer';

/** Prices per million tokens, by model id (`connection/model`). */
export type PriceTable = Record<string, { input: number; output: number }>;

export interface UsageEvent {
  orgId: string;
  userId: string | null;
  userEmail: string | null;
  apiKeyId: string | null;
  route: string;
  model: string;
  status: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number | null;
  ttftMs: number | null;
}

export interface UsageRow {
  key: string;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
}

const GROUP_SQL = {
  model: 'model',
  user: "coalesce(user_email, 'unknown')",
  day: 'substr(at, 1, 10)',
  organisation: '(SELECT o.slug FROM organizations o WHERE o.id = usage_events.org_id)',
} as const;
export type UsageGrouping = keyof typeof GROUP_SQL;

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);

/** One row per model call (no content, only who, which model, tokens, cost and timing), in the store. */
export function createUsageLedger(db: Database.Database, prices: PriceTable) {
  const batch = createBatchWriter(
    db,
    `INSERT INTO usage_events (at, org_id, user_id, user_email, api_key_id, route, model, status, input_tokens, output_tokens, cost_usd, latency_ms, ttft_ms)
     VALUES (:at, :orgId, :userId, :userEmail, :apiKeyId, :route, :model, :status, :inputTokens, :outputTokens, :costUsd, :latencyMs, :ttftMs)`,
  );
  const cost = (model: string, input: number, output: number) => {
    const price = prices[model];
    return price ? (input * price.input + output * price.output) / 1_000_000 : 0;
  };
  return {
    cost,
    record(event: UsageEvent) {
      batch.add({ ...event, at: new Date().toISOString(), costUsd: cost(event.model, event.inputTokens, event.outputTokens) });
    },
    flush: batch.flush,
    /**
     * Totals and latency percentiles between two instants, grouped by model, user, day or
     * organisation; of one organisation, or (`orgId` null) of all of them.
     */
    summary(options: { from: string; to: string; groupBy: UsageGrouping; orgId: string | null }): UsageRow[] {
      batch.flush();
      const key = GROUP_SQL[options.groupBy];
      const rows = db
        .prepare(
          `SELECT ${key} AS key, count(*) AS requests, sum(status = 'error') AS errors, sum(input_tokens) AS input, sum(output_tokens) AS output,
                  sum(cost_usd) AS cost, json_group_array(latency_ms) AS latencies
           FROM usage_events WHERE at >= :from AND at < :to AND (:orgId IS NULL OR org_id = :orgId) GROUP BY key ORDER BY key`,
        )
        .all(options) as Array<Record<string, unknown>>;
      return rows.map((r) => {
        const latencies = (JSON.parse(r.latencies as string) as Array<number | null>)
          .filter((x): x is number => x !== null)
          .sort((a, b) => a - b);
        return {
          key: r.key as string,
          requests: r.requests as number,
          errors: r.errors as number,
          inputTokens: r.input as number,
          outputTokens: r.output as number,
          costUsd: Math.round((r.cost as number) * 1e6) / 1e6,
          latencyP50Ms: percentile(latencies, 50),
          latencyP95Ms: percentile(latencies, 95),
        };
      });
    },
    /** What a user's, or an organisation's, model calls cost since an instant, in USD. */
    spentSince(subject: { userId: string } | { orgId: string }, since: string): number {
      batch.flush();
      const [column, id] = 'userId' in subject ? ['user_id', subject.userId] : ['org_id', subject.orgId];
      return (
        (db
          .prepare(`SELECT coalesce(sum(cost_usd), 0) FROM usage_events WHERE ${column} = ? AND at >= ?`)
          .pluck()
          .get(id, since) as number) ?? 0
      );
    },
    events(options: { from: string; to: string; orgId: string | null }): Iterable<Record<string, unknown>> {
      batch.flush();
      return db
        .prepare('SELECT * FROM usage_events WHERE at >= :from AND at < :to AND (:orgId IS NULL OR org_id = :orgId) ORDER BY id')
        .iterate(options) as Iterable<Record<string, unknown>>;
    },
  };
}

export type UsageLedger = ReturnType<typeof createUsageLedger>;
