import { describe, expect, it } from 'vitest';
import { createStopScanner, toMessagesCallOptions, toMessagesPrompt } from './anthropic-messages-translation';

describe('createStopScanner', () => {
  it('finds a sequence split over deltas and passes on only the text before it', () => {
    const scanner = createStopScanner(['STOP']);
    const out = ['Hello S', 'T', 'OP and more'].map((delta) => scanner.push(delta));
    expect(out).toEqual([{ text: 'Hello ' }, { text: '' }, { text: '', matched: 'STOP' }]);
  });

  it('holds back only a tail that could start a sequence, and gives it back at the end', () => {
    const scanner = createStopScanner(['\n\nHuman:', 'END']);
    expect(scanner.push('one E')).toEqual({ text: 'one ' });
    expect(scanner.push('x two\n')).toEqual({ text: 'Ex two' });
    expect(scanner.flush()).toBe('\n');
  });

  it('passes everything on without sequences', () => {
    expect(createStopScanner([]).push('anything')).toEqual({ text: 'anything' });
  });
});

describe('toMessagesPrompt', () => {
  it('puts tool results in a tool message with the name of their call, in order with the other blocks', () => {
    const prompt = toMessagesPrompt(
      [{ type: 'text', text: 'Be brief.' }],
      [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'sunny' }] },
            { type: 'text', text: 'And tomorrow?' },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', is_error: true, content: 'no data' }] },
      ],
    );
    expect(prompt).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool-call', toolCallId: 'toolu_1', toolName: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      {
        role: 'tool',
        content: [{ type: 'tool-result', toolCallId: 'toolu_1', toolName: 'get_weather', output: { type: 'text', value: 'sunny' } }],
      },
      { role: 'user', content: [{ type: 'text', text: 'And tomorrow?' }] },
      {
        role: 'tool',
        content: [
          { type: 'tool-result', toolCallId: 'toolu_1', toolName: 'get_weather', output: { type: 'error-text', value: 'no data' } },
        ],
      },
    ]);
  });

  it('keeps an image a tool returned', () => {
    const [message] = toMessagesPrompt(undefined, [
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: 'toolu_2',
            content: [
              { type: 'text', text: 'screenshot:' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
            ],
          },
        ],
      },
    ]);
    expect(message).toMatchObject({
      role: 'tool',
      content: [
        {
          output: {
            type: 'content',
            value: [
              { type: 'text', text: 'screenshot:' },
              { type: 'image-data', data: 'AAAA', mediaType: 'image/png' },
            ],
          },
        },
      ],
    });
  });

  it('refuses blocks a translated model cannot take, naming where they are', () => {
    expect(() => toMessagesPrompt(undefined, [{ role: 'user', content: [{ type: 'container_upload', file_id: 'f' }] }])).toThrow(
      /container_upload/,
    );
  });
});

describe('toMessagesCallOptions', () => {
  it('maps tool_choice, sampling settings and structured output', () => {
    const base = { max_tokens: 10, messages: [] };
    const options = (extra: Record<string, unknown>) => toMessagesCallOptions({ ...base, ...extra }, []);
    expect(options({ tool_choice: { type: 'any' } }).toolChoice).toEqual({ type: 'required' });
    expect(options({ tool_choice: { type: 'tool', name: 'f' } }).toolChoice).toEqual({ type: 'tool', toolName: 'f' });
    expect(options({ tool_choice: { type: 'none' } }).toolChoice).toEqual({ type: 'none' });
    expect(options({ temperature: 0.5, top_p: 0.8, top_k: 20, stop_sequences: ['x'] })).toMatchObject({
      maxOutputTokens: 10,
      temperature: 0.5,
      topP: 0.8,
      topK: 20,
      stopSequences: ['x'],
    });
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    expect(options({ output_format: { type: 'json_schema', schema } }).responseFormat).toEqual({ type: 'json', schema });
    expect(() => options({ tool_choice: { type: 'sometimes' } })).toThrow(/tool_choice/);
  });
});
