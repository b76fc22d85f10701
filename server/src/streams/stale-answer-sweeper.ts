import type { InterruptedAnswer, MessageRepository } from '../store';
import type { StreamLog } from './stream-log';

export interface StaleAnswerSweeperOptions {
  messages: Pick<MessageRepository, 'markStale' | 'update'>;
  log: Pick<StreamLog, 'read' | 'end'>;
  /** An answer whose writer gave no heartbeat for this long is taken as interrupted. */
  staleAfterMs: number;
  /** How often to look (every replica does; each stale answer is marked by one). */
  intervalMs: number;
  now?: () => number;
  onError?: (error: unknown) => void;
  /** Told of the answers each sweep marked. */
  onMarked?: (answers: InterruptedAnswer[]) => void;
}

export interface StaleAnswerSweeper {
  /** Marks the answers that are stale now; resolves with them. */
  sweep(): Promise<InterruptedAnswer[]>;
  start(): void;
  stop(): Promise<void>;
}

/** The text of an answer's stream: its text deltas, in order, in its latest epoch. */
export async function textOfStream(log: Pick<StreamLog, 'read'>, messageId: string): Promise<string> {
  let text = '';
  let epoch = 0;
  for await (const entry of log.read(messageId, undefined, { follow: false })) {
    if (entry.epoch !== epoch) {
      epoch = entry.epoch;
      text = '';
    }
    if (!entry.data.includes('"text-delta"')) continue;
    const chunk = JSON.parse(entry.data) as { type?: string; delta?: string };
    if (chunk.type === 'text-delta' && typeof chunk.delta === 'string') text += chunk.delta;
  }
  return text;
}

/**
 * Finds answers whose replica died while writing them: every `intervalMs`, answers with no heartbeat
 * for `staleAfterMs` are marked `error` with the text they had, or the longer text their stream log
 * holds when it got further than the last heartbeat; their logs are ended so that readers finish
 * (and so that a writer that only stalled stops: the log refuses its events).
 */
export function createStaleAnswerSweeper(options: StaleAnswerSweeperOptions): StaleAnswerSweeper {
  const now = options.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  /** The sweep under way; a tick that finds one running waits for the next. */
  let running: Promise<unknown> | undefined;

  const sweep = async () => {
    const marked = await options.messages.markStale(new Date(now() - options.staleAfterMs).toISOString());
    for (const answer of marked) {
      try {
        const keepLonger = async (streamed: string) => {
          if (streamed.length <= answer.content.length || !streamed.startsWith(answer.content)) return;
          await options.messages.update(answer.id, { content: streamed });
          answer.content = streamed;
        };
        // Saved before the log ends, so that its readers, who finish then and read the answer from the
        // store, find all of it.
        await keepLonger(await textOfStream(options.log, answer.id));
        // A writer that is alive after all (it stalled) has every event refused from now on, so the
        // text read next is all that any client was sent.
        await options.log.end(answer.id);
        await keepLonger(await textOfStream(options.log, answer.id));
      } catch (error) {
        options.onError?.(error);
      }
    }
    if (marked.length > 0) options.onMarked?.(marked);
    return marked;
  };

  return {
    sweep,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        running ??= sweep()
          .catch((error: unknown) => options.onError?.(error))
          .finally(() => {
            running = undefined;
          });
      }, options.intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
