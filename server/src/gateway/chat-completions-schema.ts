import { SearchFiltersSchema } from '@axon/contracts';
import { z } from 'zod';

/** Content of a message: a string, an array of parts (text, images, audio, files…) or null. */
const Content = z.union([z.string(), z.array(z.looseObject({ type: z.string() })), z.null()]);

const Message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: Content.optional(),
});

/**
 * `POST /v1/chat/completions`: only what Axon reads is checked here; every other field, known or
 * not, goes to the upstream as sent (the upstream answers for what it does not accept). The
 * fields Axon reads: the model and messages (to route, template, ground and redact), `stream`
 * and `stream_options` (to relay), `metadata` (prompt templates), the token limits (estimates),
 * `tools`, `response_format` and image parts (capabilities), and Axon's own `collections` and `filters`.
 */
export const ChatCompletionRequestSchema = z.looseObject({
  /** Absent: the default model. */
  model: z.string().min(1).max(200).optional(),
  messages: z.array(Message).min(1, 'messages must contain at least one message').max(10_000),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().min(1).nullable().optional(),
  max_completion_tokens: z.number().int().min(1).nullable().optional(),
  n: z.number().int().min(1).max(128).nullable().optional(),
  tools: z
    .array(z.looseObject({ type: z.string() }))
    .max(512)
    .nullable()
    .optional(),
  response_format: z.looseObject({ type: z.string() }).nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  /** Axon extension: collections (names or ids) to retrieve passages from; citations come back with the answer. */
  collections: z.array(z.string().min(1).max(200)).max(20).optional(),
  /** Axon extension: which documents of those collections count (`dateFrom`, `dateTo`, `metadata`); not sent upstream. */
  filters: SearchFiltersSchema.optional(),
});

export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;
