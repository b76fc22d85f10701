import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3StreamPart } from '@ai-sdk/provider';

/** One planner turn of a script: text, tool calls (emitted together, so they run in parallel), tokens used. */
export interface ScriptedTurn {
  text?: string;
  toolCalls?: Array<{ name: string; input: unknown; id?: string }>;
  usage?: { input: number; output: number };
  /** Wait this long before finishing (to test time budgets and Stop). */
  delayMs?: number;
  /** Fail the call with this error. */
  error?: Error;
}

/**
 * A planner `LanguageModel` that plays a script: turn i answers the i-th call (the last turn
 * repeats), given the call's options so it can read the tool results so far. Records every call.
 */
export function createScriptedModel(script: ScriptedTurn[] | ((options: LanguageModelV3CallOptions, call: number) => ScriptedTurn)) {
  const calls: LanguageModelV3CallOptions[] = [];
  const turnFor = (options: LanguageModelV3CallOptions, i: number): ScriptedTurn =>
    typeof script === 'function' ? script(options, i) : (script[Math.min(i, script.length - 1)] ?? {});
  const model: LanguageModelV3 & { calls: LanguageModelV3CallOptions[] } = {
    specificationVersion: 'v3',
    provider: 'test.scripted',
    modelId: 'scripted',
    supportedUrls: {},
    calls,
    async doGenerate(options) {
      const turn = turnFor(options, calls.length);
      calls.push(options);
      if (turn.error) throw turn.error;
      return {
        content: [
          ...(turn.text ? [{ type: 'text' as const, text: turn.text }] : []),
          ...(turn.toolCalls ?? []).map((c, i) => ({
            type: 'tool-call' as const,
            toolCallId: c.id ?? `call_${calls.length}_${i}`,
            toolName: c.name,
            input: JSON.stringify(c.input),
          })),
        ],
        finishReason: { unified: turn.toolCalls?.length ? 'tool-calls' : 'stop', raw: undefined },
        usage: {
          inputTokens: { total: turn.usage?.input ?? 10, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
          outputTokens: { total: turn.usage?.output ?? 5, text: undefined, reasoning: undefined },
        },
        warnings: [],
      };
    },
    async doStream(options) {
      const turn = turnFor(options, calls.length);
      const n = calls.length + 1;
      calls.push(options);
      if (turn.error) throw turn.error;
      const signal = options.abortSignal;
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        async start(controller) {
          controller.enqueue({ type: 'stream-start', warnings: [] });
          if (turn.text) {
            controller.enqueue({ type: 'text-start', id: 't' });
            controller.enqueue({ type: 'text-delta', id: 't', delta: turn.text });
            controller.enqueue({ type: 'text-end', id: 't' });
          }
          if (turn.delayMs) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, turn.delayMs);
              signal?.addEventListener('abort', () => {
                clearTimeout(timer);
                resolve();
              });
            });
            if (signal?.aborted) {
              controller.error(signal.reason);
              return;
            }
          }
          for (const [i, c] of (turn.toolCalls ?? []).entries())
            controller.enqueue({
              type: 'tool-call',
              toolCallId: c.id ?? `call_${n}_${i}`,
              toolName: c.name,
              input: JSON.stringify(c.input),
            });
          controller.enqueue({
            type: 'finish',
            finishReason: { unified: turn.toolCalls?.length ? 'tool-calls' : 'stop', raw: undefined },
            usage: {
              inputTokens: { total: turn.usage?.input ?? 10, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
              outputTokens: { total: turn.usage?.output ?? 5, text: undefined, reasoning: undefined },
            },
          });
          controller.close();
        },
      });
      return { stream };
    },
  };
  return model;
}
