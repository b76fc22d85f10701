import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import { STOPWORDS } from '../providers/extractive-ranker';

/** Longest title Axon makes, in characters. */
export const MAX_TITLE_CHARS = 60;

/**
 * How a new conversation gets its title once its first answer is written: `auto` asks a generative
 * model for a few words and takes key phrases for the local model; `key-phrases` always takes key
 * phrases; `first-message` keeps the opening words of the first question.
 */
export type ConversationTitles = 'auto' | 'key-phrases' | 'first-message';

const MORE_STOPWORDS = new Set(['also', 'like', 'get', 'know', 'want', 'need', 'use', 'make', 'one', 'let', 'us', 'hi', 'hello', 'thanks']);
const isStopword = (word: string) => STOPWORDS.has(word) || MORE_STOPWORDS.has(word);

/** The opening words of a text, on one line, at most 60 characters. */
export function titleFromText(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_TITLE_CHARS ? `${line.slice(0, MAX_TITLE_CHARS - 3).trimEnd()}…` : line;
}

interface Phrase {
  words: string[];
  fromQuestion: boolean;
  at: number;
}

/** Runs of content words between function words and punctuation (the candidates of RAKE). */
function candidatePhrases(text: string, fromQuestion: boolean, offset: number): Phrase[] {
  const phrases: Phrase[] = [];
  let current: string[] = [];
  let index = offset;
  const flush = () => {
    if (current.length > 0 && current.length <= 4) phrases.push({ words: current, fromQuestion, at: index });
    current = [];
  };
  // Words (with inner hyphens and apostrophes) and the punctuation that ends a phrase.
  for (const match of text.matchAll(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*|[.,;:!?()[\]{}"“”]/gu)) {
    const token = match[0];
    index = offset + (match.index ?? 0);
    if (!/[\p{L}\p{N}]/u.test(token)) {
      flush();
      continue;
    }
    const lower = token.toLowerCase();
    if (isStopword(lower) || lower.length < 2 || /^\d+$/.test(lower)) {
      flush();
      continue;
    }
    current.push(token);
  }
  flush();
  return phrases;
}

/**
 * A title from the key phrases of the first exchange, with no model: the candidate phrases are scored
 * as RAKE does (each word's degree over its frequency), the question's counting double since it names
 * the topic, and the best one or two are kept, in the order they were written.
 */
export function keyPhraseTitle(question: string, answer: string): string {
  const phrases = [...candidatePhrases(question, true, 0), ...candidatePhrases(answer.slice(0, 4000), false, 1e6)];
  if (phrases.length === 0) return titleFromText(question);
  const frequency = new Map<string, number>();
  const degree = new Map<string, number>();
  for (const phrase of phrases)
    for (const word of phrase.words) {
      const w = word.toLowerCase();
      frequency.set(w, (frequency.get(w) ?? 0) + 1);
      degree.set(w, (degree.get(w) ?? 0) + phrase.words.length);
    }
  const score = (p: Phrase) =>
    p.words.reduce((sum, w) => sum + (degree.get(w.toLowerCase()) ?? 0) / (frequency.get(w.toLowerCase()) ?? 1), 0) *
    (p.fromQuestion ? 2 : 1);
  const seen = new Set<string>();
  const ranked = phrases
    .map((p) => ({ p, s: score(p), key: p.words.join(' ').toLowerCase() }))
    .sort((a, b) => b.s - a.s || a.p.at - b.p.at)
    .filter(({ key }) => {
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const picked = [ranked[0]?.p as Phrase];
  const second = ranked[1]?.p;
  const words = (p: Phrase) => new Set(p.words.map((w) => w.toLowerCase()));
  if (second && picked[0] && picked[0].words.length < 3 && second.words.length + picked[0].words.length <= 6) {
    const first = words(picked[0]);
    if (![...words(second)].some((w) => first.has(w))) picked.push(second);
  }
  picked.sort((a, b) => a.at - b.at);
  const title = picked.map((p) => p.words.join(' ')).join(', ');
  return titleFromText(title.charAt(0).toUpperCase() + title.slice(1));
}

/** The prompt that asks a generative model to name a conversation from its first exchange. */
export function titlePrompt(question: string, answer: string): LanguageModelV3Prompt {
  return [
    {
      role: 'system',
      content:
        'You name conversations. Reply with a title of two to six words for the conversation below, in its language: no quotes, no full stop, nothing else.',
    },
    {
      role: 'user',
      content: [{ type: 'text', text: `Question: ${question.slice(0, 2000)}\n\nAnswer: ${answer.slice(0, 2000)}` }],
    },
  ];
}

/** A model's reply as a title: its first line without quotes, markdown or a closing full stop; empty when nothing is left. */
export function cleanModelTitle(reply: string): string {
  const line =
    reply
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean) ?? '';
  const unwrap = (text: string) => text.replace(/^[#*_>`\s"'“”‘’«»]+|[*_`\s"'“”‘’«».。]+$/gu, '');
  const cleaned = unwrap(unwrap(line).replace(/^title\s*:\s*/i, ''))
    .replace(/\s+/g, ' ')
    .trim();
  return cleaned ? titleFromText(cleaned) : '';
}
