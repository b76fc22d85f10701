import { z } from 'zod';

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const ImagePart = z.object({ type: z.literal('image_url'), image_url: z.unknown() });
const Content = z.union([z.string(), z.array(z.union([TextPart, ImagePart]))]);

const Message = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: Content, name: z.string().optional() }),
  z.object({ role: z.literal('developer'), content: Content, name: z.string().optional() }),
  z.object({ role: z.literal('user'), content: Content, name: z.string().optional() }),
  z.object({
    role: z.literal('assistant'),
    content: Content.nullable().optional(),
    name: z.string().optional(),
    refusal: z.string().nullable().optional(),
    tool_calls: z.array(z.unknown()).optional(),
  }),
  z.object({ role: z.literal('tool'), content: Content, tool_call_id: z.string() }),
]);

/**
 * `POST /v1/chat/completions` as OpenAI documents it. Fields Axon does not implement yet are
 * accepted where ignoring them is harmless and refused where it is not (tools, n > 1, images);
 * unknown fields are refused, as OpenAI does.
 */
export const ChatCompletionRequestSchema = z
  .strictObject({
    model: z.string().min(1).max(200),
    messages: z.array(Message).min(1, 'messages must contain at least one message').max(10_000),
    stream: z.boolean().nullable().optional(),
    stream_options: z
      .strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() })
      .nullable()
      .optional(),
    max_tokens: z.number().int().min(1).nullable().optional(),
    max_completion_tokens: z.number().int().min(1).nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    stop: z
      .union([z.string(), z.array(z.string()).max(4)])
      .nullable()
      .optional(),
    seed: z.number().int().nullable().optional(),
    presence_penalty: z.number().min(-2).max(2).nullable().optional(),
    frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
    n: z.literal(1, { message: 'only n=1 is supported' }).nullable().optional(),
    user: z.string().max(256).optional(),
    metadata: z.record(z.string(), z.string()).nullable().optional(),
    store: z.boolean().nullable().optional(),
    logit_bias: z.record(z.string(), z.number()).nullable().optional(),
    logprobs: z.literal(false, { message: 'logprobs are not supported' }).nullable().optional(),
    parallel_tool_calls: z.boolean().optional(),
    service_tier: z.string().nullable().optional(),
    reasoning_effort: z.string().nullable().optional(),
    response_format: z
      .object({ type: z.literal('text', { message: 'only response_format text is supported' }) })
      .nullable()
      .optional(),
    tools: z.array(z.unknown()).max(0, 'tools are not supported yet').optional(),
    /** Axon extension: collections (names or ids) to retrieve passages from; citations come back with the answer. */
    collections: z.array(z.string().min(1).max(200)).max(20).optional(),
    tool_choice: z.literal('none').optional(),
    user_id: z.never().optional(),
  })
  .superRefine((body, ctx) => {
    body.messages.forEach((message, index) => {
      if (Array.isArray(message.content) && message.content.some((p) => p.type === 'image_url')) {
        ctx.addIssue({ code: 'custom', path: ['messages', index, 'content'], message: 'image inputs are not supported yet' });
      }
    });
  });

export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;
