/**
 * Schemas shared by the server, the web app and the CLI. Types are inferred from them,
 * so a change here is checked on both sides of the wire.
 */
import { z } from 'zod';
import { AgentRunPartsSchema } from './agents';
import { FolderNameSchema, MAX_INSTRUCTIONS_CHARS, MessageFeedbackSchema } from './chat-habits';

/** RFC 9457 problem details, as every non-`/v1` error body. */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  code: z.string(),
  requestId: z.string().optional(),
  /** For `validation_failed`: which fields were wrong and why. */
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  /** For `rate_limited`: seconds until a retry may succeed. */
  retryAfterSeconds: z.number().optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;

/** admin: everything; builder: chat, prompts, models; member: chat; auditor: usage and audit only. */
export const RoleSchema = z.enum(['admin', 'builder', 'member', 'auditor']);
export type Role = z.infer<typeof RoleSchema>;

export const EmailSchema = z.string().trim().toLowerCase().pipe(z.email().max(254));
export const PasswordSchema = z.string().min(10, 'use at least 10 characters').max(256, 'use at most 256 characters');

export const UserSchema = z.object({
  id: z.string(),
  email: z.string(),
  role: RoleSchema,
  /** The organisation (tenant) the account belongs to. */
  orgId: z.string(),
  createdAt: z.string(),
});
export type User = z.infer<typeof UserSchema>;

export const CredentialsSchema = z.strictObject({
  email: EmailSchema,
  password: z.string().min(1).max(256),
});
export const SetupRequestSchema = z.strictObject({ email: EmailSchema, password: PasswordSchema });

/** Limits for a whole organisation; 0 or absent: none. */
export const OrgLimitsSchema = z.strictObject({
  rpm: z.number().int().min(0).max(10_000_000).optional(),
  tpm: z.number().int().min(0).max(10_000_000_000).optional(),
  concurrentStreams: z.number().int().min(0).max(100_000).optional(),
  dailyBudgetUsd: z.number().min(0).max(10_000_000).optional(),
  monthlyBudgetUsd: z.number().min(0).max(10_000_000).optional(),
});
export type OrgLimits = z.infer<typeof OrgLimitsSchema>;

export const PromptLogModeSchema = z.enum(['off', 'redacted', 'full']);
export type PromptLogMode = z.infer<typeof PromptLogModeSchema>;

export const OrganizationSchema = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  limits: OrgLimitsSchema,
  /** Null: the server's setting applies. */
  promptLogMode: PromptLogModeSchema.nullable(),
  createdAt: z.string(),
});
export type Organization = z.infer<typeof OrganizationSchema>;

export const OrgSlugSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{1,39}$/, 'lower-case letters, digits and -, 2 to 40 characters');
export const CreateOrganizationSchema = z.strictObject({
  slug: OrgSlugSchema,
  name: z.string().trim().min(1).max(100),
  limits: OrgLimitsSchema.default({}),
  promptLogMode: PromptLogModeSchema.nullable().default(null),
});
export const UpdateOrganizationSchema = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  limits: OrgLimitsSchema.optional(),
  promptLogMode: PromptLogModeSchema.nullable().optional(),
});

/** What the web app learns about its session. `csrfToken` must be echoed in `x-csrf-token` on writes. */
export const SessionInfoSchema = z.object({
  user: UserSchema.nullable(),
  csrfToken: z.string().nullable(),
  /** True until the first account exists; the web app then shows first-run set-up. */
  needsSetup: z.boolean(),
  /** The signed-in user's organisation. */
  organization: z.object({ id: z.string(), slug: z.string(), name: z.string() }).nullable(),
  /** How one may sign in: with a password (local accounts), and through which identity providers. */
  signIn: z.object({
    password: z.boolean(),
    providers: z.array(z.object({ id: z.string(), name: z.string() })),
  }),
  /** Which permissions the signed-in user has (the web app shows pages accordingly). */
  permissions: z.array(z.string()),
});
export type SessionInfo = z.infer<typeof SessionInfoSchema>;

export const MessageStatusSchema = z.enum(['streaming', 'complete', 'stopped', 'error']);
export type MessageStatus = z.infer<typeof MessageStatusSchema>;

export const UsageSchema = z.object({
  inputTokens: z.number().int().nullable(),
  outputTokens: z.number().int().nullable(),
});
export type Usage = z.infer<typeof UsageSchema>;

