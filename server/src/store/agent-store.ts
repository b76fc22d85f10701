import type { Agent, AgentConfig, AgentVersion, Dataset, McpTool } from '@axon/contracts';

/** Agents of an organisation and their immutable versions. Every lookup names the organisation. */
export interface AgentRepository {
  /** `conflict` when the organisation has an agent with that slug. */
  create(input: {
    orgId: string;
    slug: string;
    name: string;
    description: string;
    config: AgentConfig;
    note: string;
    createdBy: string | null;
  }): Promise<Agent>;
  /** By id or slug, in that organisation. */
  get(orgId: string, idOrSlug: string): Promise<Agent | undefined>;
  list(orgId: string): Promise<Agent[]>;
  update(orgId: string, id: string, patch: { name?: string | undefined; description?: string | undefined }): Promise<Agent | undefined>;
  /** Adds the next version, active at once when `activate`. */
  addVersion(
    orgId: string,
    id: string,
    input: { config: AgentConfig; note: string; createdBy: string | null; activate: boolean },
  ): Promise<Agent | undefined>;
  versions(orgId: string, id: string): Promise<AgentVersion[]>;
  /** Makes an existing version the active one. */
  activate(orgId: string, id: string, version: number): Promise<Agent | undefined>;
  delete(orgId: string, id: string): Promise<boolean>;
}

/** An MCP server as stored: its secrets (header values or environment) included, for the client only. */
export interface McpServerRecord {
  id: string;
  orgId: string;
  name: string;
  transport: 'stdio' | 'http';
  command: string | null;
  args: string[];
  url: string | null;
  /** Headers (HTTP) or environment (stdio). */
  secrets: Record<string, string>;
  lastError: string | null;
  createdAt: string;
}

export interface McpToolRecord extends Omit<McpTool, 'grantName' | 'status'> {
  approvedHash: string | null;
}

export interface McpServerRepository {
  create(input: Omit<McpServerRecord, 'id' | 'createdAt' | 'lastError'> & { createdBy: string | null }): Promise<McpServerRecord>;
  get(orgId: string, idOrName: string): Promise<McpServerRecord | undefined>;
  list(orgId: string): Promise<McpServerRecord[]>;
  delete(orgId: string, id: string): Promise<boolean>;
  setError(id: string, error: string | null): Promise<void>;
  tools(serverId: string): Promise<McpToolRecord[]>;
  /**
   * Records what the server lists now: new tools are added unapproved, changed ones keep their
   * approved hash (so they read as changed), tools no longer listed are removed.
   */
  syncTools(
    serverId: string,
    tools: Array<Pick<McpToolRecord, 'name' | 'description' | 'inputSchema' | 'hash' | 'readOnly'>>,
  ): Promise<void>;
  /** Approves the tool as listed with `hash`; false when it is not listed with that hash (it changed since). */
  approveTool(serverId: string, name: string, hash: string, approval: McpToolRecord['approval'], by: string): Promise<boolean>;
}

export interface ToolApprovalRecord {
  id: string;
  orgId: string;
  userId: string;
  agentId: string;
  tool: string;
  input: unknown;
  status: 'pending' | 'approved' | 'denied' | 'expired';
  createdAt: string;
  expiresAt: string;
}

export interface ToolApprovalRepository {
  create(input: Omit<ToolApprovalRecord, 'status' | 'createdAt'>): Promise<ToolApprovalRecord>;
  /** The approval, if it is that user's. */
  get(id: string, userId: string): Promise<ToolApprovalRecord | undefined>;
  /**
   * Decides a pending, unexpired approval of that user; only the first decision is taken. Returns the
   * record as it is afterwards (its status says whether this decision won), undefined if unknown.
   */
  decide(id: string, userId: string, decision: 'approved' | 'denied', now: Date): Promise<ToolApprovalRecord | undefined>;
  /** Marks a pending approval expired (its run waited long enough); returns its final record. */
  expire(id: string): Promise<ToolApprovalRecord | undefined>;
}

export interface DatasetRecord extends Dataset {
  orgId: string;
  /** The dataset's SQLite file, relative to the datasets folder. */
  file: string;
}

export interface DatasetRepository {
  /** Registers or replaces a dataset of an organisation. */
  put(record: Omit<DatasetRecord, 'createdAt'>): Promise<DatasetRecord>;
  get(orgId: string, name: string): Promise<DatasetRecord | undefined>;
  list(orgId: string): Promise<DatasetRecord[]>;
  /** Hosts an admin opened to `fetch_url` in the organisation. */
  fetchHosts(orgId: string): Promise<string[]>;
  setFetchHosts(orgId: string, hosts: string[]): Promise<void>;
}
