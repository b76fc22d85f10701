import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { countTokens } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';
import { estimatePromptTokens, estimateTextTokens } from './estimate-tokens';

const DATA = resolve(import.meta.dirname, '../../../../shared/data');

function samples(): Array<{ name: string; text: string }> {
  if (!existsSync(DATA)) throw new Error(`The shared data folder is missing at ${DATA}: this test reads ../shared/data.`);
  const statements = resolve(DATA, 'fomc-statements');
  const prose = readdirSync(statements)
    .filter((f) => f.endsWith('.txt'))
    .slice(0, 8)
    .map((f) => ({ name: f, text: readFileSync(resolve(statements, f), 'utf8') }));
  const treasury = resolve(DATA, 'treasury');
  const csv = readdirSync(treasury)
    .filter((f) => f.endsWith('.csv'))
    .slice(0, 1)
    .map((f) => ({ name: f, text: readFileSync(resolve(treasury, f), 'utf8').slice(0, 20_000) }));
  const code = { name: 'this test', text: readFileSync(import.meta.filename, 'utf8') };
  const json = {
    name: 'a JSON body',
    text: JSON.stringify({ messages: prose.slice(0, 2).map((p) => ({ role: 'user', content: p.text })) }),
  };
  return [...prose, ...csv, code, json];
}

describe('token estimates for limits', () => {
  it('come within −20 %…+30 % of the o200k tokenizer on prose, data, code and JSON', () => {
    const all = samples();
    expect(all.length).toBeGreaterThan(8);
    for (const { name, text } of all) {
      const ratio = estimateTextTokens(text) / countTokens(text);
      expect({ name, ok: ratio > 0.8 && ratio < 1.3, ratio }).toMatchObject({ name, ok: true });
    }
  });

  it('count a text in other scripts by its characters, not as Latin words', () => {
    const japanese = '東京は日本の首都であり、世界最大の都市圏の一つです。'.repeat(10);
    const ratio = estimateTextTokens(japanese) / countTokens(japanese);
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.4);
  });

  it('add a few tokens per message for the framing, and count only text parts', () => {
    const text = 'What moved the ten-year yield today?';
    const one = estimatePromptTokens([{ role: 'user', content: [{ type: 'text', text }] }]);
    expect(one).toBe(estimateTextTokens(text) + 4);
    const two = estimatePromptTokens([
      { role: 'system', content: text },
      {
        role: 'user',
        content: [
          { type: 'text', text },
          { type: 'file', data: new Uint8Array([1, 2, 3]), mediaType: 'image/png' },
        ],
      },
    ]);
    expect(two).toBe(2 * one);
    expect(estimateTextTokens('')).toBe(0);
  });
});
