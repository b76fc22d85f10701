import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import type { Conversation } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSseData, WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { splitSentences } from './extractive-ranker';
import { composeExtractiveAnswer, splitMessage } from './local-extractive-model';

const user = (text: string) => ({ role: 'user' as const, content: [{ type: 'text' as const, text }] });
const assistant = (text: string) => ({ role: 'assistant' as const, content: [{ type: 'text' as const, text }] });

const FOMC = `The Committee decided to raise the target range for the federal funds rate to 1-1/2 to 1-3/4 percent.
Inflation remains elevated, reflecting supply and demand imbalances related to the pandemic, higher energy prices, and broader price pressures.
Job gains have been robust in recent months, and the unemployment rate has declined substantially.
The invasion of Ukraine by Russia is causing tremendous human and economic hardship.`;

const ARTICLE = `Treasury yields rose sharply on Tuesday as investors priced in further rate increases.
The 10-year Treasury yield climbed to 3.2 percent, its highest level in three years.
Short-term yields rose even faster, and the 2-year Treasury yield reached 2.8 percent.
Analysts said the bond market expects the Federal Reserve to keep raising rates through the year.
Mortgage rates followed Treasury yields higher, and home sales slowed in several regions.
Some investors moved money into cash while bond prices fell.
Stocks were mixed in afternoon trading.`;

/** The first starter suggestion of the web app's empty chat. */
const SUMMARIZE_STARTER = 'Summarize the text I paste below in three bullet points.';

describe('the local extractive model in a conversation', () => {
  it('never quotes the person’s earlier questions in a follow-up', () => {
    const prompt: LanguageModelV3Prompt = [
      { role: 'system', content: FOMC },
      user('What did the Committee decide about the federal funds rate?'),
      assistant('> The Committee decided to raise the target range for the federal funds rate.'),
      user('And what about the unemployment rate?'),
    ];
    const answer = composeExtractiveAnswer(prompt, 3);
    expect(answer).toContain('the unemployment rate has declined substantially');
    expect(answer).not.toContain('What did the Committee decide');
  });

  it('has nothing to quote when the only text is the person’s own questions', () => {
    const prompt: LanguageModelV3Prompt = [
      user('Tell me about inflation and energy prices'),
      assistant('There is no text here yet for me to quote from.'),
      user('What about inflation and energy prices?'),
    ];
    const answer = composeExtractiveAnswer(prompt, 3);
    expect(answer).not.toContain('> Tell me about inflation');
    expect(answer).toContain('There is no text here yet');
  });

  it('still quotes what the person pasted in an earlier message', () => {
    const prompt: LanguageModelV3Prompt = [
      user(`Here is the statement.\n\n${FOMC}`),
      assistant('Got it.'),
      user('Why is inflation elevated?'),
    ];
    const answer = composeExtractiveAnswer(prompt, 2);
    expect(answer).toContain('> Inflation remains elevated');
    expect(answer).not.toContain('Here is the statement');
  });

  it('summarizes pasted text in the number of bullet points asked for, from the pasted text only', () => {
    const answer = composeExtractiveAnswer([user(`${SUMMARIZE_STARTER}\n\n${ARTICLE}`)], 5);
    expect(answer).not.toContain('Nothing in the text I was given matches');
    expect(answer).toMatch(/^\*Extractive summary \(built-in local model/);
    const bullets = answer.split('\n').filter((l) => l.startsWith('- '));
    expect(bullets).toHaveLength(3);
    const articleSentences = splitSentences(ARTICLE);
    for (const bullet of bullets) expect(articleSentences).toContain(bullet.slice(2));
    expect(answer).not.toContain('paste below');
    // The sentence every other one elaborates on is among them.
    expect(answer).toContain('Treasury yields rose sharply on Tuesday');
  });

  it('reads a question after pasted text, and an instruction before it', () => {
    expect(splitMessage(`${ARTICLE}\n\nWhat did mortgage rates do?`)).toMatchObject({ question: 'What did mortgage rates do?' });
    const split = splitMessage(`${SUMMARIZE_STARTER}\n\n${ARTICLE}`);
    expect(split.question).toBe(SUMMARIZE_STARTER);
    expect(split.pasted).toContain('Stocks were mixed');
    expect(splitMessage('What did mortgage rates do? And why?')).toEqual({ question: 'What did mortgage rates do? And why?', pasted: '' });
  });
});

describe('the local model through the web chat', () => {
  let t: TestServer;
  let web: WebClient;
  beforeAll(async () => {
    t = await startTestServer({ overrides: { 'localModel.wordDelayMs': 0 } });
    web = new WebClient(t.url);
    await web.setup('admin@example.com', 'admin password 1');
  });
  afterAll(() => t?.close());

  async function turn(id: string, text: string): Promise<string> {
    const response = await web.request('POST', `/api/conversations/${id}/chat`, {
      trigger: 'submit-message',
      message: { id: `m${text.length}`, text },
    });
    return parseSseData(await response.text())
      .filter((d) => d !== '[DONE]')
      .map((d) => JSON.parse(d) as { type: string; delta?: string })
      .filter((c) => c.type === 'text-delta')
      .map((c) => c.delta)
      .join('');
  }

  it('summarizes the pasted text of the first starter, then answers a follow-up from it, not from the questions', async () => {
    const { body: c } = await web.json<Conversation>('POST', '/api/conversations', { model: 'local/extractive' });
    const summary = await turn(c.id, `${SUMMARIZE_STARTER}\n\n${ARTICLE}`);
    expect(summary.split('\n').filter((l) => l.startsWith('- '))).toHaveLength(3);
    const followUp = await turn(c.id, 'What happened to mortgage rates?');
    expect(followUp).toContain('Mortgage rates followed Treasury yields higher');
    expect(followUp).not.toContain('Summarize the text');
    const again = await turn(c.id, 'What happened to mortgage rates and home sales?');
    expect(again).not.toContain('What happened to mortgage rates?');
  });
});
