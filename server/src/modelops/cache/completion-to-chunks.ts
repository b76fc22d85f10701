/**
 * A cached answer is a `chat.completion` object; a caller who asked for `stream: true` gets it as
 * the `chat.completion.chunk` events an upstream would have sent, and an answer that arrived as
 * chunks is put back together into one object to be stored.
 */

import { plainContentSpan } from '../../providers/openai-chat-model';

type Json = Record<string, unknown>;

interface CompletionChoice {
  index?: number;
  message?: { role?: string; content?: unknown; refusal?: unknown; tool_calls?: unknown[]; citations?: unknown[] };
  finish_reason?: string | null;
  logprobs?: unknown;
}

/** Splits `text` into about `pieces` parts at spaces, so that a replay streams like a model does. */
function splitText(text: string, pieces: number): string[] {
  if (text.length === 0) return [];
  const size = Math.max(1, Math.ceil(text.length / pieces));
  const parts: string[] = [];
  let from = 0;
  while (from < text.length) {
    let to = Math.min(text.length, from + size);
    const space = text.indexOf(' ', to);
    if (to < text.length && space >= 0 && space - to < size) to = space + 1;
    parts.push(text.slice(from, to));
    from = to;
  }
  return parts;
}

export interface ChunkOptions {
  /** Whether the caller asked for the usage chunk (`stream_options.include_usage`). */
  includeUsage?: boolean | undefined;
  /** Content chunks per choice, about (default 8). */
  pieces?: number | undefined;
}

/**
 * The chunks that stream `completion`: per choice a role chunk, its content in a few chunks, its
 * tool calls, a finish chunk; then the citations chunk Axon adds to grounded answers, and the usage
 * chunk when asked for. The caller frames them as `data:` events and ends with `data: [DONE]`.
 */
export function completionToChunks(completion: Json, options: ChunkOptions = {}): Json[] {
  const head = {
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
    ...(completion.system_fingerprint !== undefined ? { system_fingerprint: completion.system_fingerprint } : {}),
  };
  const chunk = (choices: Json[], extra: Json = {}) => ({ ...head, choices, ...extra });
  const chunks: Json[] = [];
  const choices = (Array.isArray(completion.choices) ? completion.choices : []) as CompletionChoice[];
  let citations: unknown[] | undefined;
  choices.forEach((choice, position) => {
    const index = choice.index ?? position;
    const message = choice.message ?? {};
    const delta = (d: Json, finish: string | null = null) => ({ index, delta: d, logprobs: null, finish_reason: finish });
    chunks.push(chunk([delta({ role: message.role ?? 'assistant', content: '' })]));
    if (typeof message.content === 'string')
      for (const part of splitText(message.content, options.pieces ?? 8)) chunks.push(chunk([delta({ content: part })]));
    if (typeof message.refusal === 'string' && message.refusal) chunks.push(chunk([delta({ refusal: message.refusal })]));
    (message.tool_calls ?? []).forEach((call, i) => {
      chunks.push(chunk([delta({ tool_calls: [{ index: i, ...(call as Json) }] })]));
    });
    if (message.citations && message.citations.length > 0) citations ??= message.citations;
    chunks.push(chunk([delta({}, choice.finish_reason ?? 'stop')]));
  });
  if (citations) chunks.push(chunk([], { citations }));
  if (options.includeUsage && completion.usage) chunks.push(chunk([], { usage: completion.usage }));
  return chunks;
}

/** The chunks as the body of an SSE response, `[DONE]` included. */
export function chunksToSse(chunks: Json[]): string {
  return `${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`;
}

interface ChunkChoice {
  index?: number;
  delta?: {
    role?: string;
    content?: string | null;
    refusal?: string | null;
    tool_calls?: Array<{ index?: number; id?: string; type?: string; function?: { name?: string; arguments?: string } }>;
  };
  finish_reason?: string | null;
}

