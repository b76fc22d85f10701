/**
 * Schemas shared by the server, the web app and the CLI. Types are inferred from them,
 * so a change here is checked on both sides of the wire.
 */
import { z } from 'zod';

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

export const RoleSchema = z.enum(['admin', 'member']);
export type Role = z.infer<typeof RoleSchema>;

export const EmailSchema = z.string().trim().toLowerCase().pipe(z.email().max(254));
export const PasswordSchema = z.string().min(10, 'use at least 10 characters').max(256, 'use at most 256 characters');

export const UserSchema = z.object({
  id: z.string(),
  email: z.string(),
  role: RoleSchema,
  createdAt: z.string(),
});
export type User = z.infer<typeof UserSchema>;

export const CredentialsSchema = z.strictObject({
  email: EmailSchema,
  password: z.string().min(1).max(256),
});
export const SetupRequestSchema = z.strictObject({ email: EmailSchema, password: PasswordSchema });

/** What the web app learns about its session. `csrfToken` must be echoed in `x-csrf-token` on writes. */
export const SessionInfoSchema = z.object({
  user: UserSchema.nullable(),
  csrfToken: z.string().nullable(),
  /** True until the first account exists; the web app then shows first-run set-up. */
  needsSetup: z.boolean(),
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
  createdAt: z.string(),
});
export type Message = z.infer<typeof MessageSchema>;

export const ConversationSchema = z.object({
  id: z.string(),
  title: z.string(),
  model: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Conversation = z.infer<typeof ConversationSchema>;

export const ConversationWithMessagesSchema = ConversationSchema.extend({
  messages: z.array(MessageSchema),
});
export type ConversationWithMessages = z.infer<typeof ConversationWithMessagesSchema>;

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
});

export const CreateConversationSchema = z.strictObject({
  title: z.string().trim().min(1).max(200).optional(),
  model: z.string().min(1).max(200).optional(),
});

export const UpdateConversationSchema = z.strictObject({
  title: z.string().trim().min(1).max(200).optional(),
  model: z.string().min(1).max(200).optional(),
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
});
export type ChatTurnRequest = z.infer<typeof ChatTurnRequestSchema>;

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

export const ModelInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  connection: z.string(),
  /** `local` models run inside Axon; `remote` ones call a provider. */
  kind: z.enum(['local', 'remote']),
  description: z.string().optional(),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

export const ModelListSchema = z.object({
  models: z.array(ModelInfoSchema),
  defaultModel: z.string(),
});
export type ModelList = z.infer<typeof ModelListSchema>;

export const ApiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  /** First characters of the key, to recognise it; the key itself is shown once. */
  prefix: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type ApiKey = z.infer<typeof ApiKeySchema>;

export const CreateApiKeySchema = z.strictObject({ name: z.string().trim().min(1).max(100) });
export const CreatedApiKeySchema = z.object({ apiKey: ApiKeySchema, key: z.string() });
export type CreatedApiKey = z.infer<typeof CreatedApiKeySchema>;
