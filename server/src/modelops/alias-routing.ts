import type { LanguageModelV3 } from '@ai-sdk/provider';
import type { ModelVersion } from '@axon/contracts';
import type { RelayRouting } from '../gateway/openai-chat-relay';
import type { ModelCatalog } from '../providers';
import type { AliasModels } from './alias-models';
import { createEndpointPool } from './balance/endpoint-pool';
import { createFallbackRouting, type FallbackCandidate } from './balance/relay-with-fallbacks';
import type { BalanceMetrics, EndpointPool, EndpointSpecResolved, PrefixPicker } from './balance/types';
import { createEndpointModels, createRoutedLanguageModel } from './routed-language-model';

/** How endpoints are judged: a breaker opens after 5 failures in 30 s and lets a trial through 15 s later. */
const BREAKER = { failures: 5, windowMs: 30_000, cooldownMs: 15_000 };
/** Three tries per version before its fallbacks, 100 ms to 2 s apart (jittered). */
const RETRY = { attempts: 3, baseMs: 100, maxMs: 2000 };
/** Endpoints of a version with several are checked every 15 s (`GET /models`). */
const HEALTH = { intervalMs: 15_000, timeoutMs: 3000 };

export interface AliasRouting {
  /**
   * Where an alias version's call goes: its endpoints (its model's connection when it lists none)
   * behind breakers and retries, then its fallbacks in order. Undefined when the version's model
   * is not on OpenAI's wire (Axon translates those, through one target).
   */
  routingFor(version: ModelVersion & { alias: string }, promptText: () => string): Promise<RelayRouting | undefined>;
  /**
   * The language model a translated request of an alias version runs on (`/v1/messages` and
   * `/v1/responses` through the AI SDK's seam): one that sends each call through `routingFor`'s
   * endpoints, breakers, retries and fallbacks with each endpoint's full client, or `direct` (the
   * model's own client) when the version's model is not on OpenAI's wire.
   */
  languageModelFor(version: ModelVersion & { alias: string }, promptText: () => string, direct: LanguageModelV3): Promise<LanguageModelV3>;
  /** Ends the pools' health checks. */
  close(): void;
}

/**
 * The endpoint pools of alias versions, made at their first request and kept (a version never
 * changes), and the fallback chains across them. `prefix` pools get a picker per pool from
 * `prefixPicker` (the fleet router reading its replicas' metrics).
 */
export function createAliasRouting(deps: {
  catalog: ModelCatalog;
  aliases: Pick<AliasModels, 'get'>;
  metrics?: BalanceMetrics | undefined;
}): AliasRouting {
  const pools = new Map<string, Promise<EndpointPool | undefined>>();
  const scrapers: Array<{ stop(): void }> = [];

  /**
   * A prefix-aware picker over the version's replicas, reading their `/metrics`. Loaded only for
   * versions that ask for it (the tokenizer's tables are large).
   */
  async function prefixPicker(version: ModelVersion, endpoints: EndpointSpecResolved[]): Promise<PrefixPicker> {
    const [{ createPrefixAwarePicker }, { createVllmMetricsScraper }] = await Promise.all([
      import('./fleet/prefix-picker'),
      import('./fleet/vllm-metrics'),
    ]);
    const scraper = createVllmMetricsScraper({ targets: endpoints.map((e) => ({ id: e.id, baseURL: e.target.baseURL })) });
    scraper.start();
    scrapers.push(scraper);
    return createPrefixAwarePicker({
      metrics: scraper,
      minMatchBlocks: version.prefixRouting?.minMatchBlocks,
      imbalanceThreshold: version.prefixRouting?.imbalanceThreshold,
    });
  }

  async function endpointsOf(version: ModelVersion): Promise<EndpointSpecResolved[]> {
    const resolved = await deps.catalog.resolve(version.model);
    if (version.endpoints.length === 0) {
      const wire = resolved.connection.wire;
      return wire?.wire === 'openai' ? [{ id: resolved.connection.name, target: wire, upstreamModel: resolved.upstreamId, weight: 1 }] : [];
    }
    return version.endpoints.flatMap((endpoint, i) => {
      const wire = deps.catalog.connectionNamed(endpoint.connection)?.wire;
      if (wire?.wire !== 'openai') return [];
      return [
        {
          id: `${endpoint.connection}#${i}`,
          target: wire,
          upstreamModel: endpoint.model ?? resolved.upstreamId,
          weight: endpoint.weight,
          maxConcurrent: endpoint.maxConcurrent,
        },
      ];
    });
  }

  function poolFor(name: string, version: ModelVersion): Promise<EndpointPool | undefined> {
    let pool = pools.get(name);
    if (!pool) {
      pool = endpointsOf(version).then(async (endpoints) => {
        if (endpoints.length === 0) return undefined;
        // With one endpoint there is nothing to choose.
        const strategy = endpoints.length === 1 ? 'weighted' : version.balance;
        return createEndpointPool({
          name,
          endpoints,
          strategy,
          picker: strategy === 'prefix' ? await prefixPicker(version, endpoints) : undefined,
          breaker: BREAKER,
          retry: RETRY,
          // One endpoint needs no checks: its breaker says enough, and nothing else could serve instead.
          health: endpoints.length > 1 ? HEALTH : undefined,
          metrics: deps.metrics,
        });
      });
      // A model the catalog cannot resolve now may be offered later: not kept.
      pool.catch(() => pools.delete(name));
      pools.set(name, pool);
    }
    return pool;
  }

  /** A fallback: `alias@version` (that version's pool) or a catalog model (its connection, one endpoint). */
  async function fallbackCandidate(ref: string): Promise<FallbackCandidate | undefined> {
    const at = ref.lastIndexOf('@');
    if (!ref.includes('/') && at > 0) {
      const alias = await deps.aliases.get(ref.slice(0, at));
      const version = alias?.versions.find((v) => v.version === Number(ref.slice(at + 1)));
      if (!version) return undefined;
      const pool = await poolFor(ref, version);
      return pool ? { pool, label: ref } : undefined;
    }
    const pool = await poolFor(ref, {
      model: ref,
      params: {},
      endpoints: [],
      balance: 'weighted',
      fallbacks: [],
    } as unknown as ModelVersion);
    return pool ? { pool, label: ref } : undefined;
  }

  async function routingFor(version: ModelVersion & { alias: string }, promptText: () => string): Promise<RelayRouting | undefined> {
    const label = `${version.alias}@${version.version}`;
    const primary = await poolFor(label, version);
    if (!primary) return undefined;
    const fallbacks = await Promise.all(version.fallbacks.map((ref) => fallbackCandidate(ref).catch(() => undefined)));
    const candidates = [{ pool: primary, label }, ...fallbacks.filter((c): c is FallbackCandidate => c !== undefined)];
    return createFallbackRouting(candidates, { promptText });
  }

  const endpointModels = createEndpointModels();

  return {
    routingFor,
    async languageModelFor(version, promptText, direct) {
      const routing = await routingFor(version, promptText);
      return routing ? createRoutedLanguageModel(routing, direct, (to) => endpointModels(to, { full: true })) : direct;
    },
    close() {
      for (const pool of pools.values())
        void pool.then(
          (p) => p?.stop(),
          () => undefined,
        );
      pools.clear();
      for (const scraper of scrapers.splice(0)) scraper.stop();
    },
  };
}
