import type {
  Account,
  AgentRunParts,
  ApiKey,
  ApiKeyScope,
  Citation,
  Conversation,
  FeedbackEvent,
  FeedbackSummary,
  FeedbackValue,
  Message,
  MessageAttachment,
  MessageFeedback,
  MessageStatus,
  Organization,
  OrgLimits,
  PromptLogMode,
  Role,
  SessionSummary,
  Timing,
  Usage,
  User,
} from '@axon/contracts';
import type { ModelRegistryRepository } from '../modelops/types';
import type { AuditEvent, AuditEventInput } from '../observability/audit-chain';
import type { AgentRepository, DatasetRepository, McpServerRepository, ToolApprovalRepository } from './agent-store';
import type { CollectionRepository, DocumentRepository, IngestJobRepository, SearchIndex } from './rag-store';
import type { PromptLogRepository, PromptRepository, UsageRepository } from './service-store';

/**
 * The first organisation: every account made before organisations existed, and the first admin.
 * Its admins run the installation (they create organisations and set their limits).
 */
export const HOME_ORG_ID = 'org_default';

/** A user with the secret needed to check a password; never leaves the server. */
export interface UserRecord extends User {
  passwordHash: string | null;
  /** When an administrator disabled the account; null while it is active. */
  disabledAt: string | null;
}

/** What disabling or deleting an account did: `last_admin` when it was refused to keep the first organisation administered. */
export type AccountChange = 'done' | 'not_found' | 'last_admin';

export interface UserRepository {
  /** Creates a user; throws `AppError('conflict')` if the email is taken. */
  create(input: { email: string; passwordHash: string | null; role: Role; orgId: string }): Promise<UserRecord>;
  /** Creates an admin only if no account exists yet, atomically; undefined if one does. */
  createFirstAdmin(input: { email: string; passwordHash: string }): Promise<UserRecord | undefined>;
  findByEmail(email: string): Promise<UserRecord | undefined>;
  /** The account, disabled or not; deleted accounts are not found. */
  findById(id: string): Promise<UserRecord | undefined>;
  /** The organisation's accounts (deleted ones left out). */
  list(orgId: string): Promise<Account[]>;
  /** Accounts in every organisation (whether anyone has set up the installation). */
  count(): Promise<number>;
  setRole(id: string, role: Role): Promise<boolean>;
  setOrg(id: string, orgId: string): Promise<boolean>;
  /** The account an identity provider's subject signed in as before. */
  findByIdentity(provider: string, subject: string): Promise<UserRecord | undefined>;
  linkIdentity(provider: string, subject: string, userId: string): Promise<void>;
  /**
   * Disables an account of `orgId` and, in the same transaction, deletes its sessions, revokes its API
   * keys and drops its pending password resets. Refused (`last_admin`) for the last active admin of the
   * first organisation.
   */
  disable(id: string, orgId: string, at: Date): Promise<AccountChange>;
  /** Lets a disabled account of `orgId` sign in again (its revoked keys stay revoked). */
  enable(id: string, orgId: string): Promise<boolean>;
  /**
   * Deletes an account of `orgId`: its conversations, sessions, API keys, identities, collection
   * memberships and password resets go; the row stays, disabled, with its email replaced and no password,
   * as the owner of collections it shared with the organisation. Same refusal as `disable`.
   */
  delete(id: string, orgId: string, at: Date): Promise<AccountChange>;
  setPassword(id: string, passwordHash: string): Promise<boolean>;
}

/** One-time password reset links, stored by the hash of their token. */
export interface PasswordResetRepository {
  /** Stores a link; the account's earlier unused links stop working. */
  create(input: { tokenHash: string; userId: string; createdBy: string | null; expiresAt: Date }): Promise<void>;
  /** Uses a link up (each works once) and returns its account; undefined when unknown, expired or used. */
  take(tokenHash: string, now: Date): Promise<{ userId: string } | undefined>;
}

