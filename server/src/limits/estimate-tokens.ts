import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import { countTokens } from 'gpt-tokenizer';

/** Tokens of a prompt's text, counted with a real tokenizer (o200k), plus a few per message for the framing. */
export function estimatePromptTokens(prompt: LanguageModelV3Prompt): number {
  let tokens = 0;
  for (const message of prompt) {
    tokens += 4;
    if (typeof message.content === 'string') tokens += countTokens(message.content);
    else for (const part of message.content) if (part.type === 'text') tokens += countTokens(part.text);
  }
  return tokens;
}
