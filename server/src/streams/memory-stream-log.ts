import {
  DEFAULT_STREAM_LOG_LIMITS,
  type ReadOptions,
  type StreamEntry,
  StreamGapError,
  type StreamLog,
  type StreamLogLimits,
  type StreamPosition,
} from './stream-log';

interface AnswerLog {
  epoch: number;
  /** Sequence number of `entries[0]`. */
  firstSeq: number;
  entries: string[];
  ended: boolean;
  readers: number;
  /** Woken on every append, end or removal. */
  waiters: Set<() => void>;
  expiry: NodeJS.Timeout;
}

/** The stream log of one process (the embedded deployment): answers' events in memory, cancels as calls. */
export function createMemoryStreamLog(limits: Partial<StreamLogLimits> = {}): StreamLog {
  const { maxEvents, keepSeconds, idleSeconds } = { ...DEFAULT_STREAM_LOG_LIMITS, ...limits };
  const logs = new Map<string, AnswerLog>();
  const cancelled = new Map<string, NodeJS.Timeout>();
  const cancelHandlers = new Map<string, Set<() => void>>();

  const wake = (log: AnswerLog) => {
    const waiters = [...log.waiters];
    log.waiters.clear();
    for (const waiter of waiters) waiter();
  };
  const remove = (messageId: string) => {
    const log = logs.get(messageId);
    if (!log) return;
    clearTimeout(log.expiry);
    logs.delete(messageId);
    wake(log);
  };
  const expireIn = (messageId: string, log: AnswerLog, seconds: number) => {
    clearTimeout(log.expiry);
    log.expiry = setTimeout(() => remove(messageId), seconds * 1000).unref();
  };
  const lastSeq = (log: AnswerLog) => log.firstSeq + log.entries.length - 1;

  return {
    async append(messageId, epoch, data) {
      let log = logs.get(messageId);
      if (log && (epoch < log.epoch || (epoch === log.epoch && log.ended))) return null;
      if (!log || epoch > log.epoch) {
        if (log) clearTimeout(log.expiry);
        const fresh: AnswerLog = {
          epoch,
          firstSeq: 1,
          entries: [],
          ended: false,
          readers: 0,
          // Readers waiting on the earlier epoch go on with this one.
          waiters: log?.waiters ?? new Set(),
          expiry: setTimeout(() => remove(messageId), idleSeconds * 1000).unref(),
        };
        logs.set(messageId, fresh);
        log = fresh;
      } else {
        log.expiry.refresh();
      }
      log.entries.push(data);
      if (log.entries.length > maxEvents) {
        const drop = log.entries.length - maxEvents;
        log.entries.splice(0, drop);
        log.firstSeq += drop;
      }
      const seq = lastSeq(log);
      wake(log);
      return seq;
    },

    read(messageId, after, options: ReadOptions = {}) {
      const { signal, follow = true } = options;
      return {
        async *[Symbol.asyncIterator](): AsyncGenerator<StreamEntry> {
          let position: StreamPosition | undefined = after && after.seq > 0 ? after : undefined;
          let attached: AnswerLog | undefined;
          try {
            while (!signal?.aborted) {
              const log = logs.get(messageId);
              if (!log) return;
              if (attached !== log) {
                if (attached) attached.readers--;
                attached = log;
                log.readers++;
              }
              // A position ahead of the log reads as its current end; when following a log still being
              // written, it is waited for (its writer may show an event to its client while appending it).
              if (position && position.epoch === log.epoch && position.seq > lastSeq(log) && (log.ended || !follow))
                position = { epoch: log.epoch, seq: lastSeq(log) };
              for (;;) {
                const seq = position && position.epoch === log.epoch ? position.seq + 1 : 1;
                if (seq > lastSeq(log)) break;
                if (seq < log.firstSeq)
                  throw new StreamGapError(messageId, { epoch: log.epoch, seq }, { epoch: log.epoch, seq: log.firstSeq });
                const entry = { epoch: log.epoch, seq, data: log.entries[seq - log.firstSeq] as string };
                position = entry;
                yield entry;
                if (signal?.aborted || logs.get(messageId) !== log) break;
              }
              if (logs.get(messageId) !== log) continue;
              if (log.ended || !follow || signal?.aborted) return;
              await new Promise<void>((resolve) => {
                const onAbort = () => resolve();
                log.waiters.add(() => {
                  signal?.removeEventListener('abort', onAbort);
                  resolve();
                });
                signal?.addEventListener('abort', onAbort, { once: true });
              });
            }
          } finally {
            if (attached) attached.readers--;
          }
        },
      };
    },

    async end(messageId) {
      const log = logs.get(messageId);
      if (!log || log.ended) return;
      log.ended = true;
      expireIn(messageId, log, keepSeconds);
      wake(log);
    },

    async info(messageId) {
      const log = logs.get(messageId);
      if (!log) return undefined;
      return { epoch: log.epoch, seq: lastSeq(log), ended: log.ended, watched: log.readers > 0 };
    },

    async cancel(messageId) {
      clearTimeout(cancelled.get(messageId));
      cancelled.set(messageId, setTimeout(() => cancelled.delete(messageId), keepSeconds * 1000).unref());
      for (const handler of [...(cancelHandlers.get(messageId) ?? [])]) handler();
    },

    onCancel(messageId, handler) {
      let called = false;
      const once = () => {
        if (called) return;
        called = true;
        stop();
        handler();
      };
      const handlers = cancelHandlers.get(messageId) ?? new Set();
      cancelHandlers.set(messageId, handlers);
      handlers.add(once);
      const stop = () => {
        handlers.delete(once);
        if (handlers.size === 0) cancelHandlers.delete(messageId);
      };
      if (cancelled.has(messageId)) queueMicrotask(once);
      return stop;
    },

    async close() {
      for (const messageId of [...logs.keys()]) remove(messageId);
      for (const timer of cancelled.values()) clearTimeout(timer);
      cancelled.clear();
      cancelHandlers.clear();
    },
  };
}
