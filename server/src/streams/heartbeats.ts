import type { AnswerHeartbeat, MessageRepository } from '../store';

export interface AnswerHeartbeatsOptions {
  messages: Pick<MessageRepository, 'heartbeatMany'>;
  /** How often every live answer is saved (`streams.heartbeatMs`). */
  intervalMs: number;
  /** Most answers written by one statement; a replica with more writes several (default 1,000). */
  batchSize?: number;
  onError?: (error: unknown) => void;
}

export interface AnswerHeartbeats {
  /**
   * Saves the answer's text (`text()`, read at each beat) with every beat, and notes that its
   * writer is alive, until the returned function is called.
   */
  add(messageId: string, text: () => string): () => void;
  /** Saves every live answer now; resolves once written (a beat already under way is waited for first). */
  beat(): Promise<void>;
  /** Stops the beats; resolves after the one under way. */
  stop(): Promise<void>;
}

interface LiveAnswer {
  text: () => string;
  /** The text the last successful beat saved. */
  saved: string | undefined;
}

/**
 * The heartbeats of a replica's streaming answers: every `intervalMs`, one statement saves the
 * text of all of them (what a crash keeps) and tells other replicas that their writer is alive.
 * An answer whose text did not change since its last beat is only noted alive.
 */
export function createAnswerHeartbeats(options: AnswerHeartbeatsOptions): AnswerHeartbeats {
  const batchSize = options.batchSize ?? 1000;
  const live = new Map<string, LiveAnswer>();
  let timer: NodeJS.Timeout | undefined;
  /** The beat under way; a tick that finds one running leaves this beat out. */
  let running: Promise<void> | undefined;

  const writeAll = async () => {
    const answers = [...live];
    for (let start = 0; start < answers.length; start += batchSize) {
      const batch = answers.slice(start, start + batchSize);
      const texts = batch.map(([, answer]) => answer.text());
      const entries: AnswerHeartbeat[] = batch.map(([id, answer], i) => (texts[i] === answer.saved ? { id } : { id, content: texts[i] }));
      await options.messages.heartbeatMany(entries);
      batch.forEach(([, answer], i) => {
        answer.saved = texts[i];
      });
    }
  };
  const beat = () => {
    running ??= writeAll().finally(() => {
      running = undefined;
    });
    return running;
  };
  const tick = () => {
    if (running || live.size === 0) return;
    beat().catch((error: unknown) => options.onError?.(error));
  };

  return {
    add(messageId, text) {
      const answer: LiveAnswer = { text, saved: undefined };
      live.set(messageId, answer);
      if (!timer) {
        timer = setInterval(tick, options.intervalMs);
        timer.unref();
      }
      return () => {
        if (live.get(messageId) === answer) live.delete(messageId);
      };
    },
    async beat() {
      await running?.catch(() => undefined);
      await beat();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}