export const TimingSchema = z.object({
  /** Milliseconds from the request to the first token. */
  ttftMs: z.number().nullable(),
  /** Milliseconds from the request to the last token. */
  totalMs: z.number().nullable(),
});
export type Timing = z.infer<typeof TimingSchema>;

export const MessageSchema = z.object({
  id: z.string(),
  conversationId: z.string(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  status: MessageStatusSchema,
  model: z.string().nullable(),
  usage: UsageSchema,
  timing: TimingSchema,
  /** Why an answer ended in `error`, readable by a person. */
  error: z.string().nullable(),
  /** Passages the answer was grounded in, numbered as cited in the text. */
  citations: z.array(z.lazy(() => CitationSchema)).default([]),
  /** An agent's answer: the tool calls it made and its structured summary, if any. */
  agentRun: AgentRunPartsSchema.nullable().default(null),
  /** Files the person attached to this message when sending it. */
  attachments: z.array(z.lazy(() => MessageAttachmentSchema)).default([]),
  /** The message this one follows; null for a first message. */
  parentId: z.string().nullable().default(null),
  /**
   * This message and its other versions (an edited question, a regenerated answer: messages with
   * the same parent), in order of writing; empty when it has none.
   */
  versions: z.array(z.string()).default([]),
  /** The reader's thumbs up or down on an answer, if they gave one. */
  feedback: MessageFeedbackSchema.nullable().default(null),
  createdAt: z.string(),
});
export type Message = z.infer<typeof MessageSchema>;

/** Images a model that reads images is given as they are (beside their text, read by OCR, for one that does not). */
export const IMAGE_ATTACHMENT_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'] as const;
/** Largest image sent to a model as an image, in bytes (the smallest limit of the hosted providers); a larger one is read as its text. */
export const MAX_IMAGE_ATTACHMENT_BYTES = 5 * 1_048_576;

export const MessageAttachmentSchema = z.object({
  documentId: z.string(),
  name: z.string(),
  /** The file's type as Axon read it from its bytes (an image's shows as a thumbnail). */
  mediaType: z.string().optional(),
  /**
   * How an image reached the model of the turn it was sent with: `image` as it is, `text` as the
   * text OCR read in it (a model that does not read images, or an image over the size limit).
   */
  readAs: z.enum(['image', 'text']).optional(),
});
export type MessageAttachment = z.infer<typeof MessageAttachmentSchema>;

export const ConversationSchema = z.object({
  id: z.string(),
  title: z.string(),
  model: z.string().nullable(),
  /** The prompt template the conversation's answers use (its active version), if any. */
  prompt: z.string().nullable().default(null),
  /** Collections searched for this conversation's answers. */
  collectionIds: z.array(z.string()).default([]),
  /** Instructions the person wrote for this conversation (a system message before each turn). */
  systemPrompt: z.string().nullable().default(null),
  /** Sampling temperature and answer length for its turns; null: the model's defaults. */
  temperature: z.number().nullable().default(null),
  maxTokens: z.number().int().nullable().default(null),
  /** When it was pinned to the top of the list; null when not pinned. */
  pinnedAt: z.string().nullable().default(null),
  /** When it was archived (out of the list, still searchable); null when not archived. */
  archivedAt: z.string().nullable().default(null),
  /** The folder it is filed in; null for none. */
  folder: z.string().nullable().default(null),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** In search results: a few words of the text that matched, around the match. */
  snippet: z.string().optional(),
});
export type Conversation = z.infer<typeof ConversationSchema>;

export const ConversationWithMessagesSchema = ConversationSchema.extend({
  messages: z.array(MessageSchema),
});
export type ConversationWithMessages = z.infer<typeof ConversationWithMessagesSchema>;

/** `GET /api/shared/{token}`: what a member of the owner's organisation sees through a shared link, read-only. */
export const SharedConversationSchema = z.object({
  token: z.string(),
  title: z.string(),
  /** The email of the person who shared it. */
  sharedBy: z.string(),
  sharedAt: z.string(),
  updatedAt: z.string(),
  /** The branch the owner's conversation shows, first message first, with citations; no other versions, no feedback. */
  messages: z.array(MessageSchema),
});
export type SharedConversation = z.infer<typeof SharedConversationSchema>;

export const ConversationPageSchema = z.object({
  items: z.array(ConversationSchema),
  /** Pass as `cursor` to get the next (older) page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type ConversationPage = z.infer<typeof ConversationPageSchema>;

export const ListConversationsQuerySchema = z.strictObject({
  q: z.string().trim().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(30),
  cursor: z.string().max(200).optional(),
  /** `true`: archived conversations only; by default they are left out (a search `q` finds both). */
  archived: z.enum(['true', 'false']).optional(),
});

const TemplateNameSchema = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'lower-case letters, digits, and _ . -');

