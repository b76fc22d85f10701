/**
 * Schemas of the chat app's everyday habits: feedback on answers, per-conversation settings,
 * personal instructions, and the conversation list's pins, archive and folders.
 */
import { z } from 'zod';

/** Thumbs up or down. */
export const FeedbackValueSchema = z.enum(['up', 'down']);
export type FeedbackValue = z.infer<typeof FeedbackValueSchema>;

/** Longest feedback comment, in characters. */
export const MAX_FEEDBACK_COMMENT_CHARS = 2000;

/** The signed-in person's feedback on one answer. */
export const MessageFeedbackSchema = z.object({
  value: FeedbackValueSchema,
  comment: z.string().nullable(),
  updatedAt: z.string(),
});
export type MessageFeedback = z.infer<typeof MessageFeedbackSchema>;

/** Body of `PUT /api/messages/:id/feedback`: gives or replaces the feedback on an answer. */
export const SetFeedbackSchema = z.strictObject({
  value: FeedbackValueSchema,
  /** An optional word on why; empty means none. */
  comment: z.string().trim().max(MAX_FEEDBACK_COMMENT_CHARS).nullable().optional(),
});
export type SetFeedback = z.infer<typeof SetFeedbackSchema>;

/** Where feedback came from: the web chat's thumbs, or a program's `POST /v1/feedback`. */
export const FeedbackSourceSchema = z.enum(['web', 'api']);
export type FeedbackSource = z.infer<typeof FeedbackSourceSchema>;

/** One answer's feedback as the usage dashboard lists it (and as model experiments read it). */
export const FeedbackEventSchema = z.object({
  /** The web chat answer's message id, or the `/v1` response id (`chatcmpl-…`) the feedback named. */
  messageId: z.string(),
  /** The web chat conversation; null for feedback through `/v1`. */
  conversationId: z.string().nullable(),
  /** The answer's model: a catalog id or a model alias (through `/v1`, always the alias). */
  model: z.string().nullable(),
  source: FeedbackSourceSchema,
  userId: z.string(),
  userEmail: z.string().nullable(),
  orgId: z.string(),
  value: FeedbackValueSchema,
  comment: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type FeedbackEvent = z.infer<typeof FeedbackEventSchema>;

/** `GET /api/admin/feedback`: counts per model and the latest feedback, over a period. */
export const FeedbackSummarySchema = z.object({
  from: z.string(),
  to: z.string(),
  totals: z.object({ up: z.number().int(), down: z.number().int() }),
  /** Per model and source, the most rated first. */
  byModel: z.array(z.object({ model: z.string(), source: FeedbackSourceSchema, up: z.number().int(), down: z.number().int() })),
  /** Newest first, at most 50. */
  recent: z.array(FeedbackEventSchema),
});
export type FeedbackSummary = z.infer<typeof FeedbackSummarySchema>;

/** Longest system prompt or personal instructions, in characters. */
export const MAX_INSTRUCTIONS_CHARS = 8000;

/** Generation settings saved with a conversation and applied to each of its turns (null: the model's default). */
export const ConversationSettingsSchema = z.object({
  /** Instructions the person wrote for this conversation, sent as a system message. */
  systemPrompt: z.string().trim().max(MAX_INSTRUCTIONS_CHARS).nullable(),
  temperature: z.number().min(0).max(2).nullable(),
  /** Most tokens an answer may have. */
  maxTokens: z.number().int().min(1).max(200_000).nullable(),
});
export type ConversationSettings = z.infer<typeof ConversationSettingsSchema>;

/** The signed-in person's own settings (`GET`/`PUT /api/account/preferences`). */
export const PreferencesSchema = z.object({
  /** Sent as a system message before every conversation's own instructions; empty for none. */
  instructions: z.string(),
});
export type Preferences = z.infer<typeof PreferencesSchema>;

export const UpdatePreferencesSchema = z.strictObject({
  instructions: z.string().trim().max(MAX_INSTRUCTIONS_CHARS),
});

/** A folder name in the conversation list. */
export const FolderNameSchema = z.string().trim().min(1).max(60);
