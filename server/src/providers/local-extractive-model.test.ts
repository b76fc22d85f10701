import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { readAllParts } from '../testing/read-stream';
import { rankSentences, splitSentences } from './extractive-ranker';
import { composeExtractiveAnswer, createLocalExtractiveModel } from './local-extractive-model';

const user = (text: string) => ({ role: 'user' as const, content: [{ type: 'text' as const, text }] });

const FOMC = `The Committee decided to raise the target range for the federal funds rate to 1-1/2 to 1-3/4 percent.
Inflation remains elevated, reflecting supply and demand imbalances related to the pandemic, higher energy prices, and broader price pressures.
Job gains have been robust in recent months, and the unemployment rate has declined substantially.
The invasion of Ukraine by Russia is causing tremendous human and economic hardship.`;

describe('extractive ranking', () => {
  it('splits sentences and list items', () => {
    expect(splitSentences('One here. Two there!\n- item a\n- item b')).toEqual(['One here.', 'Two there!', '- item a', '- item b']);
  });

  it('ranks the sentence that answers the question first and leaves unrelated ones out', () => {
    const chosen = rankSentences('What happened to the unemployment rate?', splitSentences(FOMC), { maxSentences: 2 });
    expect(chosen[0]?.text).toMatch(/unemployment rate has declined/);
    expect(chosen.map((c) => c.text).join(' ')).not.toMatch(/Ukraine/);
  });

  it('does not repeat near-duplicate sentences', () => {
    const text = 'Inflation is high. Inflation is high again. Rates rose because inflation is high and persistent.';
    const chosen = rankSentences('inflation high', splitSentences(text), { maxSentences: 3, diversity: 1 });
    expect(chosen.length).toBeLessThan(3);
  });
});

describe('local extractive model', () => {
  it('quotes the relevant passage of text pasted into the question, labelled as extractive', () => {
    const answer = composeExtractiveAnswer([user(`${FOMC}\n\nWhy is inflation elevated?`)], 3);
    expect(answer).toMatch(/^\*Extractive answer \(built-in local model/);
    expect(answer).toContain('> Inflation remains elevated');
  });

  it('uses the system text and earlier user messages as sources', () => {
    const prompt: LanguageModelV3Prompt = [
      { role: 'system', content: FOMC },
      user('What did the Committee decide about the federal funds rate?'),
    ];
    expect(composeExtractiveAnswer(prompt, 2)).toContain('raise the target range for the federal funds rate');
  });

  it('says what it is and how to configure a generative model when nothing matches', () => {
    const answer = composeExtractiveAnswer([user('hello')], 3);
    expect(answer).toMatch(/built-in \*\*extractive\*\* model/);
    expect(answer).toMatch(/OPENAI_API_KEY/);
  });

  it('streams word by word with usage and a stop finish', async () => {
    const model = createLocalExtractiveModel({ wordDelayMs: 0, maxSentences: 3 });
    const { stream } = await model.doStream({ prompt: [{ role: 'system', content: FOMC }, user('unemployment rate?')] });
    const parts = await readAllParts(stream);
    const deltas = parts.filter((p) => p.type === 'text-delta');
    expect(deltas.length).toBeGreaterThan(5);
    const finish = parts.at(-1);
    expect(finish?.type).toBe('finish');
    if (finish?.type === 'finish') {
      expect(finish.finishReason.unified).toBe('stop');
      expect(finish.usage.outputTokens.total).toBeGreaterThan(0);
    }
  });

  it('stops streaming with an AbortError when the signal fires', async () => {
    const model = createLocalExtractiveModel({ wordDelayMs: 20, maxSentences: 3 });
    const controller = new AbortController();
    const { stream } = await model.doStream({ prompt: [user('hello')], abortSignal: controller.signal });
    const reader = stream.getReader();
    await reader.read();
    await reader.read();
    controller.abort();
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return 'done';
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('honours maxOutputTokens with a length finish', async () => {
    const model = createLocalExtractiveModel({ wordDelayMs: 0, maxSentences: 3 });
    const result = await model.doGenerate({ prompt: [user('hello')], maxOutputTokens: 5 });
    expect(result.finishReason.unified).toBe('length');
    expect((result.content[0] as { text: string }).text.length).toBeLessThanOrEqual(20);
  });
});
