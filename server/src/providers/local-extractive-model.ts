import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import { readTimeInQuestion } from '../rag/search/time-in-question';
import { rankSentences, splitSentences, summarizeSentences } from './extractive-ranker';

export const LOCAL_EXTRACTIVE_ID = 'extractive';

export interface LocalExtractiveOptions {
  /** Pause between streamed words, in ms. */
  wordDelayMs: number;
  /** Most sentences quoted in one answer. */
  maxSentences: number;
}

/** Rough token count (about four characters a token for English); the local model has no tokenizer. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function textOf(content: LanguageModelV3Prompt[number]['content']): string {
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

/**
 * One user message as what the person asks and the text they pasted to work on. A short message
 * (under three sentences) is all question. Otherwise a short paragraph at the end that asks
 * something, or a short first paragraph ("Summarize the text I paste below."), is the question and
 * the rest is pasted text; failing those, its questions are the question and the rest is the text.
 */
export function splitMessage(text: string): { question: string; pasted: string } {
  const sentences = splitSentences(text);
  if (sentences.length < 3) return { question: text.trim(), pasted: '' };
  const blocks = text
    .split(/\n\s*\n/)
    .map((b) => b.trim())
    .filter(Boolean);
  if (blocks.length > 1) {
    const first = blocks[0] as string;
    const last = blocks.at(-1) as string;
    if (splitSentences(last).length <= 2 && last.endsWith('?')) return { question: last, pasted: blocks.slice(0, -1).join('\n\n') };
    if (splitSentences(first).length <= 2) return { question: first, pasted: blocks.slice(1).join('\n\n') };
  }
  const questions = sentences.filter((s) => s.endsWith('?'));
  const question = questions.length > 0 ? questions.join(' ') : (sentences[0] as string);
  const asked = new Set(questions.length > 0 ? questions : [question]);
  return { question, pasted: sentences.filter((s) => !asked.has(s)).join('\n\n') };
}

/**
 * Splits the prompt into the question (from the last user message) and the source text to quote
 * from: system text (instructions, retrieved and attached passages) and what the person pasted in
 * any of their messages. What they asked earlier is never a source, nor are earlier answers.
 */
export function splitPrompt(prompt: LanguageModelV3Prompt): { question: string; sources: string[] } {
  const lastUserIndex = prompt.findLastIndex((m) => m.role === 'user');
  const sources: string[] = [];
  let question = '';
  prompt.forEach((message, index) => {
    if (message.role === 'system') sources.push(textOf(message.content));
    if (message.role !== 'user') return;
    const parts = splitMessage(textOf(message.content));
    if (parts.pasted) sources.push(parts.pasted);
    if (index === lastUserIndex) question = parts.question;
  });
  return { question, sources };
}

const NUMBER_WORDS = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

/**
 * Whether the question asks for a summary ("Summarize…", "TL;DR", "the key points"), and how many
 * sentences it wants when it says ("in three bullet points").
 */
export function summaryRequest(question: string): { count?: number; bullets: boolean } | undefined {
  const q = question.toLowerCase();
  if (!/\b(summari[sz]e|summary|sum up|tl;?dr|key points|main points|gist|overview)\b/.test(q)) return undefined;
  const counted =
    /\b(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:short\s+|key\s+|main\s+)?(bullet|point|sentence|line|item)/.exec(q);
  const raw = counted?.[1];
  const count = raw === undefined ? undefined : /\d/.test(raw) ? Number(raw) : NUMBER_WORDS.indexOf(raw) + 1;
  return { ...(count ? { count: Math.min(count, 10) } : {}), bullets: /\bbullet|\blist\b|points\b/.test(q) };
}

/** A piece of source text, and the number of the passage it came from when the prompt numbers them. */
interface Source {
  text: string;
  passage?: number;
  /** The passage's document date, when the prompt states one (`dated YYYY-MM-DD`). */
  date?: string;
}

/**
 * Reads numbered passages (`[n] (document, page)` then the text) after a "Passages:" line, as the
 * grounded prompt writes them; other text is one unnumbered source.
 */
export function readSources(text: string): Source[] {
  const marker = text.search(/^Passages:\s*$/m);
  if (marker < 0) return [{ text }];
  const sources: Source[] = [];
  const pattern = /^\[(\d+)\]([^\n]*)\n([\s\S]*?)(?=^\[\d+\] |$(?![\s\S]))/gm;
  for (const match of text.slice(marker).matchAll(pattern)) {
    const date = /\bdated (\d{4}-\d{2}-\d{2})\b/.exec(match[2] ?? '')?.[1];
    sources.push({ passage: Number(match[1]), text: match[3] ?? '', ...(date ? { date } : {}) });
  }
  return sources;
}

