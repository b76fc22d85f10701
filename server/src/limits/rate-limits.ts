import type { OrgLimits } from '@axon/contracts';
import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from '../auth/auth-service';
import { AppError } from '../errors';

/**
 * Requests per minute, tokens per minute and concurrent streams, per user, API key and organisation, on
 * rate-limiter-flexible: in memory for one process, in Redis when replicas share limits.
 */

export interface LimitSettings {
  userRpm: number;
  userTpm: number;
  userConcurrentStreams: number;
  /** Cost budgets per user in USD, from the usage ledger's prices (0: none). */
  userDailyBudgetUsd?: number;
  userMonthlyBudgetUsd?: number;
}

/** What a user's, or a whole organisation's, model calls cost since an instant, in USD (the usage ledger). */
export type SpendingLookup = (subject: { userId: string } | { orgId: string }, since: string) => Promise<number>;

/** Refuses a user over their, or their organisation's, daily or monthly cost budget, until the budget's period turns. */
async function checkBudgets(
  settings: LimitSettings,
  org: OrgLimits,
  spent: SpendingLookup,
  principal: Principal,
  now = new Date(),
): Promise<void> {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const daily = { since: day, next: new Date(day.getTime() + 86_400_000) };
  const monthly = { since: month, next: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)) };
  const user = { userId: principal.user.id };
  const organisation = { orgId: principal.user.orgId };
  const budgets = [
    { label: 'daily cost budget for your account', limit: settings.userDailyBudgetUsd ?? 0, subject: user, ...daily },
    { label: 'monthly cost budget for your account', limit: settings.userMonthlyBudgetUsd ?? 0, subject: user, ...monthly },
    { label: 'daily cost budget for your organisation', limit: org.dailyBudgetUsd ?? 0, subject: organisation, ...daily },
    { label: 'monthly cost budget for your organisation', limit: org.monthlyBudgetUsd ?? 0, subject: organisation, ...monthly },
  ];
  for (const budget of budgets) {
    if (budget.limit <= 0) continue;
    const used = await spent(budget.subject, budget.since.toISOString());
    if (used >= budget.limit) {
      throw new AppError('rate_limited', {
        detail: `The ${budget.label} (${budget.limit} USD) is spent (${used.toFixed(4)} USD); it renews at ${budget.next.toISOString()}.`,
        retryAfterMs: budget.next.getTime() - now.getTime(),
        extensions: { limit: budget.label, limitValue: budget.limit, spentUsd: used },
      });
    }
  }
}

/** One admitted request: settle its tokens when the provider reports usage, release its stream slot. */
export interface Admission {
  /** `RateLimit-*` headers for the tightest limit this request counted against. */
  headers: Record<string, string>;
  settle(actualTokens: number): Promise<void>;
  release(): Promise<void>;
}

export interface RateLimits {
  /**
   * Counts the request against every limit that applies, or refuses it. `estimateTokens` is called
   * only when a tokens-per-minute limit applies.
   */
  admit(principal: Principal, request: { estimateTokens: () => number | Promise<number>; stream: boolean }): Promise<Admission>;
  close(): Promise<void>;
}

interface Counter {
  kind: 'rpm' | 'tpm' | 'streams';
  /** What the client is told when it is refused, e.g. "requests per minute for this API key". */
  label: string;
  limiter: RateLimiterAbstract;
  subject: string;
  points: number;
  cost: number;
}

const headersFor = (c: Counter, res: RateLimiterRes) => ({
  'ratelimit-limit': String(c.points),
  'ratelimit-remaining': String(Math.max(0, res.remainingPoints)),
  'ratelimit-reset': String(Math.ceil(res.msBeforeNext / 1000)),
});

