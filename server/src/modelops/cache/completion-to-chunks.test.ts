import { describe, expect, it } from 'vitest';
import { chunksToCompletion, chunksToSse, completionToChunks } from './completion-to-chunks';

const completion = {
  id: 'chatcmpl-42',
  object: 'chat.completion',
  created: 1_760_000_000,
  model: 'gpt-4o-mini',
  system_fingerprint: 'fp_1',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: 'The Committee decided to maintain the target range for the federal funds rate at 5-1/4 to 5-1/2 percent.',
        citations: [{ n: 1, documentId: 'doc-1' }],
      },
      logprobs: null,
      finish_reason: 'stop',
    },
  ],
  usage: { prompt_tokens: 120, completion_tokens: 24, total_tokens: 144 },
};

/** Parses an SSE body into its `data:` payloads. */
const parseSse = (body: string) =>
  body
    .split('\n\n')
    .filter(Boolean)
    .map((event) => event.replace(/^data: /, ''));

describe('completionToChunks', () => {
  it('streams a cached completion as chunks whose deltas add up to its content', () => {
    const events = parseSse(chunksToSse(completionToChunks(completion, { includeUsage: true })));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    for (const c of chunks) {
      expect(c).toMatchObject({ id: 'chatcmpl-42', object: 'chat.completion.chunk', created: 1_760_000_000, model: 'gpt-4o-mini' });
      expect(Array.isArray(c.choices)).toBe(true);
    }
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const content = chunks.flatMap((c) => c.choices.map((ch: { delta: { content?: string } }) => ch.delta.content ?? '')).join('');
    expect(content).toBe(completion.choices[0]?.message.content);
    // Several content chunks, a finish chunk, then citations and usage with no choices.
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(2);
    const finish = chunks.findIndex((c) => c.choices[0]?.finish_reason === 'stop');
    expect(chunks[finish - 1].choices[0].delta.content).toBeTruthy();
    expect(chunks.at(-2)).toMatchObject({ choices: [], citations: [{ n: 1, documentId: 'doc-1' }] });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: completion.usage });
  });

  it('leaves the usage chunk out unless asked for', () => {
    const chunks = completionToChunks(completion);
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
  });

  it('replays tool calls and several choices, and chunksToCompletion puts them back together', () => {
    const withTools = {
      ...completion,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'yield_on', arguments: '{"date":"2024-01-02","tenor":"10 Yr"}' } },
            ],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
        { index: 1, message: { role: 'assistant', content: 'Second choice text here.' }, logprobs: null, finish_reason: 'length' },
      ],
    };
    const rebuilt = chunksToCompletion(completionToChunks(withTools, { includeUsage: true }));
    expect(rebuilt).toEqual({
      id: 'chatcmpl-42',
      object: 'chat.completion',
      created: 1_760_000_000,
      model: 'gpt-4o-mini',
      choices: withTools.choices,
      usage: completion.usage,
    });
    const plain = chunksToCompletion(completionToChunks(completion, { includeUsage: true }));
    expect(plain.choices).toEqual(completion.choices);
  });

  it('puts a stream kept as its events’ JSON texts back together, plain content deltas included', () => {
    const head = '"id":"chatcmpl-7","object":"chat.completion.chunk","created":1760000001,"model":"sim-1"';
    const events = [
      `{${head},"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
      `{${head},"choices":[{"index":0,"delta":{"content":"Rates \\"held\\" "},"logprobs":null,"finish_reason":null}]}`,
      `{${head},"choices":[{"index":0,"delta":{"content":"at 5%."},"logprobs":null,"finish_reason":null}]}`,
      'not json',
      `{${head},"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`,
      `{${head},"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`,
    ];
    expect(chunksToCompletion(events)).toEqual({
      id: 'chatcmpl-7',
      object: 'chat.completion',
      created: 1_760_000_001,
      model: 'sim-1',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Rates "held" at 5%.' }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    });
    // A first event that is a plain delta still gives the completion its id and model.
    const fromPlain = chunksToCompletion(events.slice(1));
    expect(fromPlain).toMatchObject({ id: 'chatcmpl-7', model: 'sim-1', choices: [{ message: { content: 'Rates "held" at 5%.' } }] });
  });
});