/** Parses a kept event's JSON text; undefined for text that is not a JSON object. */
function parseChunk(data: string): Json | undefined {
  try {
    const parsed: unknown = JSON.parse(data);
    return parsed && typeof parsed === 'object' ? (parsed as Json) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The chunks as objects, from objects or from the JSON texts the relay kept. A run of plain content
 * deltas (nearly every chunk) becomes one chunk: their JSON string bodies, escapes and all, joined
 * and parsed once, since a parse per chunk costs more than the rest of storing the answer.
 */
function chunkObjects(kept: ReadonlyArray<Json | string>): Json[] {
  const chunks: Json[] = [];
  let run: string[] = [];
  const endRun = () => {
    if (run.length === 0) return;
    chunks.push({ choices: [{ index: 0, delta: { content: JSON.parse(`"${run.join('')}"`) as string } }] });
    run = [];
  };
  for (const data of kept) {
    if (typeof data !== 'string') {
      endRun();
      chunks.push(data);
      continue;
    }
    // The first chunk is read whole: the completion's id, model and time are its.
    const span = chunks.length > 0 ? plainContentSpan(data) : undefined;
    if (span) {
      run.push(data.slice(span[0] + 1, span[1] - 1));
      continue;
    }
    endRun();
    const chunk = parseChunk(data);
    if (chunk) chunks.push(chunk);
  }
  endRun();
  return chunks;
}

/**
 * The `chat.completion` a list of chunks amounts to (to store an answer that was streamed), as
 * objects or as the JSON texts of their events.
 */
export function chunksToCompletion(kept: ReadonlyArray<Json | string>): Json {
  const chunks = chunkObjects(kept);
  const first = chunks[0] ?? {};
  const byIndex = new Map<
    number,
    {
      role: string;
      content: string;
      refusal: string;
      finish: string | null;
      calls: Map<number, { id?: string; type: string; name: string; args: string }>;
    }
  >();
  let usage: unknown;
  let citations: unknown;
  for (const c of chunks) {
    if (c.usage) usage = c.usage;
    if (Array.isArray(c.citations)) citations = c.citations;
    for (const choice of (Array.isArray(c.choices) ? c.choices : []) as ChunkChoice[]) {
      const index = choice.index ?? 0;
      let acc = byIndex.get(index);
      if (!acc) {
        acc = { role: 'assistant', content: '', refusal: '', finish: null, calls: new Map() };
        byIndex.set(index, acc);
      }
      const d = choice.delta ?? {};
      if (d.role) acc.role = d.role;
      if (typeof d.content === 'string') acc.content += d.content;
      if (typeof d.refusal === 'string') acc.refusal += d.refusal;
      for (const call of d.tool_calls ?? []) {
        const at = call.index ?? 0;
        const known = acc.calls.get(at) ?? { type: 'function', name: '', args: '' };
        if (call.id) known.id = call.id;
        if (call.type) known.type = call.type;
        known.name += call.function?.name ?? '';
        known.args += call.function?.arguments ?? '';
        acc.calls.set(at, known);
      }
      if (choice.finish_reason) acc.finish = choice.finish_reason;
    }
  }
  const choices = [...byIndex.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, acc]) => ({
      index,
      message: {
        role: acc.role,
        content: acc.calls.size > 0 && acc.content === '' ? null : acc.content,
        ...(acc.refusal ? { refusal: acc.refusal } : {}),
        ...(acc.calls.size > 0
          ? {
              tool_calls: [...acc.calls.entries()]
                .sort(([a], [b]) => a - b)
                .map(([, call]) => ({ id: call.id, type: call.type, function: { name: call.name, arguments: call.args } })),
            }
          : {}),
        ...(index === 0 && citations ? { citations } : {}),
      },
      logprobs: null,
      finish_reason: acc.finish,
    }));
  return {
    id: first.id,
    object: 'chat.completion',
    created: first.created,
    model: first.model,
    choices,
    ...(usage ? { usage } : {}),
  };
}