export const CreateConversationSchema = z.strictObject({
  title: z.string().trim().min(1).max(200).optional(),
  model: z.string().min(1).max(200).optional(),
  collectionIds: z.array(z.string().min(1).max(100)).max(20).optional(),
  prompt: TemplateNameSchema.nullable().optional(),
  systemPrompt: z.string().trim().max(MAX_INSTRUCTIONS_CHARS).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  maxTokens: z.number().int().min(1).max(200_000).nullable().optional(),
});

export const UpdateConversationSchema = z.strictObject({
  title: z.string().trim().min(1).max(200).optional(),
  model: z.string().min(1).max(200).optional(),
  collectionIds: z.array(z.string().min(1).max(100)).max(20).optional(),
  prompt: TemplateNameSchema.nullable().optional(),
  systemPrompt: z.string().trim().max(MAX_INSTRUCTIONS_CHARS).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  maxTokens: z.number().int().min(1).max(200_000).nullable().optional(),
  pinned: z.boolean().optional(),
  archived: z.boolean().optional(),
  folder: FolderNameSchema.nullable().optional(),
});

/** Longest message a person may send, in characters. */
export const MAX_MESSAGE_CHARS = 100_000;

/**
 * Body of `POST /api/conversations/:id/chat`, the web app's streaming chat turn.
 * The server holds the history; the client sends only the new turn.
 */
export const ChatTurnRequestSchema = z.strictObject({
  trigger: z.enum(['submit-message', 'regenerate-message']),
  /** The new user message (for `submit-message`). */
  message: z
    .strictObject({
      id: z.string().min(1).max(100),
      text: z.string().trim().min(1, 'the message is empty').max(MAX_MESSAGE_CHARS),
    })
    .optional(),
  /** Model id to answer with; defaults to the conversation's, then the server's default. */
  model: z.string().min(1).max(200).optional(),
  /**
   * For `submit-message`: the message the new one follows (null: a new first message). Editing a
   * question sends the edited question's parent, so the edit becomes a version of it. Default: the
   * last message of the branch shown.
   */
  parentId: z.string().min(1).max(100).nullable().optional(),
  /** Documents (uploaded with `POST /api/attachments`) attached to this message only. */
  attachments: z.array(z.string().min(1).max(100)).max(10).optional(),
  /**
   * The answer goes on when the connection drops (for a while, see `streams.resumeGraceMs`) and is
   * picked up again with `GET /api/conversations/{id}/stream`; stopping it takes
   * `POST /api/conversations/{id}/stop`. Otherwise closing the connection stops it.
   */
  resumable: z.boolean().optional(),
});
export type ChatTurnRequest = z.infer<typeof ChatTurnRequestSchema>;

/** `POST /api/conversations/{id}/stop`: stops the conversation's answer being written (the given one, else any). */
export const StopAnswerRequestSchema = z.strictObject({
  messageId: z.string().min(1).max(100).optional(),
});

/** Metadata attached to an assistant message in the UI message stream. */
export const AssistantMetadataSchema = z.object({
  messageId: z.string().optional(),
  model: z.string().optional(),
  status: MessageStatusSchema.optional(),
  usage: UsageSchema.optional(),
  timing: TimingSchema.optional(),
  error: z.string().nullable().optional(),
  errorCode: z.string().optional(),
});
export type AssistantMetadata = z.infer<typeof AssistantMetadataSchema>;

/** What a model can do; a request needing what it cannot is refused with a 400 naming the capability. */
export const ModelCapabilitiesSchema = z.object({
  /** Function / tool calling. */
  tools: z.boolean(),
  /** Image inputs. */
  vision: z.boolean(),
  /** `response_format` JSON object or JSON schema. */
  structuredOutputs: z.boolean(),
  /** Tokens of context, when the configuration or the upstream says. */
  contextWindow: z.number().int().positive().optional(),
});
export type ModelCapabilities = z.infer<typeof ModelCapabilitiesSchema>;

