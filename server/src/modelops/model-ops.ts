import type { DeploymentStatus, FeedbackSource, FeedbackValue, ModelAlias } from '@axon/contracts';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { InvalidationBus } from '../invalidation/invalidation-bus';
import type { AliasServing, ModelCatalog } from '../providers';
import { type AliasModels, createAliasModels } from './alias-models';
import { type AliasRouting, createAliasRouting } from './alias-routing';
import { createBalanceMetrics } from './balance/balance-metrics';
import { createMemoryResponseCache } from './cache/memory-response-cache';
import { createRedisResponseCache } from './cache/redis-response-cache';
import type { EmbedTexts, ResponseCache } from './cache/response-cache';
import { createShadowRunner, type ServedAnswer, type ShadowRequest, type ShadowRunner } from './shadow-runner';
import { ARM_METRICS_TTL_SECONDS, createMemoryArmMetrics, createRedisArmMetrics } from './traffic/arm-metrics';
import { type ControllerChange, createCanaryController } from './traffic/canary-controller';
import { experimentReport } from './traffic/glr';
import { createMemoryShadowStats, createRedisShadowStats } from './traffic/shadow';
import type { ArmMetricsStore, CallOutcome, ModelRegistryRepository, ServedResponse } from './types';

/** Served answers are written at most this long after they were reported, or once this many wait. */
const SERVED_BATCH = { waitMs: 200, size: 256 };

/** How long the version that served an answer is remembered (its feedback still counts): the arm figures' 30 days. */
const SERVED_RETENTION_MS = ARM_METRICS_TTL_SECONDS * 1000;

/**
 * Model operations as the request path sees them: aliases served as models, and what a served
 * answer reports back — its outcome and its feedback — to the figures the canary controller and
 * the A/B test read. The figures live in Redis with `REDIS_URL`, so every replica's requests count.
 */
export interface ModelOps {
  aliases: AliasModels;
  metrics: ArmMetricsStore;
  shadow: ShadowRunner;
  /** Alias versions' endpoint pools and fallback chains. */
  routing: AliasRouting;
  /** Answers kept for aliases that turn caching on (memory, or Redis with `REDIS_URL`). */
  cache: ResponseCache;
  /** The live figures of an alias's current revision, for the deployments page. */
  describe(alias: ModelAlias): Promise<Omit<DeploymentStatus, 'alias'>>;
  /** Looks at running canaries and A/B tests once (the timer does this every `controlIntervalMs`). */
  control(): Promise<ControllerChange[]>;
  /** Records how an alias's answer went, and which version and arm served it (for feedback by response id). */
  report(
    served: AliasServing,
    outcome: CallOutcome,
    who: { responseId?: string | undefined; orgId: string; userId: string; source: FeedbackSource },
  ): void;
  /**
   * Mirrors a completed answer's request to the alias's shadow version when its assignment drew
   * one (in the background; the shadow's answer is only compared). Nothing for other requests.
   */
  mirrorShadow(served: AliasServing, request: ShadowRequest, answer: ServedAnswer): void;
  /**
   * Keeps and counts a person's feedback on an answer an alias served (null: withdrawn); false for
   * answers of plain models and answers that served someone else.
   */
  feedback(responseId: string, userId: string, value: FeedbackValue | null, comment: string | null): Promise<boolean>;
  close(): Promise<void>;
}