export interface OrganizationRepository {
  /** `conflict` when the slug is taken. */
  create(input: { slug: string; name: string; limits: OrgLimits; promptLogMode: PromptLogMode | null }): Promise<Organization>;
  get(id: string): Promise<Organization | undefined>;
  findBySlug(slug: string): Promise<Organization | undefined>;
  list(): Promise<Array<Organization & { users: number }>>;
  update(
    id: string,
    patch: { name?: string | undefined; limits?: OrgLimits | undefined; promptLogMode?: PromptLogMode | null | undefined },
  ): Promise<Organization | undefined>;
}

/** Sign-ins through an identity provider between the redirect there and the way back. */
export interface PendingSsoLogin {
  provider: string;
  codeVerifier: string;
  nonce: string;
  returnTo: string;
}
export interface SsoLoginRepository {
  create(stateHash: string, login: PendingSsoLogin, expiresAt: Date): Promise<void>;
  /** Removes and returns the pending sign-in (each state works once); undefined when unknown or expired. */
  take(stateHash: string, now: Date): Promise<PendingSsoLogin | undefined>;
}

export interface SessionRecord {
  /** The session's public id (not its token). */
  id: string;
  user: User;
  csrfToken: string;
  expiresAt: string;
}

export interface SessionRepository {
  /** Stores a session under the hash of its token. */
  create(input: { tokenHash: string; userId: string; csrfToken: string; expiresAt: Date }): Promise<void>;
  /** The live session for a token hash, with its user; expired ones and those of disabled accounts are not returned. */
  find(tokenHash: string, now: Date): Promise<SessionRecord | undefined>;
  delete(tokenHash: string): Promise<void>;
  /** Records where a new session signed in from. */
  describe(tokenHash: string, client: { ip: string | null; userAgent: string | null }): Promise<void>;
  /** Records a request made with the session. */
  touch(tokenHash: string, at: Date): Promise<void>;
  /** The user's live sessions, newest first. */
  listForUser(userId: string, now: Date): Promise<Array<Omit<SessionSummary, 'current'>>>;
  /** Deletes a session by its id if that user owns it. */
  deleteById(id: string, userId: string): Promise<boolean>;
  /** Deletes every session of the user; returns how many. */
  deleteForUser(userId: string): Promise<number>;
  deleteExpired(now: Date): Promise<number>;
}

export interface ApiKeyRecord extends ApiKey {
  userId: string;
}

export interface ApiKeyRepository {
  create(input: {
    userId: string;
    name: string;
    prefix: string;
    keyHash: string;
    scopes: ApiKeyScope[];
    rpm: number | null;
    tpm: number | null;
    expiresAt: string | null;
    prompt: string | null;
    model: string | null;
  }): Promise<ApiKeyRecord>;
  /** The unrevoked key with this hash and its owner, unless the owner is disabled. */
  findActiveByHash(keyHash: string): Promise<{ key: ApiKeyRecord; user: User } | undefined>;
  listForUser(userId: string): Promise<ApiKey[]>;
  /** Every key of the organisation's accounts. */
  listAll(orgId: string): Promise<ApiKeyRecord[]>;
  /** Revokes a key if that user owns it, or if it belongs to that organisation. Returns whether one was revoked. */
  revoke(id: string, owner: { userId: string } | { orgId: string }): Promise<boolean>;
  touch(id: string, at: Date): Promise<void>;
}

export interface ConversationListQuery {
  q?: string | undefined;
  limit: number;
  cursor?: string | undefined;
  /** Archived conversations only (true), or none of them (false, the default); a search `q` finds both when not given. */
  archived?: boolean | undefined;
}

/** A conversation as a chat turn reads it. */
export interface ConversationWithThread {
  conversation: Conversation;
  messages: Message[];
  activeLeafId: string | null;
}

