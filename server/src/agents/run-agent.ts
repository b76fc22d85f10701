import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3FunctionTool,
  LanguageModelV3Message,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3ToolResultOutput,
} from '@ai-sdk/provider';
import type {
  AgentBudgets,
  AgentRunReport,
  AgentStep,
  AgentStepStatus,
  Citation,
  ToolApprovalRequest,
  TreasurySummary,
} from '@axon/contracts';
import { type AgentTool, type ToolContext, ToolRefusal } from './tool';

/** What the loop reports while it runs, in order. */
export type AgentRunEvent =
  | { type: 'text-delta'; delta: string }
  | { type: 'tool-start'; id: string; step: number; tool: string; input: unknown }
  | { type: 'approval-requested'; toolCallId: string; approval: ToolApprovalRequest }
  | { type: 'tool-end'; step: AgentStep; citations: Citation[] };

export type ApprovalDecision = 'approved' | 'denied' | 'expired' | 'stopped';

/** Asks the caller whether a tool call that changes something may run. */
export interface ApprovalGate {
  /**
   * Records the request, announces it (`announce`, so the web app shows Approve and Deny), and
   * resolves with the first decision, `expired` when none came in time, `stopped` when `signal` aborts.
   */
  request(
    call: { toolCallId: string; tool: string; input: unknown },
    announce: (approval: ToolApprovalRequest) => void,
    signal: AbortSignal,
  ): Promise<ApprovalDecision>;
}

/** One finished tool call, for the audit trail, metrics and traces. */
export interface ToolCallRecord {
  tool: string;
  input: unknown;
  status: AgentStepStatus;
  durationMs: number;
  error?: string | undefined;
}

export interface RunAgentInput {
  /** The planner. */
  model: LanguageModelV3;
  /** Instructions and the conversation so far. */
  prompt: LanguageModelV3Prompt;
  /** The tools this run may call: the agent's grants for this caller, fixed now. */
  tools: AgentTool[];
  context: Omit<ToolContext, 'signal'>;
  budgets: AgentBudgets;
  /** Stop, the client going away, shutdown. */
  signal: AbortSignal;
  /** Without one, a tool that needs approval is refused (over `/v1` there is no one to ask). */
  approvals?: ApprovalGate | undefined;
  responseFormat?: LanguageModelV3CallOptions['responseFormat'];
  settings?: Pick<LanguageModelV3CallOptions, 'temperature' | 'maxOutputTokens' | 'topP' | 'seed'> | undefined;
  onEvent?: ((event: AgentRunEvent) => void) | undefined;
  /** Runs each tool call (traces wrap it here); called with the call's record when it ends. */
  observeTool?: (<T>(tool: string, run: () => Promise<T>) => Promise<T>) | undefined;
  onToolCall?: ((record: ToolCallRecord) => void) | undefined;
  /**
   * A fixed plan instead of the planner's own (the treasury summary): it calls tools through the
   * same path (grants, audit, step cards, Stop) and returns the answer's text.
   */
  plan?: ((api: PlanApi) => Promise<{ text: string; summary?: TreasurySummary | undefined }>) | undefined;
  now?: () => number;
}

/** What a fixed plan may do: call tools (in parallel when given several), write text, count model usage. */
export interface PlanApi {
  callTools(calls: Array<{ tool: string; input: unknown }>): Promise<AgentStep[]>;
  emitText(delta: string): void;
  addUsage(usage: { inputTokens: number; outputTokens: number }): void;
  /** The citations the tools returned so far, numbered as the answer cites them. */
  citations(): Citation[];
  signal: AbortSignal;
}

export interface AgentRunResult {
  text: string;
  steps: AgentStep[];
  citations: Citation[];
  outcome: AgentRunReport['outcome'];
  usage: { inputTokens: number; outputTokens: number };
  /** The structured answer of a plan that makes one. */
  summary?: TreasurySummary | undefined;
  /** Set when `outcome` is `error`: why the planner failed. */
  error?: unknown;
}

