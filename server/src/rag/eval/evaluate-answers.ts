import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Citation } from '@axon/contracts';
import { z } from 'zod';

/**
 * The answer evaluation: questions with the answer fragments a right answer holds and the source
 * documents it should cite, run through the web app's chat route (retrieval, grounded prompt,
 * model, citations) of a running server, and scored as answer found, citation valid, and both.
 */

const AnswerQuestionSchema = z.strictObject({
  id: z.string().min(1),
  /** What the question tests (dates, decisions, votes, wording…), for the report by kind. */
  kind: z.string().min(1),
  question: z.string().min(1),
  /** The answer is found when it holds any of these (case, spaces and dashes aside). */
  answers: z.array(z.string().min(1)).min(1),
  /** `collection/document name`: the citation is valid when the answer cites any of these. */
  sources: z.array(z.string().regex(/^[^/]+\/.+$/, 'write a source as collection/document')).min(1),
});

export const AnswerSetSchema = z.strictObject({
  description: z.string().optional(),
  /** Collection name → folder of its documents, relative to the data directory. */
  collections: z.record(z.string().min(1), z.string().min(1)),
  questions: z.array(AnswerQuestionSchema).min(1),
});
export type AnswerSet = z.infer<typeof AnswerSetSchema>;
export type AnswerQuestion = z.infer<typeof AnswerQuestionSchema>;

export async function readAnswerSet(file: string): Promise<AnswerSet> {
  const parsed = AnswerSetSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Lower case, one space, every kind of dash as "-", curly quotes straight: how fragments are compared. */
export function normalizeForMatch(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/\s+/g, ' ')
    .toLowerCase();
}

export interface AnswerResult {
  id: string;
  kind: string;
  question: string;
  answerFound: boolean;
  citationValid: boolean;
  /** `collection/document` of each passage the answer cites (all it was given when it cites none). */
  cited: string[];
  /** Whether some passage given to the model came from an expected source (retrieval found it). */
  sourceRetrieved: boolean;
  answer: string;
  ms: number;
}

export interface AnswerReport {
  model: string;
  questions: number;
  answerFound: number;
  citationValid: number;
  both: number;
  sourceRetrieved: number;
  byKind: Record<string, { questions: number; answerFound: number; citationValid: number; both: number }>;
  results: AnswerResult[];
}

/** Scores one answer against its question. */
export function scoreAnswer(
  question: AnswerQuestion,
  answer: string,
  citations: Citation[],
  collectionName: (collectionId: string) => string,
): Pick<AnswerResult, 'answerFound' | 'citationValid' | 'cited' | 'sourceRetrieved'> {
  const text = normalizeForMatch(answer);
  const answerFound = question.answers.some((a) => text.includes(normalizeForMatch(a)));
  const markers = new Set([...answer.matchAll(/\[(\d{1,3})\]/g)].map((m) => Number(m[1])));
  const citedPassages = markers.size > 0 ? citations.filter((c) => markers.has(c.n)) : citations;
  const name = (c: Citation) => `${collectionName(c.collectionId)}/${c.documentName}`;
  const expected = new Set(question.sources);
  const cited = [...new Set(citedPassages.map(name))];
  return {
    answerFound,
    citationValid: cited.some((s) => expected.has(s)),
    cited,
    sourceRetrieved: citations.some((c) => expected.has(name(c))),
  };
}

/** A signed-in session of the web API (cookie plus CSRF header). */
class Session {
  private cookie = '';
  private csrf = '';
  constructor(private readonly baseUrl: string) {}

  async call(method: string, path: string, body?: unknown | FormData): Promise<Response> {
    const headers: Record<string, string> = { cookie: this.cookie, 'x-csrf-token': this.csrf };
    const form = body instanceof FormData;
    if (body !== undefined && !form) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: form ? body : JSON.stringify(body) } : {}),
    });
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith('axon_session='));
    if (setCookie) this.cookie = setCookie.split(';')[0] ?? '';
    return response;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.call(method, path, body);
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async signIn(email: string, password: string, setup: boolean): Promise<void> {
    const session = await this.json<{ csrfToken: string }>('POST', setup ? '/api/auth/setup' : '/api/auth/login', { email, password });
    this.csrf = session.csrfToken;
  }
}

