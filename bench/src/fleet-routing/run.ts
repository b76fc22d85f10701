/**
 * Fleet routing: four simulated vLLM replicas (batch slots, a waiting queue, a block-level prefix
 * cache with LRU eviction, serialised prefill) behind a router running one policy at a time —
 * random, round-robin, least outstanding, prefix-aware — driven by multi-tenant multi-turn chat
 * at 50 %, 90 % and 110 % of the fleet's capacity (measured first, under round-robin), then by
 * prompts sharing nothing at 90 %, where prefix-aware should do as well as least outstanding.
 * Time is compressed (prefill 0.05 ms per uncached token, decode 2 ms per output token) so the
 * whole run takes three to four minutes; `--quick` about half that.
 *
 * `--via=router` (the default) routes in a small proxy inside the benchmark that runs the same
 * picker objects as Axon's endpoint pool. `--via=axon` starts Axon per row instead, with one
 * connection per replica and an alias whose version lists them as endpoints (`weighted` for
 * random, `least-outstanding`, `prefix` with the same `prefixRouting` thresholds); round-robin,
 * not a pool strategy, and the capacity measurement stay in the benchmark's router. The column
 * `routed by` says which served a row. `--loads=0.9` runs only the given shares of capacity.
 */
import { countTokens } from 'gpt-tokenizer';
import { percentile } from '../load';
import { printTable } from '../processes';
import { AXON_STRATEGY, axonFleetRoutingMissing, startAxonRouter } from './axon-router';
import { type FleetRouter, type PolicyOptions, type RoutingPolicy, startFleetRouter } from './fleet-router';
import { type SimulatedVllm, type SimulatedVllmOptions, startSimulatedVllm } from './simulated-vllm';
import {
  type ConversationWorkloadOptions,
  createConversationWorkload,
  createUniquePromptWorkload,
  measureCapacity,
  runOpenLoop,
  type Workload,
} from './workload';

const REPLICAS = 4;
const REPLICA: SimulatedVllmOptions = {
  slots: 8,
  blockTokens: 16,
  // 32k tokens of KV cache per replica: room for about a dozen long conversations.
  cacheBlocks: 2048,
  prefillMsPerToken: 0.05,
  decodeMsPerToken: 2,
  defaultOutputTokens: 24,
};
const CHAT: ConversationWorkloadOptions = { tenants: 4, systemWords: 400, userWords: 250, turns: 6, openConversations: 48, seed: 42 };
const UNIQUE_WORDS = 1000;
const POLICIES: RoutingPolicy[] = ['random', 'round-robin', 'least-loaded', 'prefix'];
/** Shares of capacity offered; `--loads=0.9,1.1` runs only those. */
const LOADS = process.argv
  .find((a) => a.startsWith('--loads='))
  ?.slice(8)
  .split(',')
  .map(Number)
  .filter((n) => n > 0) ?? [0.5, 0.9, 1.1];

interface Timing {
  durationMs: number;
  warmupMs: number;
  drainMs: number;
  capacityMs: number;
}

type RouterFactory = (replicaBaseURLs: string[], policy: RoutingPolicy, opts: PolicyOptions) => Promise<FleetRouter>;

async function withFleet<T>(
  factory: RouterFactory,
  policy: RoutingPolicy,
  opts: PolicyOptions,
  run: (router: FleetRouter, replicas: SimulatedVllm[]) => Promise<T>,
): Promise<T> {
  const replicas = await Promise.all(Array.from({ length: REPLICAS }, () => startSimulatedVllm(REPLICA)));
  const router = await factory(
    replicas.map((r) => r.baseURL),
    policy,
    opts,
  );
  try {
    return await run(router, replicas);
  } finally {
    await router.close();
    await Promise.all(replicas.map((r) => r.close()));
  }
}

interface RowMeasurement {
  ttft: number[];
  /** Answers completed between the warm-up and the end of arrivals. */
  completedInWindow: number;
  /** Sent after the warm-up and failed or not answered before the drain ended. */
  notDone: number;
  promptTokens: number;
  cachedTokens: number;
}

async function measureRow(
  factory: RouterFactory,
  policy: RoutingPolicy,
  opts: PolicyOptions,
  workload: () => Workload,
  rate: number,
  timing: Timing,
  seed: number,
): Promise<RowMeasurement> {
  return withFleet(factory, policy, opts, async (router, replicas) => {
    const { results, sentAt } = await runOpenLoop({
      target: router,
      workload: workload(),
      ratePerSec: rate,
      durationMs: timing.durationMs,
      drainMs: timing.drainMs,
      seed,
    });
    const ok = results.filter((r) => r.ok && r.sentAt >= timing.warmupMs);
    const finishedAt = (r: (typeof results)[number]) => r.sentAt + r.totalMs;
    const stats = replicas.map((r) => r.stats());
    return {
      ttft: ok.map((r) => r.ttftMs),
      completedInWindow: results.filter((r) => r.ok && finishedAt(r) >= timing.warmupMs && finishedAt(r) < timing.durationMs).length,
      notDone: sentAt.filter((at) => at >= timing.warmupMs).length - ok.length,
      promptTokens: stats.reduce((n, s) => n + s.promptTokens, 0),
      cachedTokens: stats.reduce((n, s) => n + s.cachedTokens, 0),
    };
  });
}

