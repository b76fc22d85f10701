/**
 * Agents: configured assistants of an organisation that plan with a model and call tools under the
 * caller's permissions. Shared by the server (routes, `/v1` extension field) and the web app.
 */
import { z } from 'zod';

const RoleEnum = z.enum(['admin', 'builder', 'member', 'auditor']);

/** Names of the tools built into Axon. */
export const BUILTIN_TOOLS = ['search_documents', 'calculator', 'query_data', 'fetch_url'] as const;
export type BuiltinToolName = (typeof BUILTIN_TOOLS)[number];

/** `mcp.<server>.<tool>`: a tool of an organisation's MCP server. */
export const ToolNameSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(
    /^(search_documents|calculator|query_data|fetch_url|mcp\.[a-z0-9][a-z0-9-]{0,39}\.[A-Za-z0-9_.-]{1,128})$/,
    'a built-in tool or mcp.<server>.<tool>',
  );

/** A tool granted to an agent; `roles` narrows who may have it run (all roles of the agent's users when absent). */
export const ToolGrantSchema = z.strictObject({
  name: ToolNameSchema,
  roles: z.array(RoleEnum).min(1).max(4).optional(),
});
export type ToolGrant = z.infer<typeof ToolGrantSchema>;

export const AgentBudgetsSchema = z.strictObject({
  /** Model calls at most (each may ask for several tools at once). */
  maxSteps: z.number().int().min(1).max(50).default(8),
  /** Wall-clock seconds for the whole run, tools included. */
  maxSeconds: z.number().int().min(1).max(900).default(120),
  /** Input plus output tokens over every model call of the run. */
  maxTokens: z.number().int().min(100).max(2_000_000).default(60_000),
});
export type AgentBudgets = z.infer<typeof AgentBudgetsSchema>;

/** One version of an agent's configuration. Versions are immutable; an agent answers with its active one. */
export const AgentConfigSchema = z.strictObject({
  /** The planner model (a model id or alias); empty: the server's default model. */
  model: z.string().max(200).default(''),
  /** Instructions: a prompt template's system prompt (`name`, or `name@version`), then `instructions` text. */
  prompt: z
    .string()
    .max(100)
    .regex(/^[a-z0-9][a-z0-9_.-]{0,63}(@\d{1,6})?$/, 'a template name, optionally @version')
    .nullable()
    .default(null),
  instructions: z.string().max(20_000).default(''),
  tools: z.array(ToolGrantSchema).max(64).default([]),
  /** Collections `search_documents` searches (only those the caller may read). */
  collections: z.array(z.string().min(1).max(100)).max(20).default([]),
  /** Datasets `query_data` may read, by name. */
  datasets: z
    .array(z.string().regex(/^[a-z][a-z0-9_]{0,62}$/))
    .max(20)
    .default([]),
  budgets: AgentBudgetsSchema.default({ maxSteps: 8, maxSeconds: 120, maxTokens: 60_000 }),
  /** `treasury-summary`: questions about the treasury yield movement get the structured summary. */
  output: z.enum(['text', 'treasury-summary']).default('text'),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

export const AgentSlugSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lower-case letters, digits and -, up to 40 characters');

export const CreateAgentSchema = z.strictObject({
  slug: AgentSlugSchema,
  name: z.string().trim().min(1).max(100),
  description: z.string().max(500).default(''),
  config: AgentConfigSchema,
  note: z.string().max(500).default(''),
});
export const UpdateAgentSchema = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  description: z.string().max(500).optional(),
});
export const NewAgentVersionSchema = z.strictObject({
  config: AgentConfigSchema,
  note: z.string().max(500).default(''),
  activate: z.boolean().default(true),
});

export interface AgentVersion {
  version: number;
  config: AgentConfig;
  note: string;
  createdBy: string | null;
  createdAt: string;
}

export interface Agent {
  id: string;
  slug: string;
  /** `agent/<slug>`: how the model picker and `/v1` name it. */
  modelId: string;
  name: string;
  description: string;
  activeVersion: number;
  latestVersion: number;
  /** The active version's configuration. */
  config: AgentConfig;
  createdAt: string;
  updatedAt: string;
}

/** How one tool call of a run ended. */
export const AgentStepStatusSchema = z.enum(['ok', 'error', 'denied', 'refused', 'stopped', 'expired']);
export type AgentStepStatus = z.infer<typeof AgentStepStatusSchema>;

/** One tool call of a run, as the web app's step card and the `/v1` `axon.steps` field show it. */
export const AgentStepSchema = z.object({
  /** The tool call's id. */
  id: z.string(),
  /** The model call (1-based) that asked for it. */
  step: z.number().int(),
  tool: z.string(),
  input: z.unknown(),
  /** What the tool returned (capped), or null when it did not run. */
  output: z.unknown(),
  status: AgentStepStatusSchema,
  error: z.string().optional(),
  durationMs: z.number(),
});
export type AgentStep = z.infer<typeof AgentStepSchema>;

/** What the `axon` extension field of a `/v1` answer from an agent holds. */
export interface AgentRunReport {
  agent: string;
  version: number;
  steps: AgentStep[];
  /** `complete`, or which budget ended the run. */
  outcome: 'complete' | 'max_steps' | 'max_time' | 'max_tokens' | 'stopped' | 'error';
  usage: { inputTokens: number; outputTokens: number };
  summary?: TreasurySummary | undefined;
}

/** A tool call waiting for the user's decision. */
export interface ToolApprovalRequest {
  id: string;
  tool: string;
  input: unknown;
  agent: string;
  expiresAt: string;
}
export const ToolApprovalDecisionSchema = z.strictObject({ decision: z.enum(['approve', 'deny']) });

