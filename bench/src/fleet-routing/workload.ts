/**
 * The fleet benchmark's traffic: multi-tenant multi-turn conversations (each turn's prompt is the
 * tenant's system prompt, the history and the new message), or single prompts sharing nothing;
 * sent as a Poisson process (open loop, the rate fixed whatever the latency) or as a fixed number
 * of back-to-back senders (closed loop, to measure what the fleet can carry).
 */
import { Agent, request } from 'node:http';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The next request to send, and what to do with its answer (null: it failed). */
export interface WorkItem {
  messages: ChatMessage[];
  done(answer: string | null): void;
}

export interface Workload {
  next(): WorkItem;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same traffic for every policy. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Common English words, one o200k token each with their leading space, so that the word count the
// simulated replica charges and the token count the picker hashes stay close.
const VOCABULARY = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you ' +
  'were her all she there would their we him been has when who will more no if out so said what up its about into ' +
  'than them can only other new some could time these two may then do first any my now such like our over man me ' +
  'even most made after also did many before must through back years where much your way well down should because ' +
  'each just those people how too little state good very make world still own see men work long get here between ' +
  'both life being under never day same another know while last might us great old year off come since against go ' +
  'came right used take three states himself few house use during without again place around however home small ' +
  'found thought went say part once general high upon school every does got united left number course war until'
).split(' ');

export function randomText(random: () => number, words: number): string {
  return Array.from({ length: words }, () => VOCABULARY[Math.floor(random() * VOCABULARY.length)]).join(' ');
}

export interface ConversationWorkloadOptions {
  tenants: number;
  systemWords: number;
  userWords: number;
  turns: number;
  /** Conversations open at once; a request goes to an idle open one, or opens a new one. */
  openConversations: number;
  seed: number;
}

interface Conversation {
  messages: ChatMessage[];
  turn: number;
  busy: boolean;
}

export function createConversationWorkload(opts: ConversationWorkloadOptions): Workload {
  const random = seededRandom(opts.seed);
  const systems = Array.from(
    { length: opts.tenants },
    (_, t) => `You are the assistant of tenant ${t}. ${randomText(random, opts.systemWords)}`,
  );
  const open = new Set<Conversation>();

  function openConversation(): Conversation {
    const system = systems[Math.floor(random() * systems.length)] as string;
    const conversation: Conversation = { messages: [{ role: 'system', content: system }], turn: 0, busy: false };
    open.add(conversation);
    return conversation;
  }

  return {
    next() {
      let conversation: Conversation | undefined;
      if (open.size >= opts.openConversations) {
        const idle = [...open].filter((c) => !c.busy);
        conversation = idle[Math.floor(random() * idle.length)];
      }
      conversation ??= openConversation();
      conversation.busy = true;
      conversation.messages.push({ role: 'user', content: randomText(random, opts.userWords) });
      const sent = conversation;
      return {
        messages: [...sent.messages],
        done(answer) {
          sent.busy = false;
          sent.turn++;
          if (answer === null || sent.turn >= opts.turns) open.delete(sent);
          else sent.messages.push({ role: 'assistant', content: answer });
        },
      };
    },
  };
}

/** Single-turn prompts of `words` words that share nothing (no system prompt). */
export function createUniquePromptWorkload(opts: { words: number; seed: number }): Workload {
  const random = seededRandom(opts.seed);
  return {
    next: () => ({ messages: [{ role: 'user', content: randomText(random, opts.words) }], done() {} }),
  };
}

export interface RequestResult {
  ok: boolean;
  /** When it was sent, ms since the run started. */
  sentAt: number;
  ttftMs: number;
  totalMs: number;
  error?: string;
}

/** Where requests go: a base URL, the model to name, and headers to send. */
export interface ChatTarget {
  baseURL: string;
  model: string;
  headers: Record<string, string>;
}

