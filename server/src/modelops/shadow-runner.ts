import type { ModelAlias } from '@axon/contracts';
import { callUpstream, readBody } from '../gateway/upstream-call';
import type { ModelCatalog } from '../providers';
import { compareShadow, type ShadowStats } from './traffic/shadow';

/** Shadow calls a replica has in flight at most; beyond that a mirrored request is dropped, never queued. */
const MAX_IN_FLIGHT = 8;

/** What the served answer was, to compare the shadow's with. */
export interface ServedAnswer {
  text: string;
  totalMs: number | null;
  costUsd: number;
}

export interface ShadowRunner {
  /**
   * Sends the request to the alias's shadow version in the background, once the served answer is
   * complete, and records how the two compare. The shadow's answer goes nowhere else.
   */
  mirror(alias: ModelAlias, revision: number, shadowVersion: number, body: Record<string, unknown>, served: ServedAnswer): void;
  /** Resolves when every shadow call started so far has ended (for tests and shutdown). */
  idle(): Promise<void>;
}

/**
 * Mirrors a share of an alias's requests to a candidate version (OpenAI-wire upstreams), without
 * streaming, with the upstream's own time limits. A shadow that fails or cannot be reached is
 * reported and forgotten: it never touches the caller's answer.
 */
export function createShadowRunner(deps: {
  catalog: ModelCatalog;
  stats: ShadowStats;
  cost: (model: string, inputTokens: number, outputTokens: number) => number;
  onError: (error: unknown) => void;
}): ShadowRunner {
  const running = new Set<Promise<void>>();

  async function run(alias: ModelAlias, revision: number, shadowVersion: number, body: Record<string, unknown>, served: ServedAnswer) {
    const version = alias.versions.find((v) => v.version === shadowVersion);
    if (!version) return;
    const resolved = await deps.catalog.resolve(version.model);
    const wire = resolved.connection.wire;
    if (wire?.wire !== 'openai') return;
    const { stream: _stream, stream_options: _options, ...rest } = body;
    const payload = JSON.stringify({ ...version.params, ...rest, model: resolved.upstreamId });
    const started = performance.now();
    const call = await callUpstream(wire, 'chat/completions', payload, { signal: AbortSignal.timeout(wire.timeouts.firstByteMs * 4) });
    const json = JSON.parse((await readBody(call)).toString('utf8')) as {
      choices?: Array<{ message?: { content?: string | null } }>;
      usage?: { prompt_tokens?: number; completion_tokens?: number };
    };
    const totalMs = performance.now() - started;
    const text = json.choices?.[0]?.message?.content ?? '';
    const costUsd = deps.cost(version.model, json.usage?.prompt_tokens ?? 0, json.usage?.completion_tokens ?? 0);
    const comparison = compareShadow(
      { text: served.text, totalMs: served.totalMs ?? 0, costUsd: served.costUsd },
      { text, totalMs, costUsd },
    );
    await deps.stats.record(alias.name, revision, shadowVersion, comparison);
  }

  return {
    mirror(alias, revision, shadowVersion, body, served) {
      if (running.size >= MAX_IN_FLIGHT) return;
      const task = run(alias, revision, shadowVersion, body, served)
        .catch((error) => deps.onError(error))
        .finally(() => running.delete(task));
      running.add(task);
    },
    async idle() {
      while (running.size > 0) await Promise.all(running);
    },
  };
}
