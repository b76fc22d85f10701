import type { JSONSchema7 } from '@ai-sdk/provider';
import type { Citation, User } from '@axon/contracts';

/**
 * What a tool call runs with: the caller (their user and organisation), the agent, and what the
 * agent may reach for this caller, fixed when the run starts. Nothing a tool returns can change it.
 */
export interface ToolContext {
  user: Pick<User, 'id' | 'email' | 'role' | 'orgId'>;
  agent: { id: string; slug: string };
  /** The agent's collections that the caller may read. */
  collectionIds: string[];
  /** The agent's datasets (names). */
  datasets: string[];
  /** Aborted by Stop, the client going away or the run's time budget: a tool stops its work then. */
  signal: AbortSignal;
}

/** What a tool returns: a JSON value for the model and the step card, and passages it cites. */
export interface ToolOutput {
  value: unknown;
  citations?: Citation[] | undefined;
}

/**
 * The tool seam: built-in tools and MCP servers' tools alike. `execute` receives the input already
 * checked against `parse` and throws `ToolRefusal` (or any error) when it will not or cannot run.
 */
export interface AgentTool {
  /** The name the model calls it by (letters, digits, `_` and `-`, up to 64). */
  name: string;
  /** How grants, steps and the audit trail name it, when not `name` (`mcp.files.write_note`). */
  displayName?: string | undefined;
  description: string;
  /** JSON Schema of the input, as given to the model. */
  inputSchema: JSONSchema7;
  /** Checks and normalises the model's input; throws a readable error when it does not fit. */
  parse(input: unknown): unknown;
  /** Whether a call changes something outside Axon, so the user approves each call first. */
  needsApproval: boolean;
  execute(input: unknown, context: ToolContext): Promise<ToolOutput>;
}

/** A tool's refusal to run a call (outside its grant, a blocked address, a query that is not one SELECT). */
const REFUSAL = Symbol.for('axon.ToolRefusal');

export class ToolRefusal extends Error {
  readonly [REFUSAL] = true;
  constructor(message: string) {
    super(message);
    this.name = 'ToolRefusal';
  }
  /** Recognised by its brand, not `instanceof` (a second copy of this module would break that). */
  static isInstance(error: unknown): error is ToolRefusal {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[REFUSAL] === true;
  }
}

/** Reads an input with a zod-like schema, turning its failure into one line the model can act on. */
export function parseWith<T>(schema: {
  safeParse(
    v: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } };
}) {
  return (input: unknown): T => {
    const result = schema.safeParse(input);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new ToolRefusal(`Invalid input${issue?.path.length ? ` at ${issue.path.join('.')}` : ''}: ${issue?.message ?? 'does not fit'}`);
    }
    return result.data;
  };
}