export interface ConversationRepository {
  create(input: {
    userId: string;
    title: string;
    model: string | null;
    collectionIds?: string[] | undefined;
    prompt?: string | null | undefined;
    systemPrompt?: string | null | undefined;
    temperature?: number | null | undefined;
    maxTokens?: number | null | undefined;
  }): Promise<Conversation>;
  /** The conversation if it belongs to `userId`. */
  get(id: string, userId: string): Promise<Conversation | undefined>;
  /**
   * The conversation if it belongs to `userId`, with its messages in order of writing and the last
   * message of the branch it shows (as `messages.activeLeaf`; null when it has none), read together.
   */
  getWithMessages(id: string, userId: string): Promise<ConversationWithThread | undefined>;
  /** Newest first; `q` matches the title or any message's text. */
  list(userId: string, query: ConversationListQuery): Promise<{ items: Conversation[]; nextCursor: string | null }>;
  update(
    id: string,
    userId: string,
    patch: {
      title?: string | undefined;
      model?: string | undefined;
      collectionIds?: string[] | undefined;
      prompt?: string | null | undefined;
      systemPrompt?: string | null | undefined;
      temperature?: number | null | undefined;
      maxTokens?: number | null | undefined;
      /** Pins (true) or unpins it; pinned conversations come first. */
      pinned?: boolean | undefined;
      archived?: boolean | undefined;
      folder?: string | null | undefined;
    },
  ): Promise<Conversation | undefined>;
  delete(id: string, userId: string): Promise<boolean>;
}

/**
 * A read-only link to a conversation. Its token is kept as it is (not hashed) so that the owner can
 * copy the link again; it opens only for signed-in members of the owner's organisation.
 */
export interface ConversationShareRecord {
  token: string;
  conversationId: string;
  /** The owner, who made the link. */
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
}

/** Conversations' read-only links: at most one live link per conversation. */
export interface ConversationShareRepository {
  /**
   * The live link of a conversation of `userId`'s, made with `token` when it has none (`created`
   * says which). Undefined when the conversation is not theirs.
   */
  share(input: {
    conversationId: string;
    userId: string;
    token: string;
  }): Promise<{ share: ConversationShareRecord; created: boolean } | undefined>;
  /** The live link of a conversation of `userId`'s, if it has one. */
  live(conversationId: string, userId: string): Promise<ConversationShareRecord | undefined>;
  /** Revokes the live link of a conversation of `userId`'s; the link revoked, undefined when there was none. */
  revoke(conversationId: string, userId: string, at: Date): Promise<ConversationShareRecord | undefined>;
  /**
   * The live link `token` as a member of `orgId` opens it, with its conversation's owner. Undefined
   * when the token is unknown or revoked, or the owner is in another organisation, disabled or deleted.
   */
  open(token: string, orgId: string): Promise<{ share: ConversationShareRecord; ownerId: string; ownerEmail: string } | undefined>;
}

export interface NewMessage {
  id?: string;
  conversationId: string;
  role: 'user' | 'assistant';
  content: string;
  status: MessageStatus;
  model: string | null;
  /** The message it follows; by default the last of the branch shown, which it then ends. */
  parentId?: string | null | undefined;
}

/**
 * The first write of a chat turn: the question asked (when one was) and the answer that starts
 * streaming for it, with what the turn changes on the conversation.
 */
export interface NewTurn {
  conversationId: string;
  /** Appended in this order, each following its `parentId` (null: a first message); the last ends the branch shown. */
  messages: Array<
    Omit<NewMessage, 'conversationId' | 'parentId'> & {
      id: string;
      parentId: string | null;
      attachments?: MessageAttachment[] | undefined;
      citations?: Citation[] | undefined;
    }
  >;
  /** The conversation's new title, when the turn names it. */
  title?: string | undefined;
  /** The conversation's new model, when the turn changes it. */
  model?: string | undefined;
}

export interface MessagePatch {
  content?: string;
  status?: MessageStatus;
  usage?: Usage;
  timing?: Timing;
  error?: string | null;
  citations?: Citation[];
  /** An agent's steps and structured summary. */
  agentRun?: AgentRunParts | null;
  attachments?: MessageAttachment[];
}