export function createModelOps(deps: {
  registry: ModelRegistryRepository;
  catalog: ModelCatalog;
  bus?: InvalidationBus | undefined;
  redis?: { connection: Redis; prefix: string } | undefined;
  /** How often the canary controller looks at the figures, in ms (0: never, for tests that tick by hand). */
  controlIntervalMs: number;
  /** Prices answers (shadows' included) by model id. */
  cost: (model: string, inputTokens: number, outputTokens: number) => number;
  onError: (error: unknown, what: string) => void;
  /** Told of every change the controller makes (promotion, rollback, a test stopped), for the audit trail. */
  onControl?: (change: ControllerChange) => void;
  /** Where pools and the cache report (the process's Prometheus registry). */
  metricsRegistry?: Registry | undefined;
  /** Embeds questions for the semantic cache (the configured embedder); without it, exact hits only. */
  embed?: EmbedTexts | undefined;
}): ModelOps {
  const metrics = deps.redis
    ? createRedisArmMetrics({ redis: deps.redis.connection, prefix: deps.redis.prefix })
    : createMemoryArmMetrics();
  const aliases = createAliasModels({ registry: deps.registry, catalog: deps.catalog, bus: deps.bus });
  const routing = createAliasRouting({
    catalog: deps.catalog,
    aliases,
    metrics: deps.metricsRegistry ? createBalanceMetrics(deps.metricsRegistry) : undefined,
  });
  const cache = deps.redis
    ? createRedisResponseCache({
        redis: deps.redis.connection,
        prefix: `${deps.redis.prefix}:cache`,
        embed: deps.embed,
        registry: deps.metricsRegistry,
      })
    : createMemoryResponseCache({ maxEntries: 10_000, embed: deps.embed, registry: deps.metricsRegistry });
  const shadowStats = deps.redis
    ? createRedisShadowStats({ redis: deps.redis.connection, prefix: deps.redis.prefix })
    : createMemoryShadowStats();
  const shadow = createShadowRunner({
    catalog: deps.catalog,
    stats: shadowStats,
    cost: deps.cost,
    onError: (error) => deps.onError(error, 'a shadow request'),
  });
  const controller = createCanaryController({
    registry: deps.registry,
    metrics,
    intervalMs: deps.controlIntervalMs,
    onChange: (alias, change) => {
      deps.bus?.publish('model-aliases', alias);
      deps.onControl?.(change);
    },
    onError: (error, alias) => deps.onError(error, `controlling the rollout of ${alias}`),
  });
  if (deps.controlIntervalMs > 0) controller.start();
  // Which version served an answer is kept for its feedback as long as the figures it counts for.
  const pruneServed = () =>
    deps.registry.pruneServed(new Date(Date.now() - SERVED_RETENTION_MS)).catch((error) => deps.onError(error, 'pruning served responses'));
  void pruneServed();
  const pruning = setInterval(pruneServed, 3_600_000);
  pruning.unref();

  // Which version served an answer is written after the answer has gone out, in batches, not on
  // its way: with SQLite each insert is synchronous and would hold up the next request. Feedback
  // on an answer writes what is pending first.
  let unwritten: ServedResponse[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  let written: Promise<void> = Promise.resolve();
  const flushServed = (): void => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (unwritten.length === 0) return;
    const batch = unwritten;
    unwritten = [];
    written = written.then(async () => {
      for (const served of batch)
        await deps.registry.recordServed(served).catch((error) => deps.onError(error, 'recording which version served an answer'));
    });
  };
  const writeServed = (served: ServedResponse): void => {
    unwritten.push(served);
    if (unwritten.length >= SERVED_BATCH.size) flushServed();
    else if (!flushTimer) {
      flushTimer = setTimeout(flushServed, SERVED_BATCH.waitMs);
      flushTimer.unref();
    }
  };
  /** Resolves once every answer reported so far is in the registry. */
  const servedWritten = async (): Promise<void> => {
    flushServed();
    let waited: Promise<void>;
    do {
      waited = written;
      await waited;
    } while (waited !== written);
  };

  return {
    aliases,
    metrics,
    shadow,
    routing,
    cache,
    async describe(alias) {
      const arms = await metrics.snapshot(alias.name, alias.revision);
      return {
        arms,
        report: alias.policy.type === 'ab' ? experimentReport(alias.policy, arms) : null,
        shadow: alias.shadow ? await shadowStats.summary(alias.name, alias.revision, alias.shadow.version) : null,
      };
    },
    control: () => controller.tick(),
    report(served, outcome, who) {
      const { assignment } = served;
      if (assignment.arm === 'pinned') return;
      metrics
        .record(assignment.alias, assignment.revision, assignment.arm, assignment.version, outcome)
        .catch((error) => deps.onError(error, 'recording an alias outcome'));
      if (who.responseId)
        writeServed({
          responseId: who.responseId,
          orgId: who.orgId,
          userId: who.userId,
          alias: assignment.alias,
          version: assignment.version,
          revision: assignment.revision,
          arm: assignment.arm,
          source: who.source,
        });
    },
    mirrorShadow(served, request, answer) {
      const { assignment } = served;
      const shadowVersion = assignment.shadowVersion;
      if (shadowVersion === undefined || assignment.arm === 'pinned') return;
      void aliases
        .get(assignment.alias)
        .then((alias) => {
          if (alias) shadow.mirrorRequest(alias, assignment.revision, shadowVersion, request, answer);
        })
        .catch((error) => deps.onError(error, 'a shadow request'));
    },
    async feedback(responseId, userId, value, comment) {
      await servedWritten();
      const served = await deps.registry.servedBy(responseId);
      if (!served || served.userId !== userId) return false;
      const changed = await deps.registry.setServedFeedback(responseId, userId, value, comment);
      if (!changed) return false;
      // A vote taken back leaves the figures as they were: the rate reads votes given, not votes kept.
      if (value && value !== changed.previous)
        await metrics.recordFeedback(served.alias, served.revision, served.arm, served.version, value, changed.previous ?? undefined);
      return true;
    },
    async close() {
      clearInterval(pruning);
      controller.stop();
      routing.close();
      await servedWritten();
      await shadow.idle();
      await Promise.all([metrics.close(), shadowStats.close()]);
    },
  };
}