/** Reads one chat turn's SSE stream: the answer's text and the last citations sent (with highlights). */
async function readChatStream(response: Response): Promise<{ text: string; citations: Citation[] }> {
  const body = await response.text();
  let text = '';
  let citations: Citation[] = [];
  for (const frame of body.split('\n\n')) {
    const data = frame
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6))
      .join('\n');
    if (!data || data === '[DONE]') continue;
    const chunk = JSON.parse(data) as { type: string; delta?: string; data?: Citation[]; errorText?: string };
    if (chunk.type === 'text-delta') text += chunk.delta ?? '';
    else if (chunk.type === 'data-citations') citations = chunk.data ?? [];
    else if (chunk.type === 'error') throw new Error(`the chat answered with an error: ${chunk.errorText}`);
  }
  return { text, citations };
}

export interface RunAnswersOptions {
  /** A running Axon server. */
  baseUrl: string;
  /** An account to use: created with `setup` on a fresh server, else signed in. */
  account: { email: string; password: string; setup: boolean };
  set: AnswerSet;
  /** Where the set's collection folders are. */
  dataDir: string;
  model: string;
  /** Resolves when the server has indexed every uploaded document. */
  indexed: () => Promise<void>;
  /** Told of each result as it comes. */
  onResult?: (result: AnswerResult) => void;
}

/** Uploads the set's documents into fresh collections, asks every question in a conversation of its own, and scores the answers. */
export async function runAnswerEvaluation(options: RunAnswersOptions): Promise<AnswerReport> {
  const session = new Session(options.baseUrl);
  await session.signIn(options.account.email, options.account.password, options.account.setup);
  const names = new Map<string, string>();
  const stamp = Date.now().toString(36);
  for (const [name, folder] of Object.entries(options.set.collections)) {
    const dir = resolve(options.dataDir, folder);
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => /\.(txt|md|pdf|docx|html?|csv)$/i.test(f) && !/^licen[cs]e/i.test(f)).sort();
    } catch {
      throw new Error(`The documents of "${name}" are not at ${dir}: pass --data with the folder holding ${folder}.`);
    }
    const collection = await session.json<{ id: string }>('POST', '/api/collections', { name: `${name} (eval ${stamp})` });
    names.set(collection.id, name);
    for (let i = 0; i < files.length; i += 10) {
      const form = new FormData();
      for (const file of files.slice(i, i + 10)) form.append('file', new Blob([await readFile(join(dir, file))]), file);
      const response = await session.call('POST', `/api/collections/${collection.id}/documents`, form);
      if (response.status !== 202) throw new Error(`uploading to "${name}": HTTP ${response.status} ${await response.text()}`);
    }
  }
  await options.indexed();
  const results: AnswerResult[] = [];
  for (const question of options.set.questions) {
    const started = performance.now();
    const conversation = await session.json<{ id: string }>('POST', '/api/conversations', {
      model: options.model,
      collectionIds: [...names.keys()],
    });
    const response = await session.call('POST', `/api/conversations/${conversation.id}/chat`, {
      trigger: 'submit-message',
      message: { id: `q-${question.id}`, text: question.question },
    });
    if (!response.ok) throw new Error(`asking ${question.id}: HTTP ${response.status} ${await response.text()}`);
    const { text, citations } = await readChatStream(response);
    const result: AnswerResult = {
      id: question.id,
      kind: question.kind,
      question: question.question,
      ...scoreAnswer(question, text, citations, (id) => names.get(id) ?? id),
      answer: text,
      ms: performance.now() - started,
    };
    results.push(result);
    options.onResult?.(result);
  }
  const count = (list: AnswerResult[], key: 'answerFound' | 'citationValid' | 'sourceRetrieved') => list.filter((r) => r[key]).length;
  const byKind: AnswerReport['byKind'] = {};
  for (const kind of new Set(results.map((r) => r.kind))) {
    const list = results.filter((r) => r.kind === kind);
    byKind[kind] = {
      questions: list.length,
      answerFound: count(list, 'answerFound'),
      citationValid: count(list, 'citationValid'),
      both: list.filter((r) => r.answerFound && r.citationValid).length,
    };
  }
  return {
    model: options.model,
    questions: results.length,
    answerFound: count(results, 'answerFound'),
    citationValid: count(results, 'citationValid'),
    both: results.filter((r) => r.answerFound && r.citationValid).length,
    sourceRetrieved: count(results, 'sourceRetrieved'),
    byKind,
    results,
  };
}
