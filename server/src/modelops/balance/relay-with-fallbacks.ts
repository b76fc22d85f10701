import type { FastifyReply } from 'fastify';
import { AppError } from '../../errors';
import { type RelayOutcome, type RelayRouting, relayOpenAIChat } from '../../gateway/openai-chat-relay';
import { EndpointsPausedError } from './endpoints-paused-error';
import { isRetryableBeforeFirstToken } from './retryable-failure';
import type { EndpointPool } from './types';

/** One step of a fallback chain: a version's pool, and the name the outcome reports it by. */
export interface FallbackCandidate {
  pool: EndpointPool;
  /** Reported as the outcome's `candidate` (`support@3`, `openai/gpt-4o-mini`). */
  label: string;
  /** The model's id upstream for every endpoint of the pool; each endpoint's own `upstreamModel` when absent. */
  upstreamModel?: string | undefined;
}

/**
 * A routing through a fallback chain: the candidates in order, each pool with its own retries,
 * the next one when a pool is exhausted by failures another try may not have (before the first
 * token). A pool with no usable endpoint is passed over while a later one has some; when none has,
 * each is tried all the same, in order. A failure that no other try would change (a 400, an abort)
 * ends the call at once. An endpoint paused by its `Retry-After` is not called: when every endpoint
 * of every candidate is, the call fails with `EndpointsPausedError` (a 429 whose `Retry-After` is
 * the time until the first pause ends).
 */
export function createFallbackRouting(candidates: readonly FallbackCandidate[], options: { promptText?: () => string } = {}): RelayRouting {
  if (candidates.length === 0) throw new Error('A fallback chain needs at least one candidate');
  return {
    async run(attempt, signal) {
      const anyUsable = candidates.some((c) => c.pool.usable());
      // Made only when needed: an error's stack costs tens of microseconds on every request otherwise.
      let lastError: unknown;
      for (const candidate of candidates) {
        if (anyUsable && !candidate.pool.usable()) continue;
        try {
          await candidate.pool.serve(
            (endpoint) =>
              attempt({
                target: endpoint.target,
                upstreamModel: candidate.upstreamModel ?? endpoint.upstreamModel,
                endpoint: endpoint.id,
                candidate: candidate.label,
              }),
            { signal, promptText: options.promptText },
          );
          return;
        } catch (error) {
          lastError = error;
          if (signal.aborted || !isRetryableBeforeFirstToken(error)) throw error;
        }
      }
      // Every endpoint of every candidate is paused: the caller may try again when the first pause ends.
      let soonest = Number.POSITIVE_INFINITY;
      for (const candidate of candidates) soonest = Math.min(soonest, candidate.pool.pausedFor());
      if (soonest > 0 && Number.isFinite(soonest)) throw new EndpointsPausedError(soonest, { cause: lastError });
      throw lastError ?? new AppError('upstream_error', { detail: 'No model endpoint could be tried' });
    },
  };
}

export interface RelayWithFallbacksInput {
  /** The version's pool first, then its fallbacks (other versions or providers on OpenAI's wire). */
  candidates: readonly FallbackCandidate[];
  /** The caller's request as sent, with Axon's edits applied; `model` is replaced by each candidate's upstream id. */
  body: Record<string, unknown>;
  stream: boolean;
  signal: AbortSignal;
  citations?: unknown[] | undefined;
  captureChars?: number;
  /** The prompt as text, read only by a pool balancing by prefix. */
  promptText?: () => string;
}

/**
 * `relayOpenAIChat` through a fallback chain of endpoint pools: retries and fallbacks happen
 * before the first token (the caller sees nothing of a failed try); after it, a failure ends the
 * stream with an error event and the partial answer, as with one target. The outcome names the
 * endpoint and candidate that served and the number of tries.
 */
export function relayWithFallbacks(
  reply: FastifyReply,
  input: RelayWithFallbacksInput,
  onDone: (outcome: RelayOutcome) => void,
): Promise<void> {
  const { candidates, promptText, ...rest } = input;
  return relayOpenAIChat(reply, { ...rest, routing: createFallbackRouting(candidates, promptText ? { promptText } : {}) }, onDone);
}