/** One streamed chat completion; resolves with its timings and answer text, never rejects. */
function sendChat(
  agent: Agent,
  target: ChatTarget,
  messages: ChatMessage[],
  timeoutMs: number,
): Promise<{ ok: boolean; ttftMs: number; totalMs: number; answer: string; error?: string }> {
  const body = JSON.stringify({ model: target.model, messages, stream: true });
  const url = new URL(target.baseURL);
  return new Promise((resolve) => {
    const started = performance.now();
    let ttftMs = -1;
    let answer = '';
    let buffer = '';
    let finished = false;
    const fail = (error: string) => resolve({ ok: false, ttftMs: 0, totalMs: performance.now() - started, answer, error });
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}/chat/completions`,
        method: 'POST',
        agent,
        timeout: timeoutMs,
        headers: { ...target.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf('\n\n');
            if (!event.startsWith('data: ')) continue;
            const data = event.slice(6);
            if (data === '[DONE]') {
              finished = true;
              continue;
            }
            const content = (JSON.parse(data) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content;
            if (content) {
              if (ttftMs < 0) ttftMs = performance.now() - started;
              answer += content;
            }
          }
        });
        res.on('end', () => {
          if (res.statusCode !== 200 || !finished) fail(`HTTP ${res.statusCode}, ${finished ? 'done' : 'no [DONE]'}`);
          else resolve({ ok: true, ttftMs, totalMs: performance.now() - started, answer });
        });
        res.on('error', (e) => fail(e.message));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => fail(e.message));
    req.end(body);
  });
}

export interface OpenLoopOptions {
  target: ChatTarget;
  workload: Workload;
  ratePerSec: number;
  durationMs: number;
  /** How long to wait for requests still in flight once arrivals stop. */
  drainMs: number;
  seed: number;
  timeoutMs?: number;
}

/** Poisson arrivals at `ratePerSec` for `durationMs`; bounded in count (rate × duration × 2) and time. */
export async function runOpenLoop(opts: OpenLoopOptions): Promise<{ results: RequestResult[]; sentAt: number[]; elapsedMs: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4096 });
  const random = seededRandom(opts.seed);
  const results: RequestResult[] = [];
  // Every request's send time, answered or not: those not in `results` never ended.
  const sentTimes: number[] = [];
  const pending = new Set<Promise<void>>();
  const maxRequests = Math.ceil((opts.ratePerSec * opts.durationMs * 2) / 1000);
  const started = performance.now();
  let nextAt = 0;
  for (let n = 0; n < maxRequests; n++) {
    nextAt += (-Math.log(1 - random()) / opts.ratePerSec) * 1000;
    if (nextAt >= opts.durationMs) break;
    const wait = nextAt - (performance.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const item = opts.workload.next();
    const sentAt = performance.now() - started;
    sentTimes.push(sentAt);
    const p = sendChat(agent, opts.target, item.messages, opts.timeoutMs ?? 60_000).then((r) => {
      item.done(r.ok ? r.answer : null);
      results.push({ ok: r.ok, sentAt, ttftMs: r.ttftMs, totalMs: r.totalMs, ...(r.error ? { error: r.error } : {}) });
      pending.delete(p);
    });
    pending.add(p);
  }
  const arrivalsEnded = performance.now() - started;
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, opts.drainMs))]);
  agent.destroy();
  return { results, sentAt: sentTimes, elapsedMs: Math.max(arrivalsEnded, opts.durationMs) };
}

/** `concurrency` senders back to back for `durationMs`; completions per second after `warmupMs`. */
export async function measureCapacity(opts: {
  target: ChatTarget;
  workload: Workload;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
}): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const started = performance.now();
  let counted = 0;
  const sender = async () => {
    while (performance.now() - started < opts.durationMs) {
      const item = opts.workload.next();
      const r = await sendChat(agent, opts.target, item.messages, 60_000);
      item.done(r.ok ? r.answer : null);
      const at = performance.now() - started;
      if (r.ok && at >= opts.warmupMs && at < opts.durationMs) counted++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, sender));
  agent.destroy();
  return (counted * 1000) / (opts.durationMs - opts.warmupMs);
}
