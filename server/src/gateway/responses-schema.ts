import { z } from 'zod';

/** An input item: a message (`{ role, content }`, typed or not), a function call, a function call's output… */
const InputItem = z.looseObject({ type: z.string().optional() });

/**
 * `POST /v1/responses`: only what Axon reads is checked here. Forwarded to an upstream that serves
 * the Responses API, every other field goes as sent; translated, the fields chat completions has
 * no place for are left out (see `docs/api.md`). The fields Axon reads: the model, `input` and
 * `instructions` (to route, ground, redact and translate), `previous_response_id` and `store`
 * (threads), `stream`, `tools`, `tool_choice`, `text.format`, the sampling settings and the token
 * limit, and Axon's own `collections`.
 */
export const ResponsesRequestSchema = z.looseObject({
  /** Absent: the default model. */
  model: z.string().min(1).max(200).optional(),
  input: z.union([z.string(), z.array(InputItem).max(10_000)]).optional(),
  instructions: z.string().nullable().optional(),
  previous_response_id: z.string().min(1).max(200).nullable().optional(),
  store: z.boolean().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  tools: z
    .array(z.looseObject({ type: z.string() }))
    .max(512)
    .nullable()
    .optional(),
  tool_choice: z.unknown().optional(),
  text: z
    .looseObject({ format: z.looseObject({ type: z.string() }).nullable().optional() })
    .nullable()
    .optional(),
  max_output_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().nullable().optional(),
  top_p: z.number().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  /** Axon extension: collections (names or ids) to retrieve passages from, put before the instructions. */
  collections: z.array(z.string().min(1).max(200)).max(20).optional(),
});

export type ResponsesRequest = z.infer<typeof ResponsesRequestSchema>;