/** The whole answer for a prompt: a label line, then the chosen passages as quotes; or an explanation. */
export function composeExtractiveAnswer(prompt: LanguageModelV3Prompt, maxSentences: number): string {
  const { question, sources } = splitPrompt(prompt);
  const sentences: Array<{ text: string; passage?: number; date?: string }> = [];
  for (const source of sources.flatMap((s) => readSources(s))) {
    for (const sentence of splitSentences(source.text))
      sentences.push({
        text: sentence,
        ...(source.passage !== undefined ? { passage: source.passage } : {}),
        ...(source.date ? { date: source.date } : {}),
      });
  }
  const summary = summaryRequest(question);
  if (summary && sentences.length > 0) {
    const picked = summarizeSentences(
      sentences.map((s) => s.text),
      { maxSentences: summary.count ?? maxSentences },
    );
    const lines = picked.map((s) => {
      const passage = sentences[s.index]?.passage;
      return `${summary.bullets ? '- ' : '> '}${s.text}${passage !== undefined ? ` [${passage}]` : ''}`;
    });
    return `*Extractive summary (built-in local model): the key sentences of the text, quoted as written.*\n\n${lines.join(summary.bullets ? '\n' : '\n>\n')}`;
  }
  // Dates in the question were for retrieval (the passages are of that time): sentences are ranked
  // by the rest of its words. A question asking for the latest is answered from the newest passage
  // that has anything to quote.
  const time = readTimeInQuestion(question, new Date());
  const rank = (pool: typeof sentences) => {
    const ranked = rankSentences(
      time.text,
      pool.map((s) => s.text),
      { maxSentences },
    );
    return ranked.map((r) => ({ ...r, index: sentences.indexOf(pool[r.index] as (typeof sentences)[number]) }));
  };
  const dates = [...new Set(sentences.flatMap((s) => (s.date ? [s.date] : [])))].sort().reverse();
  let chosen: ReturnType<typeof rank> = [];
  if (time.recency) for (const date of dates) if (chosen.length === 0) chosen = rank(sentences.filter((s) => s.date === date));
  if (chosen.length === 0) chosen = rank(sentences);
  if (chosen.length === 0) {
    return [
      "I'm Axon's built-in **extractive** model: I don't generate text, I quote the passages most relevant to your question from this conversation and, once you add documents, from your collections.",
      '',
      sentences.length === 0
        ? 'There is no text here yet for me to quote from. Paste the text you want to ask about, or ask about your documents.'
        : 'Nothing in the text I was given matches your question.',
      '',
      'For written answers, configure a generative model: set `OPENAI_API_KEY` or `ANTHROPIC_API_KEY`, or add an OpenAI-compatible server (vLLM, Ollama, llama.cpp) under `connections` in `axon.config.yaml`, and pick it in the model menu.',
    ].join('\n');
  }
  const quotes = chosen
    .map((s) => {
      const { passage, date } = sentences[s.index] ?? {};
      return `> ${s.text}${passage !== undefined ? ` [${passage}]` : ''}${date ? ` (dated ${date})` : ''}`;
    })
    .join('\n>\n');
  return `*Extractive answer (built-in local model): the most relevant passages, quoted as written.*\n\n${quotes}`;
}

function usageFor(prompt: LanguageModelV3Prompt, answer: string): LanguageModelV3Usage {
  const input = estimateTokens(prompt.map((m) => textOf(m.content)).join('\n'));
  const output = estimateTokens(answer);
  return {
    inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: output, text: output, reasoning: undefined },
  };
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/**
 * `local/extractive`: a language model that needs no weights and no network. It answers by
 * quoting the sentences of its input that best match the question, and streams them word by word
 * through the same seam as every hosted model.
 */
export function createLocalExtractiveModel(options: LocalExtractiveOptions): LanguageModelV3 {
  return {
    specificationVersion: 'v3',
    provider: 'local',
    modelId: LOCAL_EXTRACTIVE_ID,
    supportedUrls: {},

    async doGenerate(call: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
      if (call.abortSignal?.aborted) throw abortError(call.abortSignal);
      const answer = limitWords(composeExtractiveAnswer(call.prompt, options.maxSentences), call.maxOutputTokens);
      return {
        content: [{ type: 'text', text: answer.text }],
        finishReason: { unified: answer.truncated ? 'length' : 'stop', raw: answer.truncated ? 'length' : 'stop' },
        usage: usageFor(call.prompt, answer.text),
        warnings: [],
      };
    },

    async doStream(call: LanguageModelV3CallOptions) {
      const signal = call.abortSignal;
      if (signal?.aborted) throw abortError(signal);
      const answer = limitWords(composeExtractiveAnswer(call.prompt, options.maxSentences), call.maxOutputTokens);
      const words = answer.text.match(/\S+\s*|\s+/g) ?? [];
      let index = 0;
      let timer: NodeJS.Timeout | undefined;
      const stream = new ReadableStream<LanguageModelV3StreamPart>({
        start(controller) {
          controller.enqueue({ type: 'stream-start', warnings: [] });
          controller.enqueue({ type: 'text-start', id: 'text-0' });
        },
        async pull(controller) {
          if (signal?.aborted) {
            controller.error(abortError(signal));
            return;
          }
          const word = words[index++];
          if (word === undefined) {
            controller.enqueue({ type: 'text-end', id: 'text-0' });
            controller.enqueue({
              type: 'finish',
              finishReason: { unified: answer.truncated ? 'length' : 'stop', raw: answer.truncated ? 'length' : 'stop' },
              usage: usageFor(call.prompt, answer.text),
            });
            controller.close();
            return;
          }
          if (options.wordDelayMs > 0 && index > 1) {
            const aborted = await new Promise<boolean>((resolve) => {
              const onAbort = () => {
                clearTimeout(timer);
                resolve(true);
              };
              timer = setTimeout(() => {
                signal?.removeEventListener('abort', onAbort);
                resolve(false);
              }, options.wordDelayMs);
              signal?.addEventListener('abort', onAbort, { once: true });
            });
            if (aborted && signal) {
              controller.error(abortError(signal));
              return;
            }
          }
          controller.enqueue({ type: 'text-delta', id: 'text-0', delta: word });
        },
        cancel() {
          clearTimeout(timer);
        },
      });
      return { stream };
    },
  };
}

function limitWords(text: string, maxOutputTokens: number | undefined): { text: string; truncated: boolean } {
  if (maxOutputTokens === undefined || estimateTokens(text) <= maxOutputTokens) return { text, truncated: false };
  return { text: text.slice(0, Math.max(0, maxOutputTokens * 4)), truncated: true };
}