export const ModelInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  connection: z.string(),
  /** `local` models run inside Axon; `remote` ones call a provider. */
  kind: z.enum(['local', 'remote']),
  description: z.string().optional(),
  capabilities: ModelCapabilitiesSchema,
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

export const ModelListSchema = z.object({
  models: z.array(ModelInfoSchema),
  defaultModel: z.string(),
});
export type ModelList = z.infer<typeof ModelListSchema>;

/** What a key may be used for: `chat` (chat completions, conversations), `embeddings`, `admin` (administration). */
export const ApiKeyScopeSchema = z.enum(['chat', 'embeddings', 'admin']);
export type ApiKeyScope = z.infer<typeof ApiKeyScopeSchema>;

export const ApiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  /** First characters of the key, to recognise it; the key itself is shown once. */
  prefix: z.string(),
  scopes: z.array(ApiKeyScopeSchema),
  /** Requests and tokens per minute for this key (null: only the user's limits). */
  rpm: z.number().int().nullable(),
  tpm: z.number().int().nullable(),
  expiresAt: z.string().nullable(),
  /** The prompt template every request of this key uses, unless the request names another. */
  prompt: z.string().nullable(),
  /**
   * The model the key pins: a catalog model or alias used when a request names none, or an alias
   * version (`chat-default@3`) also used when a request names that alias without a version.
   */
  model: z.string().nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type ApiKey = z.infer<typeof ApiKeySchema>;

export const CreateApiKeySchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(ApiKeyScopeSchema).min(1).max(3).default(['chat', 'embeddings']),
  rpm: z.number().int().min(1).max(1_000_000).nullable().default(null),
  tpm: z.number().int().min(1).max(1_000_000_000).nullable().default(null),
  /** Days until the key stops working (null: never). */
  expiresInDays: z.number().int().min(1).max(3650).nullable().default(null),
  prompt: TemplateNameSchema.nullable().default(null),
  /** Must name a model or alias offered to the key's owner (an alias version must exist). */
  model: z.string().trim().min(1).max(200).nullable().default(null),
});
export type CreateApiKey = z.infer<typeof CreateApiKeySchema>;
export const CreatedApiKeySchema = z.object({ apiKey: ApiKeySchema, key: z.string() });
export type CreatedApiKey = z.infer<typeof CreatedApiKeySchema>;

export const CollectionRoleSchema = z.enum(['viewer', 'editor']);
export type CollectionRole = z.infer<typeof CollectionRoleSchema>;
/** What the caller may do with a collection: `owner` ⊃ `editor` ⊃ `viewer`. */
export const CollectionAccessSchema = z.enum(['owner', 'editor', 'viewer']);
export type CollectionAccess = z.infer<typeof CollectionAccessSchema>;

export const CollectionSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  ownerId: z.string(),
  /** `organisation`: everyone signed in may read it (or edit, with `organisationRole: editor`). */
  visibility: z.enum(['private', 'organisation']),
  organisationRole: CollectionRoleSchema,
  /** Passages retrieved per question. */
  topK: z.number().int(),
  /** Passages scoring below this (0–1, relative to the best) are dropped. */
  minScore: z.number(),
  /** Diversify the passages (maximal marginal relevance), so near-duplicates do not crowd the context. */
  mmr: z.boolean(),
  /** Reorder retrieved passages with the configured rerank model (a second stage after hybrid search). */
  rerank: z.boolean().default(false),
  access: CollectionAccessSchema,
  documentCount: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Collection = z.infer<typeof CollectionSchema>;

const CollectionName = z.string().trim().min(1).max(100);
export const CreateCollectionSchema = z.strictObject({
  name: CollectionName,
  description: z.string().max(2000).optional(),
  visibility: z.enum(['private', 'organisation']).optional(),
  organisationRole: CollectionRoleSchema.optional(),
});
export const UpdateCollectionSchema = z.strictObject({
  name: CollectionName.optional(),
  description: z.string().max(2000).optional(),
  visibility: z.enum(['private', 'organisation']).optional(),
  organisationRole: CollectionRoleSchema.optional(),
  topK: z.number().int().min(1).max(50).optional(),
  minScore: z.number().min(0).max(1).optional(),
  mmr: z.boolean().optional(),
  rerank: z.boolean().optional(),
});
export const CollectionMembersSchema = z.strictObject({
  members: z.array(z.strictObject({ email: EmailSchema, role: CollectionRoleSchema })).max(500),
});

