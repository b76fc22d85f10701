import type { ModelInfo, PromptTemplateVersion } from '@axon/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActiveStreams } from '../http/active-streams';
import { logRequest, observeModelCall } from '../http/log-request';
import { requirePrincipal } from '../http/require-principal';
import { type RateLimits, settleLater } from '../limits/rate-limits';
import type { ModelOps } from '../modelops/model-ops';
import type { ShadowRequest } from '../modelops/shadow-runner';
import type { PromptLog } from '../observability/prompt-log';
import { traceModelCall } from '../observability/tracing';
import type { PromptStore } from '../prompts/prompt-store';
import type { AliasServing } from '../providers';
import { HOME_ORG_ID } from '../store';
import type { OrgSettings } from '../tenancy/org-settings';
import type { RelayOutcome } from './openai-chat-relay';

/**
 * The prompt template a gateway request is rendered with: the one the caller names (`metadataPrompt`,
 * from the body's `metadata.prompt`, else the `X-Axon-Prompt` header, else the API key's own;
 * "name" or "name@version", of the caller's organisation), else its alias version's (the
 * installation's, like the alias). `ref` is the version applied, `name@version`.
 */
export async function requestTemplate(
  request: FastifyRequest,
  prompts: PromptStore,
  metadataPrompt: unknown,
  served: AliasServing | undefined,
): Promise<{ version: PromptTemplateVersion; ref: string } | undefined> {
  const principal = requirePrincipal(request);
  const header = request.headers['x-axon-prompt'];
  const own =
    (typeof metadataPrompt === 'string' ? metadataPrompt : undefined) ??
    (typeof header === 'string' ? header : undefined) ??
    principal.apiKey?.prompt;
  const ref = own ?? served?.version.prompt;
  if (!ref) return undefined;
  const { template, version } = await prompts.resolve(own ? principal.user.orgId : HOME_ORG_ID, ref);
  return { version, ref: `${template.name}@${version.version}` };
}

/**
 * A request's metadata split for a template: its variables (every entry but `prompt` and the
 * wire's own `keep` keys), and what goes on upstream (the `keep` keys and the entries the template
 * does not declare; undefined when nothing is left).
 */
export function templateMetadata<V>(
  version: PromptTemplateVersion,
  metadata: Record<string, V> | null | undefined,
  keep: readonly string[] = [],
): { variables: Record<string, V>; rest: Record<string, V> | undefined } {
  const variables: Record<string, V> = {};
  const rest: Record<string, V> = {};
  const declared = new Set(version.variables.map((v) => v.name));
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (key === 'prompt') continue;
    if (keep.includes(key)) rest[key] = value;
    else {
      variables[key] = value;
      if (!declared.has(key)) rest[key] = value;
    }
  }
  return { variables, rest: Object.keys(rest).length > 0 ? rest : undefined };
}

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
  estimateInputTokens: () => number;
  /** Tokens the caller allows the answer (0: unknown). */
  maxOutputTokens: number;
  temperature?: number | undefined;
  /** The caller's prompt as text, for the prompt log. */
  promptText: () => string;
  /** The alias version serving the call, when the caller named an alias. */
  served?: AliasServing | undefined;
  /**
   * What a completed answer mirrors to the alias's shadow version, when its assignment drew one
   * (made only then): the chat completions body sent, or the translated call options.
   */
  shadow?: (() => ShadowRequest) | undefined;
}

/** One model call through the gateway, whatever its wire format: what `run` needs, and the taps it reports to. */
export interface GatewayCall {
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Reports how the call ended: settles limits, records usage, metrics, the prompt log and the log line. */
  done(outcome: RelayOutcome): void;
  /** Whether the answer's text is kept (for the prompt log, or to compare a shadow's with); when not, only its length is needed. */
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
  const estimateInput = () => {
    estimatedInput ??= input.estimateInputTokens();
    return estimatedInput;
  };
  const admission = await deps.limits.admit(principal, {
    estimateTokens: () => estimateInput() + input.maxOutputTokens,
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
  /** Whether the answer is compared with a shadow's once complete. */
  const mirrors = input.shadow !== undefined && input.served?.assignment.shadowVersion !== undefined;
  let final: RelayOutcome | undefined;
  const done = (outcome: RelayOutcome) => {
    if (final) return;
    final = outcome;
    cleanUp();
    // An answer the provider gave no usage for (a stream stopped by the client or cut off ends
    // before it) counts the prompt's tokens as estimated, unless a limit already did.
    if (outcome.usage.inputTokens === null) estimateInput();
    record(outcome);
  };
  const record = (outcome: RelayOutcome) => {
    const usage = {
      inputTokens: outcome.usage.inputTokens ?? estimatedInput ?? null,
      outputTokens:
        outcome.usage.outputTokens ?? (outcome.chars > 0 ? Math.ceil(outcome.chars / 4) : outcome.status === 'complete' ? 0 : null),
    };
    settleLater(request, admission, (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0));
    // An alias's answers are counted and priced as its version's model's.
    const model = input.served?.version.model ?? input.info.id;
    const observation = { model, outcome: outcome.status, usage, timing: outcome.timing, failure: outcome.failure?.kind };
    if (input.served && deps.modelOps) {
      const costUsd = request.server.usage?.cost(model, usage.inputTokens ?? 0, usage.outputTokens ?? 0) ?? 0;
      deps.modelOps.report(
        input.served,
        {
          ok: outcome.status !== 'error',
          ttftMs: outcome.timing.ttftMs,
          totalMs: outcome.timing.totalMs,
          costUsd,
          outputChars: outcome.chars,
        },
        { responseId: outcome.responseId, orgId: principal.user.orgId, userId: principal.user.id, source: 'api' },
      );
      if (mirrors && input.shadow && outcome.status === 'complete') {
        try {
          deps.modelOps.mirrorShadow(input.served, input.shadow(), { text: outcome.text, totalMs: outcome.timing.totalMs, costUsd });
        } catch (error) {
          request.log.warn({ err: error }, 'a shadow request could not be made');
        }
      }
    }
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
      await run({ signal: controller.signal, done, keepsText: logMode !== 'off' || mirrors });
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