export function createRateLimits(
  settings: LimitSettings,
  options: {
    redis?: Redis;
    prefix?: string;
    spent?: SpendingLookup;
    /** The limits of an organisation as a whole (cached by the caller). */
    orgLimits?: (orgId: string) => Promise<OrgLimits>;
  } = {},
): RateLimits {
  const prefix = options.prefix ?? 'axon';
  const limiters = new Map<string, RateLimiterAbstract>();
  // One limiter per kind and size (keys carry their own sizes), created on first use.
  const limiter = (kind: 'rpm' | 'tpm' | 'streams', points: number) => {
    const name = `${kind}:${points}`;
    let found = limiters.get(name);
    if (!found) {
      // Stream slots are given back when a stream ends; the hour only bounds a slot a crash leaked.
      const duration = kind === 'streams' ? 3600 : 60;
      const keyPrefix = `${prefix}:limit:${name}`;
      found = options.redis
        ? new RateLimiterRedis({ storeClient: options.redis, points, duration, keyPrefix, rejectIfRedisNotReady: true })
        : new RateLimiterMemory({ points, duration, keyPrefix });
      limiters.set(name, found);
    }
    return found;
  };

  // Token corrections after the provider's usage, summed per counter and applied together: with
  // Redis, one command per counter every 100 ms instead of one per request and counter.
  const correctionMs = options.redis ? 100 : 0;
  const corrections = new Map<string, { counter: Counter; diff: number; done: Array<() => void> }>();
  let correctionTimer: NodeJS.Timeout | undefined;
  const applyCorrections = async () => {
    correctionTimer = undefined;
    const due = [...corrections.values()];
    corrections.clear();
    await Promise.all(
      due.map(async ({ counter, diff, done }) => {
        try {
          if (diff > 0) await counter.limiter.penalty(counter.subject, diff);
          else if (diff < 0) await counter.limiter.reward(counter.subject, -diff);
        } finally {
          for (const resolve of done) resolve();
        }
      }),
    );
  };
  const correct = (counters: Counter[], diff: number): Promise<void> => {
    if (counters.length === 0 || diff === 0) return Promise.resolve();
    const applied = counters.map((counter) => {
      const id = `${counter.kind}:${counter.points}|${counter.subject}`;
      const entry = corrections.get(id) ?? { counter, diff: 0, done: [] };
      entry.diff += diff;
      corrections.set(id, entry);
      return new Promise<void>((resolve) => entry.done.push(resolve));
    });
    if (correctionMs === 0) void applyCorrections();
    else correctionTimer ??= setTimeout(() => void applyCorrections(), correctionMs);
    return Promise.all(applied).then(() => undefined);
  };

  const refund = async (taken: Counter[]) => {
    await Promise.all(taken.map((c) => c.limiter.reward(c.subject, c.cost)));
  };

  return {
    async admit(principal, { estimateTokens, stream }) {
      const user = principal.user.id;
      const orgId = principal.user.orgId;
      const org = options.orgLimits ? await options.orgLimits(orgId) : {};
      if (options.spent) await checkBudgets(settings, org, options.spent, principal);
      const key = principal.apiKey;
      const counters: Counter[] = [];
      const add = (label: string, kind: 'rpm' | 'tpm' | 'streams', points: number | null, subject: string, cost: number) => {
        if (points && points > 0) counters.push({ kind, label, limiter: limiter(kind, points), subject, points, cost });
      };
      if (key) add('requests per minute for this API key', 'rpm', key.rpm, `key:${key.id}`, 1);
      add('requests per minute for your account', 'rpm', settings.userRpm, `user:${user}`, 1);
      add('requests per minute for your organisation', 'rpm', org.rpm ?? null, `org:${orgId}`, 1);
      const countsTokens = (key?.tpm ?? 0) > 0 || settings.userTpm > 0 || (org.tpm ?? 0) > 0;
      const tokens = countsTokens ? Math.max(1, Math.ceil(await estimateTokens())) : 0;
      if (key) add('tokens per minute for this API key', 'tpm', key.tpm, `key:${key.id}`, tokens);
      add('tokens per minute for your account', 'tpm', settings.userTpm, `user:${user}`, tokens);
      add('tokens per minute for your organisation', 'tpm', org.tpm ?? null, `org:${orgId}`, tokens);
      if (stream) {
        add('answers streaming at once for your account', 'streams', settings.userConcurrentStreams, `user:${user}`, 1);
        add('answers streaming at once for your organisation', 'streams', org.concurrentStreams ?? null, `org:${orgId}`, 1);
      }

      for (const counter of counters) {
        if (counter.cost > counter.points) {
          throw new AppError('rate_limited', {
            detail: `This request needs about ${counter.cost} tokens, more than the ${counter.points} ${counter.label} allow.`,
            extensions: { limit: counter.label, limitValue: counter.points },
          });
        }
      }
      // All counters at once (one round trip to Redis, not one per counter); a refusal by any gives
      // back what the others took.
      const outcomes = await Promise.allSettled(counters.map((c) => c.limiter.consume(c.subject, c.cost)));
      const taken = counters.filter((_, i) => outcomes[i]?.status === 'fulfilled');
      const refusedAt = outcomes.findIndex((o) => o.status === 'rejected');
      if (refusedAt >= 0) {
        // A refused request costs nothing: a refusing counter has counted it too (rate-limiter-flexible
        // adds before it compares), so every counter gets its points back, not only those that admitted it.
        await refund(counters.filter((_, i) => outcomes[i]?.status === 'fulfilled' || outcomes[i]?.reason instanceof RateLimiterRes));
        const counter = counters[refusedAt] as Counter;
        const error = (outcomes[refusedAt] as PromiseRejectedResult).reason;
        if (!(error instanceof RateLimiterRes)) {
          throw new AppError('unavailable', { detail: 'The rate limit store (Redis) is not answering.', cause: error });
        }
        const retryAfterMs = Math.max(1000, error.msBeforeNext);
        throw new AppError('rate_limited', {
          detail: `Over the limit of ${counter.points} ${counter.label}; try again in ${Math.ceil(retryAfterMs / 1000)} s.`,
          retryAfterMs,
          headers: headersFor(counter, error),
          extensions: { limit: counter.label, limitValue: counter.points },
        });
      }
      let tightest: { counter: Counter; res: RateLimiterRes } | undefined;
      counters.forEach((counter, i) => {
        const res = (outcomes[i] as PromiseFulfilledResult<RateLimiterRes>).value;
        if (!tightest || res.remainingPoints / counter.points < tightest.res.remainingPoints / tightest.counter.points)
          tightest = { counter, res };
      });
      let released = false;
      return {
        headers: tightest ? headersFor(tightest.counter, tightest.res) : {},
        settle(actualTokens) {
          return correct(
            taken.filter((c) => c.kind === 'tpm'),
            Math.ceil(actualTokens) - tokens,
          );
        },
        async release() {
          if (released) return;
          released = true;
          await Promise.all(taken.filter((c) => c.kind === 'streams').map((c) => c.limiter.reward(c.subject, 1)));
        },
      };
    },
    async close() {
      if (correctionTimer) clearTimeout(correctionTimer);
      await applyCorrections();
      await options.redis?.quit();
    },
  };
}

/** Settles an admission's tokens without holding up the response; a failure is logged. */
export function settleLater(request: { log: { error(obj: object, msg: string): void } }, admission: Admission, actualTokens: number): void {
  admission.settle(actualTokens).catch((error) => request.log.error({ err: error }, 'settling rate-limit tokens failed'));
}
