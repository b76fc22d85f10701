import { z } from 'zod';

/** A content block (`text`, `image`, `tool_use`, `tool_result`, `document`, `thinking`…): only its type is checked here. */
const Block = z.looseObject({ type: z.string() });

const Message = z.looseObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(Block)]),
});

/**
 * `POST /v1/messages` (Anthropic's Messages API): only what Axon reads is checked; every other
 * field goes to an Anthropic upstream as sent. The fields Axon reads: the model and messages (to
 * route, template and redact), `system` (templates, redaction), `max_tokens` (estimates),
 * `stream`, `tools` (capabilities) and `metadata` (prompt templates).
 */
export const MessagesRequestSchema = z.looseObject({
  model: z.string().min(1).max(200),
  messages: z.array(Message).min(1, 'messages must contain at least one message').max(10_000),
  max_tokens: z.number().int().min(1),
  stream: z.boolean().optional(),
  system: z.union([z.string(), z.array(Block)]).optional(),
  tools: z
    .array(z.looseObject({ name: z.string().optional(), type: z.string().optional() }))
    .max(512)
    .optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export type MessagesRequest = z.infer<typeof MessagesRequestSchema>;

/** A content block as Axon reads it. */
export type ContentBlock = z.infer<typeof Block>;
