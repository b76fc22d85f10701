import type { Usage } from '@axon/contracts';

/**
 * The tokens a model call is counted for (rate limits, budgets, the usage ledger): the provider's
 * usage when it reported one, otherwise an estimate from what was sent and received. A stream that
 * was stopped or failed part way usually ends without the provider's usage; it still cost what
 * streamed. Output is estimated at four characters a token; a call that produced nothing counts 0
 * output when it completed and unknown (null) otherwise.
 */
export function countedUsage(
  usage: Usage,
  sent: { estimatedInputTokens?: number | undefined; outputChars: number; status: 'complete' | 'stopped' | 'error' },
): Usage {
  return {
    inputTokens: usage.inputTokens ?? sent.estimatedInputTokens ?? null,
    outputTokens: usage.outputTokens ?? (sent.outputChars > 0 ? Math.ceil(sent.outputChars / 4) : sent.status === 'complete' ? 0 : null),
  };
}