/** One table row from one or more rounds of the same policy and rate. */
function summarize(policy: RoutingPolicy, rate: number, rounds: RowMeasurement[], timing: Timing): Record<string, string | number> {
  const ttft = rounds.flatMap((r) => r.ttft);
  const sum = (f: (r: RowMeasurement) => number) => rounds.reduce((n, r) => n + f(r), 0);
  return {
    policy,
    'offered req/s': rate,
    // Completions per second while arrivals ran: below the offered rate when the queue grows.
    'done req/s': (sum((r) => r.completedInWindow) * 1000) / ((timing.durationMs - timing.warmupMs) * rounds.length),
    'TTFT p50 ms': percentile(ttft, 50),
    'TTFT p90 ms': percentile(ttft, 90),
    'TTFT p99 ms': percentile(ttft, 99),
    'prefix cache hits': `${(
      (100 * sum((r) => r.cachedTokens)) /
        Math.max(
          1,
          sum((r) => r.promptTokens),
        )
    ).toFixed(1)} %`,
    'not done': sum((r) => r.notDone),
  };
}

export async function runFleetRouting(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const via = process.argv.find((a) => a.startsWith('--via='))?.slice(6) ?? 'router';
  if (via === 'axon') {
    const missing = axonFleetRoutingMissing();
    if (missing) throw new Error(`--via=axon needs ${missing}; use --via=router meanwhile`);
  }
  // Round-robin is not a strategy of Axon's pool: with --via=axon it (and so the capacity
  // measurement) still runs in the benchmark's router.
  const throughAxon = (policy: RoutingPolicy) => via === 'axon' && AXON_STRATEGY[policy] !== undefined;
  const factory: RouterFactory = (urls, policy, opts) =>
    throughAxon(policy) ? startAxonRouter(urls, policy, opts) : startFleetRouter(urls, policy, opts);
  /** Who picked the replicas of a row: Axon's endpoint pool (with its strategy) or the benchmark's router. */
  const routedBy = (policy: RoutingPolicy) => (throughAxon(policy) ? `axon, ${AXON_STRATEGY[policy]}` : 'bench router');
  const timing: Timing = quick
    ? { durationMs: 4_000, warmupMs: 1_000, drainMs: 10_000, capacityMs: 5_000 }
    : { durationMs: 7_000, warmupMs: 2_000, drainMs: 15_000, capacityMs: 7_000 };
  // The shared system prompt alone must not count as a match (see minMatchBlocks).
  const systemBlocks = Math.ceil(
    countTokens(`system: You are the assistant of tenant 0. ${'the '.repeat(CHAT.systemWords)}`) / REPLICA.blockTokens,
  );
  const prefixOptions: PolicyOptions = { minMatchBlocks: systemBlocks + 2, imbalanceThreshold: REPLICA.slots / 2 };

  console.log(
    `\nFleet routing: ${REPLICAS} simulated vLLM replicas × ${REPLICA.slots} slots, ${REPLICA.cacheBlocks * REPLICA.blockTokens} cached tokens each; via ${via}`,
  );
  const chat = () => createConversationWorkload(CHAT);
  const capacity = await withFleet(factory, 'round-robin', {}, (router) =>
    measureCapacity({
      target: router,
      workload: chat(),
      concurrency: CHAT.openConversations,
      durationMs: timing.capacityMs,
      warmupMs: timing.warmupMs,
    }),
  );
  console.log(
    `Multi-turn chat (${CHAT.tenants} tenants, ${CHAT.systemWords}-word system prompts, ${CHAT.turns} turns of ${CHAT.userWords} words): capacity under round-robin ${capacity.toFixed(1)} req/s`,
  );
  const rows: Array<Record<string, string | number>> = [];
  for (const load of LOADS) {
    for (const policy of POLICIES) {
      const rate = Math.round(load * capacity * 10) / 10;
      const row = summarize(policy, rate, [await measureRow(factory, policy, prefixOptions, chat, rate, timing, 7)], timing);
      rows.push({ load: `${Math.round(load * 100)} %`, 'routed by': routedBy(policy), ...row });
    }
  }
  printTable(rows);
  const p90 = (load: string, policy: RoutingPolicy) => Number(rows.find((r) => r.load === load && r.policy === policy)?.['TTFT p90 ms']);
  const ratio = p90('90 %', 'round-robin') / p90('90 %', 'prefix');
  console.log(`p90 TTFT at 90 % load, round-robin / prefix-aware: ${ratio.toFixed(2)}× (target ≥ 3×)`);

  const unique = () => createUniquePromptWorkload({ words: UNIQUE_WORDS, seed: 11 });
  const uniqueCapacity = await withFleet(factory, 'round-robin', {}, (router) =>
    measureCapacity({
      target: router,
      workload: unique(),
      concurrency: CHAT.openConversations,
      durationMs: timing.capacityMs,
      warmupMs: timing.warmupMs,
    }),
  );
  console.log(
    `\nNo shared prefixes (${UNIQUE_WORDS}-word prompts): capacity under round-robin ${uniqueCapacity.toFixed(1)} req/s; at 90 %`,
  );
  // Two rounds each, interleaved, so that the machine's noise hits both alike.
  const uniqueRate = Math.round(0.9 * uniqueCapacity * 10) / 10;
  const rounds: Record<'least-loaded' | 'prefix', RowMeasurement[]> = { 'least-loaded': [], prefix: [] };
  for (const seed of [7, 8]) {
    for (const policy of ['least-loaded', 'prefix'] as const) {
      rounds[policy].push(await measureRow(factory, policy, prefixOptions, unique, uniqueRate, timing, seed));
    }
  }
  const uniqueRows = (['least-loaded', 'prefix'] as const).map(
    (policy): Record<string, string | number> => ({
      'routed by': routedBy(policy),
      ...summarize(policy, uniqueRate, rounds[policy], timing),
    }),
  );
  printTable(uniqueRows);
  const [least, prefix] = uniqueRows.map((r) => Number(r['TTFT p90 ms'])) as [number, number];
  console.log(`p90 TTFT, prefix-aware vs least outstanding: ${(((prefix - least) / least) * 100).toFixed(1)} % (target within 10 %)`);
}
