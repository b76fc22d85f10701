import type {
  JSONValue,
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import type { AgentRunReport, Citation } from '@axon/contracts';
import type { AgentRunEvent } from './run-agent';

/** What one run of an agent gives back to its language model. */
export interface AgentModelRun {
  text: string;
  report: AgentRunReport;
  citations: Citation[];
  /** Set when the planner failed: the model call fails with it. */
  error?: unknown;
}

/** Runs the agent for one call of its language model; `onEvent` hears the run as it goes. */
export type RunAgentCall = (options: LanguageModelV3CallOptions, onEvent: (event: AgentRunEvent) => void) => Promise<AgentModelRun>;

/**
 * `providerOptions.axon.streamSteps: true` asks the agent's model to stream each tool call and
 * result as provider-executed parts (what the web chat shows as step cards). Without it (`/v1`),
 * only the answer's text streams, and the steps arrive in the finish part's
 * `providerMetadata.axon` (`AgentRunReport`), so no translator mistakes them for the caller's tools.
 */
export const streamsSteps = (options: LanguageModelV3CallOptions) =>
  (options.providerOptions?.axon as { streamSteps?: unknown } | undefined)?.streamSteps === true;

const usageOf = (report: AgentRunReport): LanguageModelV3Usage => ({
  inputTokens: { total: report.usage.inputTokens, noCache: report.usage.inputTokens, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: report.usage.outputTokens, text: report.usage.outputTokens, reasoning: undefined },
});

const metadataOf = (run: AgentModelRun) => ({ axon: { ...run.report, citations: run.citations } as unknown as Record<string, JSONValue> });

/**
 * An agent as a language model of the seam: `doStream` and `doGenerate` run the whole loop inside
 * Axon (planner calls, tools, approvals) and answer with its final text, so every route that
 * speaks the seam (the web chat, `/v1/chat/completions`, `/v1/responses`, `/v1/messages`) serves
 * agents unchanged.
 */
export function createAgentLanguageModel(modelId: string, run: RunAgentCall): LanguageModelV3 {
  return {
    specificationVersion: 'v3',
    provider: 'axon.agent',
    modelId,
    supportedUrls: {},
    async doGenerate(options) {
      const result = await run(options, () => undefined);
      if (result.error !== undefined) throw result.error;
      return {
        content: [{ type: 'text', text: result.text }],
        finishReason: { unified: result.report.outcome === 'stopped' ? 'other' : 'stop', raw: result.report.outcome },
        usage: usageOf(result.report),
        providerMetadata: metadataOf(result),
        warnings: [],
      };
    },
    async doStream(options) {
      const steps = streamsSteps(options);
      let push!: (part: LanguageModelV3StreamPart) => void;
      let close!: () => void;
      // The reader may cancel (Stop) while the run still reports: parts after that are dropped.
      let open = true;
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        start(controller) {
          push = (part) => {
            if (open) controller.enqueue(part);
          };
          close = () => {
            if (!open) return;
            open = false;
            controller.close();
          };
        },
        cancel() {
          open = false;
        },
      });
      push({ type: 'stream-start', warnings: [] });
      let textOpen = false;
      const onEvent = (event: AgentRunEvent) => {
        if (event.type === 'text-delta') {
          if (!textOpen) {
            textOpen = true;
            push({ type: 'text-start', id: 'text-0' });
          }
          push({ type: 'text-delta', id: 'text-0', delta: event.delta });
        } else if (!steps) {
          return;
        } else if (event.type === 'tool-start') {
          push({
            type: 'tool-call',
            toolCallId: event.id,
            toolName: event.tool,
            input: JSON.stringify(event.input ?? {}),
            providerExecuted: true,
            dynamic: true,
            providerMetadata: { axon: { step: event.step } },
          });
        } else if (event.type === 'approval-requested') {
          push({
            type: 'tool-approval-request',
            approvalId: event.approval.id,
            toolCallId: event.toolCallId,
            providerMetadata: { axon: { approval: event.approval as unknown as JSONValue } },
          });
        } else {
          push({
            type: 'tool-result',
            toolCallId: event.step.id,
            toolName: event.step.tool,
            result: (event.step.output ?? null) as NonNullable<JSONValue>,
            isError: event.step.status !== 'ok',
            dynamic: true,
            providerMetadata: { axon: { step: event.step as unknown as JSONValue, citations: event.citations as unknown as JSONValue } },
          });
        }
      };
      void run(options, onEvent).then(
        (result) => {
          if (result.error !== undefined) {
            push({ type: 'error', error: result.error });
            return close();
          }
          // A structured answer (JSON) is written whole at the end, when it was not streamed as text.
          if (!textOpen && result.text) {
            textOpen = true;
            push({ type: 'text-start', id: 'text-0' });
            push({ type: 'text-delta', id: 'text-0', delta: result.text });
          }
          if (textOpen) push({ type: 'text-end', id: 'text-0' });
          push({
            type: 'finish',
            finishReason: { unified: result.report.outcome === 'stopped' ? 'other' : 'stop', raw: result.report.outcome },
            usage: usageOf(result.report),
            providerMetadata: metadataOf(result),
          });
          close();
        },
        (error: unknown) => {
          push({ type: 'error', error });
          close();
        },
      );
      return { stream };
    },
  };
}
