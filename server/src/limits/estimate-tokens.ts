import type { LanguageModelV3Prompt } from '@ai-sdk/provider';

type CountTokens = (text: string) => number;
let loading: Promise<CountTokens> | undefined;

/**
 * gpt-tokenizer's o200k tables take about 55 MB once loaded: they are loaded the first time a
 * count is needed (a tokens-per-minute limit, passages to fit a budget), not at start.
 */
export function loadTokenCounter(): Promise<CountTokens> {
  loading ??= import('gpt-tokenizer').then((tokenizer) => tokenizer.countTokens);
  return loading;
}

/** Tokens of texts, counted with a real tokenizer (o200k). */
export async function countTextTokens(texts: string[]): Promise<number> {
  const count = await loadTokenCounter();
  return texts.reduce((n, text) => n + count(text), 0);
}

/** Tokens of a prompt's text, plus a few per message for the framing. */
export async function estimatePromptTokens(prompt: LanguageModelV3Prompt): Promise<number> {
  const count = await loadTokenCounter();
  let tokens = 0;
  for (const message of prompt) {
    tokens += 4;
    if (typeof message.content === 'string') tokens += count(message.content);
    else for (const part of message.content) if (part.type === 'text') tokens += count(part.text);
  }
  return tokens;
}
