import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';
import type { AgentRunParts, AgentStep, Citation, ToolApprovalRequest, TreasurySummary } from '@axon/contracts';

/** What the web chat asks an agent's model for: its steps as stream parts. */
export const STREAM_STEPS = { axon: { streamSteps: true } };

/** A step card while its tool runs: the input is known, the output is not. */
export interface RunningStep {
  id: string;
  step: number;
  tool: string;
  input: unknown;
  status: 'running';
}

/** The UI message stream's data parts an agent's answer carries (reconciled by id as they change). */
export type AgentUiChunk =
  | { type: 'data-step'; id: string; data: AgentStep | RunningStep }
  | {
      type: 'data-approval';
      id: string;
      data: ToolApprovalRequest & { toolCallId: string; status: 'pending' | 'approved' | 'denied' | 'expired' | 'stopped' };
    }
  | { type: 'data-citations'; data: Citation[] }
  | { type: 'data-treasury-summary'; data: TreasurySummary };

type AxonMetadata = { step?: unknown; approval?: unknown; citations?: unknown; summary?: unknown };

/**
 * Turns an agent model's stream parts into the web chat's data parts: a step card when a tool
 * starts and again when it ends (same id), an approval card while a call waits for the user, and
 * at the finish the citations and the structured summary. Keeps what the answer saves.
 */
export function createAgentUiStream(send: (chunk: AgentUiChunk) => void, existingCitations: Citation[]) {
  const steps: AgentStep[] = [];
  /** Tool calls in the order they started (results arrive in the order they finish). */
  const order: string[] = [];
  const approvals = new Map<string, AgentUiChunk & { type: 'data-approval' }>();
  let citations: Citation[] = [];
  let summary: TreasurySummary | null = null;
  const axonOf = (part: { providerMetadata?: Record<string, unknown> | undefined }) => (part.providerMetadata?.axon ?? {}) as AxonMetadata;
  return {
    onPart(part: LanguageModelV3StreamPart) {
      if (part.type === 'tool-call') {
        order.push(part.toolCallId);
        send({
          type: 'data-step',
          id: part.toolCallId,
          data: {
            id: part.toolCallId,
            step: Number(axonOf(part).step ?? 0),
            tool: part.toolName,
            input: safeParse(part.input),
            status: 'running',
          },
        });
      } else if (part.type === 'tool-approval-request') {
        const approval = axonOf(part).approval as ToolApprovalRequest;
        const chunk = {
          type: 'data-approval' as const,
          id: part.approvalId,
          data: { ...approval, toolCallId: part.toolCallId, status: 'pending' as const },
        };
        approvals.set(part.toolCallId, chunk);
        send(chunk);
      } else if (part.type === 'tool-result') {
        const step = axonOf(part).step as AgentStep;
        steps.push(step);
        const waiting = approvals.get(part.toolCallId);
        if (waiting) {
          const status =
            step.status === 'denied'
              ? 'denied'
              : step.status === 'expired'
                ? 'expired'
                : step.status === 'stopped'
                  ? 'stopped'
                  : 'approved';
          send({ ...waiting, data: { ...waiting.data, status } });
        }
        send({ type: 'data-step', id: step.id, data: step });
      } else if (part.type === 'finish') {
        const axon = axonOf(part);
        // The agent's passages come after those the chat itself attached, numbered as the agent cited them.
        citations = Array.isArray(axon.citations) ? (axon.citations as Citation[]) : [];
        if (citations.length > 0) send({ type: 'data-citations', data: [...existingCitations, ...citations] });
        summary = (axon.summary as TreasurySummary | undefined) ?? null;
        if (summary) send({ type: 'data-treasury-summary', data: summary });
      }
    },
    /** What the answer saves: its steps and summary, and every citation. */
    saved(): { agentRun: AgentRunParts; citations: Citation[] } {
      const sorted = [...steps].sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
      return { agentRun: { steps: sorted, summary }, citations: [...existingCitations, ...citations] };
    },
  };
}

const safeParse = (raw: string): unknown => {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
};