export const DocumentDateSourceSchema = z.enum(['metadata', 'name', 'text', 'manual']);
export const DocumentStatusSchema = z.enum(['queued', 'parsing', 'chunking', 'indexing', 'ready', 'failed']);
export type DocumentStatus = z.infer<typeof DocumentStatusSchema>;
export const DocumentInfoSchema = z.object({
  id: z.string(),
  collectionId: z.string(),
  name: z.string(),
  mime: z.string(),
  size: z.number().int(),
  status: DocumentStatusSchema,
  /** Why it failed, readable by a person. */
  error: z.string().nullable(),
  pages: z.number().int().nullable(),
  chunkCount: z.number().int(),
  /** The date the document is about (YYYY-MM-DD): from its file's metadata, its name, its text, or set by hand. */
  date: z.string().nullable().default(null),
  /** Where `date` came from. */
  dateSource: DocumentDateSourceSchema.nullable().default(null),
  /** Free fields (source, type, tags…): a text or a list of texts each. */
  metadata: z.lazy(() => DocumentMetadataSchema).default({}),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type DocumentInfo = z.infer<typeof DocumentInfoSchema>;

/** A calendar date, YYYY-MM-DD. */
export const CalendarDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'write the date as YYYY-MM-DD')
  .refine(
    (value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value),
    'not a date in the calendar',
  );
const MetadataKey = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,39}$/, 'letters, digits, _ . and -, starting with a letter');
const MetadataValue = z.union([z.string().max(500), z.array(z.string().max(200)).max(50)]);
/** Free metadata fields of a document: `{ source: "Federal Reserve", type: "statement", tags: ["rates"] }`. */
export const DocumentMetadataSchema = z.record(MetadataKey, MetadataValue).refine((m) => Object.keys(m).length <= 30, 'at most 30 fields');
export type DocumentMetadata = z.infer<typeof DocumentMetadataSchema>;
export const UpdateDocumentSchema = z.strictObject({
  /** A date set by hand (kept when the document is indexed again); null clears it. */
  date: CalendarDateSchema.nullable().optional(),
  /** Replaces every metadata field. */
  metadata: DocumentMetadataSchema.optional(),
});

/**
 * Restricts retrieval to documents dated within [dateFrom, dateTo] (either end open) whose metadata
 * holds every given field: a text matches a field equal to it or a list containing it; a list of
 * texts matches any of them.
 */
export const SearchFiltersSchema = z.strictObject({
  dateFrom: CalendarDateSchema.optional(),
  dateTo: CalendarDateSchema.optional(),
  metadata: z.record(MetadataKey, MetadataValue).optional(),
});
export type SearchFilters = z.infer<typeof SearchFiltersSchema>;

/** `POST /api/search`: ranked passages from collections the caller may read. */
export const SearchRequestSchema = z.strictObject({
  query: z.string().trim().min(1).max(8000),
  collectionIds: z.array(z.string().min(1).max(100)).min(1).max(50),
  k: z.number().int().min(1).max(100).default(10),
  filters: SearchFiltersSchema.optional(),
  /** Read dates and "latest" from the query's words (default true). */
  understandTime: z.boolean().default(true),
});

/** The result of an upload: one entry per file, accepted (queued) or refused with the reason. */
export const UploadResultSchema = z.object({
  files: z.array(
    z.object({
      name: z.string(),
      document: DocumentInfoSchema.optional(),
      /** Set when the same content is already in the collection. */
      duplicateOf: z.string().optional(),
      error: z.string().optional(),
    }),
  ),
});
export type UploadResult = z.infer<typeof UploadResultSchema>;