// ---- MCP servers -------------------------------------------------------------------------------

export const McpServerNameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lower-case letters, digits and -, up to 40 characters');

const HeaderMapSchema = z
  .record(z.string().regex(/^[A-Za-z0-9-]{1,100}$/), z.string().max(4000))
  .refine((m) => Object.keys(m).length <= 20);

export const CreateMcpServerSchema = z.discriminatedUnion('transport', [
  z.strictObject({
    name: McpServerNameSchema,
    transport: z.literal('stdio'),
    command: z.string().min(1).max(500),
    args: z.array(z.string().max(2000)).max(50).default([]),
    /** Environment of the process (secrets go here; never returned). */
    env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]{0,100}$/), z.string().max(4000)).default({}),
  }),
  z.strictObject({
    name: McpServerNameSchema,
    transport: z.literal('http'),
    url: z.url({ protocol: /^https?$/ }).max(2000),
    /** Headers sent with every request (secrets go here; never returned). */
    headers: HeaderMapSchema.default({}),
  }),
]);
export type CreateMcpServer = z.infer<typeof CreateMcpServerSchema>;

export const McpToolStatusSchema = z.enum(['approved', 'pending', 'changed']);
export interface McpTool {
  name: string;
  /** The grantable name, `mcp.<server>.<tool>`. */
  grantName: string;
  description: string;
  inputSchema: unknown;
  /** SHA-256 of the name, description and schema as last listed. */
  hash: string;
  /** `approved`: the listed tool is the one approved; `changed`: it differs, disabled until re-approved. */
  status: z.infer<typeof McpToolStatusSchema>;
  /** The server annotates it read-only. */
  readOnly: boolean;
  /** Whether a call waits for the user's approval (`auto`: unless read-only). */
  approval: 'auto' | 'always' | 'never';
}

export interface McpServer {
  id: string;
  name: string;
  transport: 'stdio' | 'http';
  command: string | null;
  args: string[];
  url: string | null;
  /** Names of the headers or environment variables set (their values are never returned). */
  secretNames: string[];
  tools: McpTool[];
  /** Why the last listing failed, if it did. */
  lastError: string | null;
  createdAt: string;
}

export const ApproveMcpToolSchema = z.strictObject({
  /** The hash the admin saw (a tool changed since is not approved by this). */
  hash: z.string().regex(/^[a-f0-9]{64}$/),
  approval: z.enum(['auto', 'always', 'never']).default('auto'),
});

// ---- Datasets and the fetch allow-list ----------------------------------------------------------

export interface Dataset {
  name: string;
  description: string;
  tables: Array<{ name: string; columns: Array<{ name: string; type: string }>; rows: number }>;
  createdAt: string;
}

export const FetchAllowListSchema = z.strictObject({
  /** Hosts `fetch_url` may reach even when they resolve to private addresses (`host` or `host:port`). */
  hosts: z
    .array(
      z
        .string()
        .trim()
        .toLowerCase()
        .regex(/^[a-z0-9.[\]:-]{1,260}$/),
    )
    .max(100),
});

// ---- The treasury summary -----------------------------------------------------------------------

export const TreasuryTenorSchema = z.object({
  tenor: z.string(),
  /** Maturity in years (1 Mo = 0.0833). */
  years: z.number(),
  /** Par yield in percent. */
  level: z.number(),
  /** Change in basis points against the previous trading day; null when either day has no value. */
  change1dBp: z.number().nullable(),
  /** Change in basis points against the last trading day at least seven days earlier. */
  change1wBp: z.number().nullable(),
});

export const TreasurySpreadSchema = z.object({
  /** Basis points (long minus short). */
  levelBp: z.number(),
  change1dBp: z.number(),
  change1wBp: z.number(),
});

export const TreasurySummarySchema = z.object({
  kind: z.literal('treasury-summary'),
  date: z.string(),
  previousDate: z.string(),
  weekAgoDate: z.string(),
  tenors: z.array(TreasuryTenorSchema),
  spreads: z.object({ '2s10s': TreasurySpreadSchema, '3m10y': TreasurySpreadSchema }),
  shape: z.object({
    /** By the 2s10s spread: inverted below −10 bp, flat within ±10 bp, normal above. */
    curve: z.enum(['normal', 'flat', 'inverted']),
    /** By the change of the 2s10s spread (±1 bp). */
    trend1d: z.enum(['steepening', 'flattening', 'unchanged']),
    trend1w: z.enum(['steepening', 'flattening', 'unchanged']),
  }),
  /** The three largest one-day moves, largest first. */
  largestMoves: z.array(z.object({ tenor: z.string(), change1dBp: z.number() })),
  /** Passages of the FOMC texts released nearest before the date, cited as [n]. */
  context: z.array(z.object({ n: z.number().int(), documentName: z.string(), date: z.string().nullable(), text: z.string() })),
  narrative: z.string(),
  /** `model`: written by the planner model; `composed`: assembled from the fields and extracted sentences. */
  narrativeSource: z.enum(['model', 'composed']),
  grounding: z.object({
    /** Every number in the narrative is one of the computed figures. */
    ok: z.boolean(),
    /** Numbers the narrative states that are not in the data (the narrative is flagged, not hidden). */
    unsupported: z.array(z.string()),
    attempts: z.number().int(),
  }),
});
export type TreasurySummary = z.infer<typeof TreasurySummarySchema>;

/** What an answer of an agent keeps besides its text: its steps and, for the treasury question, the summary. */
export const AgentRunPartsSchema = z.object({
  steps: z.array(AgentStepSchema),
  summary: TreasurySummarySchema.nullable(),
});
export type AgentRunParts = z.infer<typeof AgentRunPartsSchema>;