/** An answer whose writer stopped giving heartbeats, as `markStale` left it. */
export interface InterruptedAnswer {
  id: string;
  conversationId: string;
  /** The text saved by its last heartbeat. */
  content: string;
}

/** One answer of `heartbeatMany`. */
export interface AnswerHeartbeat {
  id: string;
  /** Its text so far; absent when unchanged since its last heartbeat (only its liveness is noted). */
  content?: string | undefined;
}

/** What an answer interrupted by a stopped server says (its `error`). */
export const INTERRUPTED_ANSWER_ERROR = 'The server stopped while this answer was being written';

export interface MessageRepository {
  /** Appends a message and bumps its conversation's `updatedAt`. */
  append(message: NewMessage): Promise<Message>;
  /**
   * Appends a turn's messages, makes the last one the conversation's leaf, bumps its `updatedAt` and
   * sets its title and model when given: all in one write (one statement on PostgreSQL). Rejects,
   * writing nothing, when there is no such conversation.
   */
  appendTurn(turn: NewTurn): Promise<Message[]>;
  update(id: string, patch: MessagePatch): Promise<void>;
  /** In order of writing. */
  listByConversation(conversationId: string): Promise<Message[]>;
  delete(id: string): Promise<void>;
  /**
   * Marks every answer left `streaming` as `error`; returns how many. Only for a store one process
   * owns, at its start (no other process can be writing an answer); shared stores use `markStale`.
   */
  markInterrupted(): Promise<number>;
  /**
   * Saves a streaming answer's text so far and notes that its writer is alive (every second or so
   * while it streams). Does nothing to an answer that is no longer `streaming`.
   */
  heartbeat(id: string, content: string): Promise<void>;
  /**
   * Heartbeats of many streaming answers in one statement (a replica's every answer, every second or
   * so): each gets its `content` saved when given (its text changed) and is noted alive. Answers no
   * longer `streaming`, or unknown, are left alone.
   */
  heartbeatMany(entries: ReadonlyArray<AnswerHeartbeat>): Promise<void>;
  /**
   * Marks the answers still `streaming` whose writer gave no heartbeat since `heartbeatBefore` (an
   * ISO time; an answer without one counts from its creation) as `error`, keeping their text, and
   * returns them. Each answer is returned to one caller only, however many replicas sweep at once.
   */
  markStale(heartbeatBefore: string): Promise<InterruptedAnswer[]>;
  /** The last message of the branch the conversation shows (set by `append` and `setActiveLeaf`); null: its newest message. */
  activeLeaf(conversationId: string): Promise<string | null>;
  setActiveLeaf(conversationId: string, messageId: string): Promise<void>;
}

/** Thumbs up or down on answers, kept for the usage dashboard and model experiments. */
export interface FeedbackRepository {
  /**
   * Gives or replaces a person's feedback on an answer of one of their conversations; the answer's
   * model is recorded with it. Undefined when there is no such answer of theirs.
   */
  set(input: {
    messageId: string;
    userId: string;
    orgId: string;
    value: FeedbackValue;
    comment: string | null;
  }): Promise<MessageFeedback | undefined>;
  /** Withdraws it; whether there was one. */
  clear(messageId: string, userId: string): Promise<boolean>;
  /** The person's feedback on the answers of a conversation, by message id. */
  forConversation(conversationId: string, userId: string): Promise<Map<string, MessageFeedback>>;
  /** Counts per model and the latest feedback of an organisation (null: every organisation) in `[from, to)`. */
  summary(range: { from: string; to: string; orgId: string | null }): Promise<FeedbackSummary>;
  /** Every feedback row in `[from, to)`, oldest first, for export (read a page at a time). */
  events(range: { from: string; to: string; orgId: string | null }): AsyncIterable<FeedbackEvent>;
}

/** Each person's own settings. */
export interface PreferencesRepository {
  get(userId: string): Promise<{ instructions: string }>;
  set(userId: string, preferences: { instructions: string }): Promise<{ instructions: string }>;
}