/** A passage an answer cites, as `[n]` in its text. */
export const CitationSchema = z.object({
  n: z.number().int(),
  documentId: z.string(),
  documentName: z.string(),
  collectionId: z.string(),
  chunkId: z.string(),
  page: z.number().int().nullable(),
  section: z.string().nullable(),
  startOffset: z.number().int(),
  endOffset: z.number().int(),
  score: z.number(),
  text: z.string(),
  /** The document's date (YYYY-MM-DD), when it has one. */
  documentDate: z.string().nullable().optional(),
  /**
   * The sentences of the passage the answer drew on, as offsets in the document's text (the
   * offsets `/api/documents/:id/text` takes), with their page; empty until the answer is complete.
   */
  highlights: z.array(z.object({ start: z.number().int(), end: z.number().int(), page: z.number().int().nullable() })).optional(),
});
export type Citation = z.infer<typeof CitationSchema>;

/** One row of the audit trail (hash-chained; see `axon audit verify`). */
export const AuditEventSchema = z.object({
  seq: z.number().int(),
  id: z.string(),
  at: z.string(),
  action: z.string(),
  actorId: z.string().nullable(),
  actorEmail: z.string().nullable(),
  target: z.string().nullable(),
  ip: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEvent = z.infer<typeof AuditEventSchema>;
export type AuditVerdict = { ok: true; events: number } | { ok: false; events: number; seq: number; id: string | null; reason: string };

/** One row of the prompt log: what went to a model through `/v1` and what came back, as the logging mode kept it. */
export interface PromptLogRow {
  id: string;
  at: string;
  orgId: string;
  mode: 'redacted' | 'full';
  userId: string | null;
  apiKeyId: string | null;
  route: string;
  model: string;
  prompt: string;
  response: string;
  status: string;
  inputTokens: number | null;
  outputTokens: number | null;
}

/** A variable a prompt template takes: its type, and whether it must be given (else its default). */
export const TemplateVariableSchema = z.strictObject({
  name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,39}$/, 'letters, digits and _; not starting with a digit'),
  type: z.enum(['string', 'number', 'boolean']).default('string'),
  required: z.boolean().default(true),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  description: z.string().max(200).optional(),
});
export type TemplateVariable = z.infer<typeof TemplateVariableSchema>;

/** One immutable version: a system prompt and a message template (Liquid), and its variables. */
export const TemplateVersionInputSchema = z.strictObject({
  system: z.string().max(50_000),
  /** Template of the user's message; `{{ input }}` is what the user wrote. Empty: the message as written. */
  message: z.string().max(50_000).default(''),
  variables: z.array(TemplateVariableSchema).max(50).default([]),
  note: z.string().max(500).default(''),
});
export const CreatePromptTemplateSchema = TemplateVersionInputSchema.extend({
  name: TemplateNameSchema,
  description: z.string().max(500).default(''),
});
export const NewTemplateVersionSchema = TemplateVersionInputSchema.extend({ activate: z.boolean().default(false) });

export interface PromptTemplateVersion {
  version: number;
  system: string;
  message: string;
  variables: TemplateVariable[];
  note: string;
  createdBy: string | null;
  createdAt: string;
}
export interface PromptTemplate {
  id: string;
  name: string;
  description: string;
  activeVersion: number;
  latestVersion: number;
  createdAt: string;
  updatedAt: string;
}

/** An account as administrators see it: a disabled one cannot sign in, and its sessions and keys are gone. */
export const AccountSchema = UserSchema.extend({
  /** When an administrator disabled the account; null while it is active. */
  disabledAt: z.string().nullable(),
});
export type Account = z.infer<typeof AccountSchema>;

/** A one-time password reset link, shown once to the administrator who made it. */
export const PasswordResetLinkSchema = z.object({
  /** `…/reset-password#token=…`: the token travels in the fragment, so it reaches neither server logs nor `Referer` headers. */
  url: z.string(),
  expiresAt: z.string(),
});
export type PasswordResetLink = z.infer<typeof PasswordResetLinkSchema>;

/** What the reset page sends: the token from the link and the new password. */
export const PasswordResetRequestSchema = z.strictObject({
  token: z.string().min(1).max(200),
  password: PasswordSchema,
});

/** One of the caller's sessions; its id names it for revocation and cannot be used to sign in. */
export const SessionSummarySchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  /** The last request seen with it, to the minute; null before one after sign-in. */
  lastSeenAt: z.string().nullable(),
  expiresAt: z.string(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  /** Whether it is the session of this request. */
  current: z.boolean(),
});
export type SessionSummary = z.infer<typeof SessionSummarySchema>;

export * from './agents';
export * from './chat-habits';
export * from './conversation-sharing';
export * from './model-ops';
