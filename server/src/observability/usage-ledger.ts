import type { StoredUsageRecord, UsageGrouping, UsageRange, UsageRepository } from '../store';

export type { UsageGrouping } from '../store';

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

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);

/** One row per model call (no content, only who, which model, tokens, cost and timing), in the store. */
export function createUsageLedger(usage: UsageRepository, prices: PriceTable) {
  const cost = (model: string, input: number, output: number) => {
    const price = prices[model];
    return price ? (input * price.input + output * price.output) / 1_000_000 : 0;
  };
  return {
    cost,
    /** Queues the row; it is written in a batch with others. */
    record(event: UsageEvent) {
      usage.append({ ...event, at: new Date().toISOString(), costUsd: cost(event.model, event.inputTokens, event.outputTokens) });
    },
    /** Resolves when every row recorded so far is written. */
    flush: () => usage.flush(),
    /**
     * Totals and latency percentiles between two instants, grouped by model, user, day or
     * organisation; of one organisation, or (`orgId` null) of all of them.
     */
    async summary(options: UsageRange & { groupBy: UsageGrouping }): Promise<UsageRow[]> {
      return (await usage.totals(options)).map((r) => ({
        key: r.key as string,
        requests: r.requests,
        errors: r.errors,
        inputTokens: r.inputTokens,
        outputTokens: r.outputTokens,
        costUsd: Math.round(r.costUsd * 1e6) / 1e6,
        latencyP50Ms: percentile(r.latenciesMs, 50),
        latencyP95Ms: percentile(r.latenciesMs, 95),
      }));
    },
    /** What a user's, or an organisation's, model calls cost since an instant, in USD. */
    spentSince: (subject: { userId: string } | { orgId: string }, since: string): Promise<number> => usage.spentSince(subject, since),
    /** Every row between two instants, in the order written, for export. */
    events: (range: UsageRange): Promise<StoredUsageRecord[]> => usage.events(range),
  };
}

export type UsageLedger = ReturnType<typeof createUsageLedger>;
