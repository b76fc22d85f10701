import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';
import type { ModelAlias, ModelVersion } from '@axon/contracts';
import { callUpstream, readBody } from '../gateway/upstream-call';
import type { ModelCatalog } from '../providers';
import { fillCallOptions } from './alias-models';
import { compareShadow, type ShadowStats } from './traffic/shadow';

/** Shadow calls a replica has in flight at most; beyond that a mirrored request is dropped, never queued. */
const MAX_IN_FLIGHT = 8;
/** The time limit of a shadow call through the AI SDK's seam (a wire's own is four times its first-byte limit). */
const CALL_TIMEOUT_MS = 120_000;

/** What the served answer was, to compare the shadow's with. */
export interface ServedAnswer {
  text: string;
  totalMs: number | null;
  costUsd: number;
}

/**
 * What is mirrored: a chat completions body (sent to the shadow version's OpenAI-wire upstream),
 * or the call options of a request Axon translated (run on the shadow version's model, whatever
 * its wire).
 */
export type ShadowRequest = { body: Record<string, unknown> } | { callOptions: Omit<LanguageModelV3CallOptions, 'abortSignal'> };

export interface ShadowRunner {
  /**
   * Sends the request to the alias's shadow version in the background, once the served answer is
   * complete, and records how the two compare. The shadow's answer goes nowhere else.
   */
  mirror(alias: ModelAlias, revision: number, shadowVersion: number, body: Record<string, unknown>, served: ServedAnswer): void;
  /** `mirror` for a request of any wire: a chat completions body or translated call options. */
  mirrorRequest(alias: ModelAlias, revision: number, shadowVersion: number, request: ShadowRequest, served: ServedAnswer): void;
  /** Resolves when every shadow call started so far has ended (for tests and shutdown). */
  idle(): Promise<void>;
}

/**
 * Mirrors a share of an alias's requests to a candidate version, without streaming: chat
 * completions bodies to OpenAI-wire upstreams with the upstream's own time limits, translated
 * requests through the model's client. A shadow that fails or cannot be reached is reported and
 * forgotten: it never touches the caller's answer.
 */
export function createShadowRunner(deps: {
  catalog: ModelCatalog;
  stats: ShadowStats;
  cost: (model: string, inputTokens: number, outputTokens: number) => number;
  onError: (error: unknown) => void;
}): ShadowRunner {
  const running = new Set<Promise<void>>();

  /** The shadow's answer to a chat completions body, or undefined when its model is not on OpenAI's wire. */
  async function answerBody(version: ModelVersion, body: Record<string, unknown>) {
    const resolved = await deps.catalog.resolve(version.model);
    const wire = resolved.connection.wire;
    if (wire?.wire !== 'openai') return undefined;
    const { stream: _stream, stream_options: _options, ...rest } = body;
    const payload = JSON.stringify({ ...version.params, ...rest, model: resolved.upstreamId });
    const call = await callUpstream(wire, 'chat/completions', payload, { signal: AbortSignal.timeout(wire.timeouts.firstByteMs * 4) });
    const json = JSON.parse((await readBody(call)).toString('utf8')) as {
      choices?: Array<{ message?: { content?: string | null } }>;
      usage?: { prompt_tokens?: number; completion_tokens?: number };
    };
    return {
      text: json.choices?.[0]?.message?.content ?? '',
      inputTokens: json.usage?.prompt_tokens ?? 0,
      outputTokens: json.usage?.completion_tokens ?? 0,
    };
  }

  /** The shadow's answer to translated call options, from its model's full client; its parameters fill what the request left unset. */
  async function answerCall(version: ModelVersion, callOptions: Omit<LanguageModelV3CallOptions, 'abortSignal'>) {
    const resolved = await deps.catalog.resolve(version.model);
    const model = resolved.connection.fullLanguageModel(resolved.upstreamId);
    const result = await model.doGenerate({
      ...fillCallOptions(callOptions, version.params),
      abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    let text = '';
    for (const part of result.content) if (part.type === 'text') text += part.text;
    return { text, inputTokens: result.usage.inputTokens.total ?? 0, outputTokens: result.usage.outputTokens.total ?? 0 };
  }

  async function run(alias: ModelAlias, revision: number, shadowVersion: number, request: ShadowRequest, served: ServedAnswer) {
    const version = alias.versions.find((v) => v.version === shadowVersion);
    if (!version) return;
    const started = performance.now();
    const answer = 'body' in request ? await answerBody(version, request.body) : await answerCall(version, request.callOptions);
    if (!answer) return;
    const totalMs = performance.now() - started;
    const costUsd = deps.cost(version.model, answer.inputTokens, answer.outputTokens);
    const comparison = compareShadow(
      { text: served.text, totalMs: served.totalMs ?? 0, costUsd: served.costUsd },
      { text: answer.text, totalMs, costUsd },
    );
    await deps.stats.record(alias.name, revision, shadowVersion, comparison);
  }

  const mirrorRequest: ShadowRunner['mirrorRequest'] = (alias, revision, shadowVersion, request, served) => {
    if (running.size >= MAX_IN_FLIGHT) return;
    const task = run(alias, revision, shadowVersion, request, served)
      .catch((error) => deps.onError(error))
      .finally(() => running.delete(task));
    running.add(task);
  };

  return {
    mirror: (alias, revision, shadowVersion, body, served) => mirrorRequest(alias, revision, shadowVersion, { body }, served),
    mirrorRequest,
    async idle() {
      while (running.size > 0) await Promise.all(running);
    },
  };
}
