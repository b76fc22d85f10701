import type { ModelInfo } from '@axon/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActiveStreams } from '../http/active-streams';
import { logRequest, observeModelCall } from '../http/log-request';
import { requirePrincipal } from '../http/require-principal';
import { type RateLimits, settleLater } from '../limits/rate-limits';
import type { ModelOps } from '../modelops/model-ops';
import type { PromptLog } from '../observability/prompt-log';
import { traceModelCall } from '../observability/tracing';
import type { AliasServing } from '../providers';
import type { OrgSettings } from '../tenancy/org-settings';
import type { RelayOutcome } from './openai-chat-relay';

export interface GatewayCallDeps {
  limits: RateLimits;
  streams: ActiveStreams;
  promptLog: PromptLog;
  orgs: OrgSettings;
  /** Where answers of model aliases report their outcome. */
  modelOps?: ModelOps | undefined;
}

export interface GatewayCallInput {
  info: ModelInfo;
  /** The route, for the prompt log (`/v1/chat/completions`, `/v1/messages`, `/v1/responses`). */
  route: string;
  stream: boolean;
  /** Tokens the prompt holds, estimated (called at most once, only when a limit or an estimate needs it). */
  estimateInputTokens: () => Promise<number>;
  /** Tokens the caller allows the answer (0: unknown). */
  maxOutputTokens: number;
  temperature?: number | undefined;
  /** The caller's prompt as text, for the prompt log. */
  promptText: () => string;
  /** The alias version serving the call, when the caller named an alias. */
  served?: AliasServing | undefined;
}

/** One model call through the gateway, whatever its wire format: what `run` needs, and the taps it reports to. */
export interface GatewayCall {
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Reports how the call ended: settles limits, records usage, metrics, the prompt log and the log line. */
  done(outcome: RelayOutcome): void;
  /** Whether the answer's text is kept (for the prompt log); when not, only its length is needed. */
  keepsText: boolean;
}

/**
 * Runs one gateway model call with the controls every wire format shares: admission by the rate
 * limits and budgets (refused with 429 before anything is sent), a slot among the active streams,
 * an abort signal tied to the client's connection, a trace span, and, when it ends, usage settled
 * (the upstream's, or estimated from what was sent and received when it gave none), the usage
 * ledger, metrics and the prompt log. `run` answers the client and reports through `call.done`.
 */
export async function runGatewayCall(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: GatewayCallDeps,
  input: GatewayCallInput,
  run: (call: GatewayCall) => Promise<void>,
): Promise<void> {
  const principal = requirePrincipal(request);
  let estimatedInput: number | undefined;
  const estimateInput = async () => {
    estimatedInput ??= await input.estimateInputTokens();
    return estimatedInput;
  };
  const admission = await deps.limits.admit(principal, {
    estimateTokens: async () => (await estimateInput()) + input.maxOutputTokens,
    stream: input.stream,
  });
  reply.headers(admission.headers);
  const controller = new AbortController();
  const untrack = deps.streams.track(controller);
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort(new DOMException('The client closed the connection', 'AbortError'));
  };
  reply.raw.on('close', onClose);
  let cleaned = false;
  const cleanUp = () => {
    if (cleaned) return;
    cleaned = true;
    void admission.release().catch((error) => request.log.error({ err: error }, 'releasing a stream slot failed'));
    reply.raw.off('close', onClose);
    untrack();
  };
  const logMode = (await deps.orgs.get(principal.user.orgId))?.promptLogMode ?? deps.promptLog.mode;
  let final: RelayOutcome | undefined;
  const done = (outcome: RelayOutcome) => {
    if (final) return;
    final = outcome;
    const usage = {
      inputTokens: outcome.usage.inputTokens ?? estimatedInput ?? null,
      outputTokens:
        outcome.usage.outputTokens ?? (outcome.chars > 0 ? Math.ceil(outcome.chars / 4) : outcome.status === 'complete' ? 0 : null),
    };
    settleLater(request, admission, (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0));
    cleanUp();
    // An alias's answers are counted and priced as its version's model's.
    const model = input.served?.version.model ?? input.info.id;
    const observation = { model, outcome: outcome.status, usage, timing: outcome.timing, failure: outcome.failure?.kind };
    if (input.served && deps.modelOps)
      deps.modelOps.report(
        input.served,
        {
          ok: outcome.status !== 'error',
          ttftMs: outcome.timing.ttftMs,
          totalMs: outcome.timing.totalMs,
          costUsd: request.server.usage?.cost(model, usage.inputTokens ?? 0, usage.outputTokens ?? 0) ?? 0,
          outputChars: outcome.chars,
        },
        { responseId: outcome.responseId, orgId: principal.user.orgId, userId: principal.user.id },
      );
    if (input.stream) logRequest(request, 200, observation);
    else observeModelCall(request, observation);
    if (logMode !== 'off')
      deps.promptLog.record(
        {
          orgId: principal.user.orgId,
          userId: principal.user.id,
          apiKeyId: principal.apiKeyId ?? null,
          route: input.route,
          model: input.info.id,
          prompt: input.promptText(),
          response: outcome.text,
          status: outcome.status,
          inputTokens: usage.inputTokens,
          outputTokens: usage.outputTokens,
        },
        logMode,
      );
  };
  const modelCall = {
    model: input.info.id,
    provider: input.info.connection,
    maxTokens: input.maxOutputTokens || undefined,
    temperature: input.temperature,
  };
  try {
    await traceModelCall(request.server.tracer, request.span, modelCall, async () => {
      await run({ signal: controller.signal, done, keepsText: logMode !== 'off' });
      return {
        usage: final?.usage ?? { inputTokens: null, outputTokens: null },
        status: final?.status ?? 'error',
        finishReason: final?.finishReason ?? null,
      };
    });
  } finally {
    cleanUp();
  }
}