/** The hash-chained audit trail (see observability/audit-chain). */
export interface AuditRepository {
  /** Appends one event, chained to the last (serialised across processes). */
  append(event: AuditEventInput): Promise<AuditEvent>;
  /** Newest first, before a sequence number; optionally one action or one organisation only. */
  list(options: {
    before?: number | undefined;
    limit: number;
    action?: string | undefined;
    orgId?: string | undefined;
  }): Promise<AuditEvent[]>;
  /** Every event in order, for verification and export (read a page at a time). */
  all(): AsyncIterable<AuditEvent>;
  /**
   * The highest sequence number ever issued (a deleted last row leaves it behind). Read it before
   * walking `all()`: events appended meanwhile only add to what the walk sees.
   */
  lastIssued(): Promise<number>;
}

/** The store: one repository per aggregate. */
export interface Store {
  organizations: OrganizationRepository;
  users: UserRepository;
  ssoLogins: SsoLoginRepository;
  sessions: SessionRepository;
  passwordResets: PasswordResetRepository;
  apiKeys: ApiKeyRepository;
  conversations: ConversationRepository;
  /** Read-only links to conversations. */
  shares: ConversationShareRepository;
  messages: MessageRepository;
  collections: CollectionRepository;
  documents: DocumentRepository;
  searchIndex: SearchIndex;
  ingestJobs: IngestJobRepository;
  audit: AuditRepository;
  gatewayResponses: GatewayResponseRepository;
  agents: AgentRepository;
  mcpServers: McpServerRepository;
  toolApprovals: ToolApprovalRepository;
  datasets: DatasetRepository;
  feedback: FeedbackRepository;
  preferences: PreferencesRepository;
  prompts: PromptRepository;
  usage: UsageRepository;
  promptLog: PromptLogRepository;
  /** Model aliases and their immutable versions (installation-wide), and which version served a response. */
  modelRegistry: ModelRegistryRepository;
  /** Resolves when the store answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Who a `/v1/responses` response belongs to: only its user, in its organisation, may continue or read it. */
export interface ResponseOwner {
  userId: string;
  orgId: string;
}

/**
 * A response made through `/v1/responses`. `translated`: Axon made it from chat completions and
 * keeps its items, so that `previous_response_id` can continue it. `relayed`: an upstream that
 * serves the Responses API made and keeps it; Axon records only whose it is.
 */
export interface GatewayResponseRecord {
  id: string;
  owner: ResponseOwner;
  kind: 'translated' | 'relayed';
  /** The Axon model id it was made with (`connection/model`). */
  model: string;
  /** The connection that made it (a relayed response can only be continued there). */
  connection: string;
  previousId: string | null;
  /** Translated only: the input items of this request (without earlier turns), and the output items. */
  inputItems: unknown[];
  outputItems: unknown[];
  /** Translated only: the response object as it was answered (for `GET /v1/responses/{id}`). */
  response: unknown;
  createdAt: string;
  expiresAt: string;
}

export interface GatewayResponseRepository {
  /**
   * Records a response. A response continuing another one keeps the whole thread alive until
   * `expiresAt`. An id recorded already keeps its first owner (an upstream's id cannot be taken over).
   */
  save(record: Omit<GatewayResponseRecord, 'createdAt'>): Promise<void>;
  /** The response if `owner` made it and it has not expired; undefined otherwise, whoever made it. */
  get(id: string, owner: ResponseOwner, now: Date): Promise<GatewayResponseRecord | undefined>;
  /**
   * The thread ending at a translated response of `owner`: each earlier turn's input items then
   * output items, oldest first, this response's included. Undefined when `get` would find nothing.
   */
  thread(id: string, owner: ResponseOwner, now: Date): Promise<unknown[] | undefined>;
  /** Deletes a response of `owner`; whether there was one. */
  delete(id: string, owner: ResponseOwner): Promise<boolean>;
  /** Deletes expired responses; returns how many. */
  deleteExpired(now: Date): Promise<number>;
}