/** Characters of a tool's output given back to the model (and kept on its step card) at most. */
const MAX_OUTPUT_CHARS = 16_000;

class BudgetExceeded extends Error {
  constructor(readonly outcome: 'max_time') {
    super(outcome);
  }
}

function capOutput(value: unknown): unknown {
  const json = JSON.stringify(value ?? null);
  if (json.length <= MAX_OUTPUT_CHARS) return value ?? null;
  return { truncated: true, text: json.slice(0, MAX_OUTPUT_CHARS) };
}

const parseToolInput = (raw: string): unknown => {
  if (raw.trim() === '') return {};
  return JSON.parse(raw);
};

/**
 * The agent loop over the language-model seam: the planner is called with the granted tools; the
 * tool calls it asks for (several at once run in parallel) run under the caller's context, their
 * results go back to it, and so on until it answers or a budget ends the run: `maxSteps` model
 * calls (the last one without tools, so that it answers with what it has), `maxTokens` over all
 * calls, `maxSeconds` of wall time. Stop aborts the model call or the running tools at once.
 * Text in tool results is data for the planner: nothing in it changes the tools, collections or
 * datasets of the run, which were fixed before it started.
 */
export async function runAgent(input: RunAgentInput): Promise<AgentRunResult> {
  const now = input.now ?? (() => performance.now());
  const { budgets } = input;
  const controller = new AbortController();
  const onCallerAbort = () => controller.abort(input.signal.reason);
  if (input.signal.aborted) onCallerAbort();
  else input.signal.addEventListener('abort', onCallerAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new BudgetExceeded('max_time')), budgets.maxSeconds * 1000);
  const signal = controller.signal;
  const byName = new Map(input.tools.map((t) => [t.name, t]));
  const toolDefinitions: LanguageModelV3FunctionTool[] = input.tools.map((t) => ({
    type: 'function',
    name: t.name,
    description: t.description,
    inputSchema: t.inputSchema,
  }));
  const messages: LanguageModelV3Message[] = [...input.prompt];
  const steps: AgentStep[] = [];
  const citations: Citation[] = [];
  const usage = { inputTokens: 0, outputTokens: 0 };
  let text = '';
  let outcome: AgentRunResult['outcome'] = 'complete';
  let failure: unknown;
  let summary: TreasurySummary | undefined;

  const stoppedOutcome = (): AgentRunResult['outcome'] =>
    input.signal.aborted ? 'stopped' : signal.reason instanceof BudgetExceeded ? 'max_time' : 'stopped';

  const abortPromise = new Promise<never>((_, reject) => {
    signal.addEventListener('abort', () => reject(new ToolRefusal('stopped')), { once: true });
  });
  abortPromise.catch(() => undefined);

  // Steps are reported in the order the planner asked for them, not the order they finished in.
  const callOrder = new Map<string, number>();
  async function runTool(
    call: { toolCallId: string; toolName: string; input: string },
    step: number,
  ): Promise<LanguageModelV3ToolResultOutput> {
    const started = now();
    callOrder.set(call.toolCallId, callOrder.size);
    const tool = byName.get(call.toolName);
    const label = tool?.displayName ?? call.toolName;
    let parsedInput: unknown = call.input;
    const finish = (status: AgentStepStatus, output: unknown, error?: string): LanguageModelV3ToolResultOutput => {
      const durationMs = Math.round((now() - started) * 10) / 10;
      const record: AgentStep = {
        id: call.toolCallId,
        step,
        tool: label,
        input: parsedInput,
        output,
        status,
        durationMs,
        ...(error ? { error } : {}),
      };
      steps.push(record);
      input.onToolCall?.({ tool: label, input: parsedInput, status, durationMs, error });
      const own = status === 'ok' ? (lastCitations ?? []) : [];
      lastCitations = undefined;
      input.onEvent?.({ type: 'tool-end', step: record, citations: own });
      if (status === 'ok') return { type: 'json', value: (output ?? null) as never };
      if (status === 'denied' || status === 'expired') return { type: 'execution-denied', reason: error };
      return { type: 'error-text', value: error ?? status };
    };
    let lastCitations: Citation[] | undefined;
    try {
      parsedInput = parseToolInput(call.input);
    } catch {
      input.onEvent?.({ type: 'tool-start', id: call.toolCallId, step, tool: label, input: call.input });
      return finish('error', null, 'The tool input is not valid JSON.');
    }
    input.onEvent?.({ type: 'tool-start', id: call.toolCallId, step, tool: label, input: parsedInput });
    if (!tool) return finish('refused', null, `The tool ${call.toolName} is not granted to this agent.`);
    let checked: unknown;
    try {
      checked = tool.parse(parsedInput);
    } catch (error) {
      return finish('error', null, (error as Error).message);
    }
    if (tool.needsApproval) {
      if (!input.approvals)
        return finish('denied', null, 'This tool changes things and needs the user’s approval, which only the web app can give.');
      const decision = await input.approvals.request(
        { toolCallId: call.toolCallId, tool: label, input: checked },
        (approval) => input.onEvent?.({ type: 'approval-requested', toolCallId: call.toolCallId, approval }),
        signal,
      );
      if (decision === 'denied') return finish('denied', null, 'The user denied this call.');
      if (decision === 'expired') return finish('expired', null, 'Nobody approved this call in time.');
      if (decision === 'stopped') return finish('stopped', null, 'The run was stopped.');
    }
    if (signal.aborted) return finish('stopped', null, 'The run was stopped.');
    try {
      const run = () => Promise.race([tool.execute(checked, { ...input.context, signal }), abortPromise]);
      const output = await (input.observeTool ? input.observeTool(label, run) : run());
      if (output.citations && output.citations.length > 0) {
        // Numbered after the passages earlier calls returned, in the output the planner reads too.
        const offset = citations.length;
        const renumber = new Map(output.citations.map((c) => [c.n, c.n + offset]));
        const own = output.citations.map((c) => ({ ...c, n: c.n + offset }));
        citations.push(...own);
        lastCitations = own;
        const value = output.value as { passages?: Array<{ n: number }> };
        if (Array.isArray(value?.passages)) for (const p of value.passages) p.n = renumber.get(p.n) ?? p.n;
      }
      return finish('ok', capOutput(output.value));
    } catch (error) {
      if (signal.aborted) return finish('stopped', null, 'The run was stopped while the tool ran.');
      const message = ToolRefusal.isInstance(error) ? error.message : `The tool failed: ${(error as Error).message ?? String(error)}`;
      return finish('error', null, message.slice(0, 2000));
    }
  }

  try {
    if (input.plan) {
      let step = 0;
      let callId = 0;
      const planned = await input.plan({
        async callTools(calls) {
          step++;
          const ids = calls.map(() => `call_${step}_${++callId}`);
          await Promise.all(
            calls.map((c, i) => runTool({ toolCallId: ids[i] as string, toolName: c.tool, input: JSON.stringify(c.input ?? {}) }, step)),
          );
          return ids.map((id) => steps.find((s) => s.id === id) as AgentStep);
        },
        emitText(delta) {
          text += delta;
          input.onEvent?.({ type: 'text-delta', delta });
        },
        addUsage(more) {
          usage.inputTokens += more.inputTokens;
          usage.outputTokens += more.outputTokens;
        },
        citations: () => citations,
        signal,
      });
      text = planned.text;
      summary = planned.summary;
      if (signal.aborted) outcome = stoppedOutcome();
    }
    for (let step = 1; !input.plan; step++) {
      const last = step >= budgets.maxSteps;
      const options: LanguageModelV3CallOptions = {
        prompt: messages,
        abortSignal: signal,
        ...(input.settings ?? {}),
        ...(input.responseFormat ? { responseFormat: input.responseFormat } : {}),
        ...(toolDefinitions.length > 0 && !last ? { tools: toolDefinitions, toolChoice: { type: 'auto' as const } } : {}),
      };
      let stepText = '';
      const calls: Array<{ toolCallId: string; toolName: string; input: string }> = [];
      let reader: ReadableStreamDefaultReader<LanguageModelV3StreamPart>;
      try {
        reader = (await input.model.doStream(options)).stream.getReader();
      } catch (error) {
        if (signal.aborted) {
          outcome = stoppedOutcome();
          break;
        }
        throw error;
      }
      const cancel = () => void reader.cancel().catch(() => undefined);
      signal.addEventListener('abort', cancel, { once: true });
      try {
        for (;;) {
          const { done, value: part } = await reader.read();
          if (done) break;
          if (part.type === 'text-delta' && part.delta) {
            if (stepText === '' && text !== '' && !text.endsWith('\n')) {
              text += '\n\n';
              input.onEvent?.({ type: 'text-delta', delta: '\n\n' });
            }
            stepText += part.delta;
            text += part.delta;
            input.onEvent?.({ type: 'text-delta', delta: part.delta });
          } else if (part.type === 'tool-call' && !part.providerExecuted) {
            calls.push({ toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
          } else if (part.type === 'finish') {
            usage.inputTokens += part.usage.inputTokens.total ?? 0;
            usage.outputTokens += part.usage.outputTokens.total ?? 0;
          } else if (part.type === 'error') {
            throw part.error;
          }
        }
      } catch (error) {
        if (signal.aborted) {
          outcome = stoppedOutcome();
          break;
        }
        throw error;
      } finally {
        signal.removeEventListener('abort', cancel);
      }
      if (signal.aborted) {
        outcome = stoppedOutcome();
        break;
      }
      if (calls.length === 0) {
        outcome = 'complete';
        break;
      }
      if (last) {
        // The last call had no tools to ask for and asked anyway: the step budget ends the run here.
        outcome = 'max_steps';
        break;
      }
      messages.push({
        role: 'assistant',
        content: [
          ...(stepText ? [{ type: 'text' as const, text: stepText }] : []),
          ...calls.map((c) => ({ type: 'tool-call' as const, toolCallId: c.toolCallId, toolName: c.toolName, input: safeJson(c.input) })),
        ],
      });
      const outputs = await Promise.all(calls.map((call) => runTool(call, step)));
      messages.push({
        role: 'tool',
        content: calls.map((call, i) => ({
          type: 'tool-result' as const,
          toolCallId: call.toolCallId,
          toolName: call.toolName,
          output: outputs[i] as LanguageModelV3ToolResultOutput,
        })),
      });
      if (signal.aborted) {
        outcome = stoppedOutcome();
        break;
      }
      if (usage.inputTokens + usage.outputTokens >= budgets.maxTokens) {
        outcome = 'max_tokens';
        break;
      }
    }
  } catch (error) {
    if (signal.aborted) outcome = stoppedOutcome();
    else {
      outcome = 'error';
      failure = error;
    }
  } finally {
    clearTimeout(timer);
    input.signal.removeEventListener('abort', onCallerAbort);
    if (!signal.aborted) controller.abort(new Error('run finished'));
  }
  steps.sort((a, b) => a.step - b.step || (callOrder.get(a.id) ?? 0) - (callOrder.get(b.id) ?? 0));
  const notes: Partial<Record<AgentRunResult['outcome'], string>> = {
    max_time: `The agent ran out of time (${budgets.maxSeconds} s) before it finished.`,
    max_tokens: `The agent used its token budget (${budgets.maxTokens} tokens) before it finished.`,
  };
  const note = notes[outcome];
  if (note) {
    const delta = `${text ? '\n\n' : ''}_${note}_`;
    text += delta;
    input.onEvent?.({ type: 'text-delta', delta });
  }
  return { text, steps, citations, outcome, usage, ...(summary ? { summary } : {}), ...(outcome === 'error' ? { error: failure } : {}) };
}

const safeJson = (raw: string): unknown => {
  try {
    return parseToolInput(raw);
  } catch {
    return raw;
  }
};
