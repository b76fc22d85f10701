import type { Redis } from 'ioredis';
import {
  DEFAULT_STREAM_LOG_LIMITS,
  isNextAfter,
  type ReadOptions,
  type StreamEntry,
  StreamGapError,
  type StreamLog,
  type StreamLogLimits,
  type StreamPosition,
} from './stream-log';

export interface RedisStreamLogOptions extends Partial<StreamLogLimits> {
  /** Commands go through it; blocking reads and the cancel subscription use duplicates of it. It is not closed by `close()`. */
  redis: Redis;
  /** Put before every key and channel, so that deployments (and tests) can share one Redis. */
  prefix?: string;
  /** How long one blocking read waits before it looks again (and refreshes that someone reads). */
  blockMs?: number;
  /** Told of connection errors of the log's own connections. */
  onError?: (error: unknown) => void;
}

/** One entry of an answer's Redis stream: its id `epoch-seq` and fields (`d` the event, or `end`). */
type RawEntry = [id: string, fields: string[]];

const positionOf = (id: string): StreamPosition => {
  const dash = id.indexOf('-');
  return { epoch: Number(id.slice(0, dash)), seq: Number(id.slice(dash + 1)) };
};
const isEnd = (fields: string[]) => fields[0] === 'end';
const isAfter = (a: StreamPosition, b: StreamPosition) => a.epoch > b.epoch || (a.epoch === b.epoch && a.seq > b.seq);

/**
 * Ends a log by adding an `end` entry after its last one, whoever wrote it (its writer may be dead),
 * and keeps it ARGV[1] seconds more. Nothing to do for a log that is gone or already ended.
 */
const END_SCRIPT = `
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last == 0 then return 0 end
if last[1][2][1] == 'end' then return 0 end
local id = last[1][1]
local dash = string.find(id, '-', 1, true)
redis.call('XADD', KEYS[1], string.sub(id, 1, dash - 1) .. '-' .. (tonumber(string.sub(id, dash + 1)) + 1), 'end', '1')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
`;

/**
 * Adds an event (ARGV: max length, epoch, data, the sequence number its writer gives it) after the
 * log's last one: resolves with its sequence number, 0 when refused (a newer epoch owns the log, or
 * this epoch's log was ended), or -1 when the log's next number is not the writer's (an earlier
 * event of the writer was lost): nothing is added then, so that a number the writer may already have
 * shown a client never names another event. An event of a newer epoch than the log's starts the log
 * over. Deciding from the top entry in the same script is what makes a writer whose log was ended
 * elsewhere get every later event refused, also those it had already sent, and what lets a writer
 * send its events without first asking where the log stands.
 */
const APPEND_SCRIPT = `
local epoch = tonumber(ARGV[2])
local seq = 1
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then
  local id = last[1][1]
  local dash = string.find(id, '-', 1, true)
  local top = tonumber(string.sub(id, 1, dash - 1))
  if top > epoch then return 0 end
  if top == epoch then
    if last[1][2][1] == 'end' then return 0 end
    seq = tonumber(string.sub(id, dash + 1)) + 1
  else
    redis.call('XTRIM', KEYS[1], 'MINID', epoch .. '-0')
  end
end
if seq ~= tonumber(ARGV[4]) then return -1 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], epoch .. '-' .. seq, 'd', ARGV[3])
return seq
`;

type AppendingRedis = Redis & {
  axonStreamAppend(key: string, maxEvents: string, epoch: string, data: string, seq: string): Promise<number>;
};

interface Writer {
  epoch: number;
  /** How many events this writer appended in its epoch: the next one is numbered one more. */
  appended: number;
  /** The last append, so that `end` comes after every event. */
  last: Promise<unknown>;
  expireAfter: number;
  /** Set once the log refused an event: every later one is refused too. */
  refused?: boolean;
}

/**
 * The stream log of replicas sharing one Redis: one Redis stream per answer (`XADD` with the id
 * `epoch-seq`, trimmed with `MAXLEN ~`, expiring when idle and after its end), read with
 * `XREAD BLOCK`; Stop is a key (for cancels sent before the writer listens, or while its
 * subscription reconnects) and a message on one pub/sub channel.
 */
export function createRedisStreamLog(options: RedisStreamLogOptions): StreamLog {
  const { redis, prefix = 'axon:', blockMs = 2000, onError } = options;
  const { maxEvents, keepSeconds, idleSeconds } = { ...DEFAULT_STREAM_LOG_LIMITS, ...options };
  const logKey = (messageId: string) => `${prefix}stream:${messageId}`;
  const watchKey = (messageId: string) => `${prefix}stream-watch:${messageId}`;
  const cancelKey = (messageId: string) => `${prefix}stream-cancel:${messageId}`;
  const cancelChannel = `${prefix}stream-cancel`;

  if (!('axonStreamAppend' in redis)) redis.defineCommand('axonStreamAppend', { numberOfKeys: 1, lua: APPEND_SCRIPT });
  const appender = redis as AppendingRedis;
  const writers = new Map<string, Writer>();
  const readerConnections = new Set<Redis>();
  const cancelHandlers = new Map<string, Set<() => void>>();
  let subscriber: Redis | undefined;
  let closed = false;

  const lastEntry = async (messageId: string): Promise<RawEntry | undefined> =>
    (await redis.xrevrange(logKey(messageId), '+', '-', 'COUNT', 1))[0] as RawEntry | undefined;

  const fireCancel = (messageId: string) => {
    for (const handler of [...(cancelHandlers.get(messageId) ?? [])]) handler();
  };
  const subscribe = () => {
    if (subscriber || closed) return;
    subscriber = redis.duplicate();
    subscriber.on('error', (error) => onError?.(error));
    subscriber.on('message', (_channel: string, messageId: string) => fireCancel(messageId));
    // After a reconnection: cancels sent while the subscription was down are still in their keys.
    subscriber.on('ready', () => {
      const ids = [...cancelHandlers.keys()];
      if (ids.length === 0) return;
      redis.mget(...ids.map(cancelKey)).then(
        (values) => {
          for (const [i, value] of values.entries()) if (value !== null) fireCancel(ids[i] as string);
        },
        (error: unknown) => onError?.(error),
      );
    });
    subscriber.subscribe(cancelChannel).catch((error: unknown) => onError?.(error));
  };

  return {
    append(messageId, epoch, data) {
      let writer = writers.get(messageId);
      if (writer && epoch < writer.epoch) return Promise.resolve(null);
      if (!writer || epoch > writer.epoch) {
        writer = { epoch, appended: 0, last: Promise.resolve(), expireAfter: 0 };
        writers.set(messageId, writer);
      }
      const current = writer;
      if (current.refused) return Promise.resolve(null);
      // Sent at once, in call order on one connection: Redis numbers the events in the order they come.
      const key = logKey(messageId);
      const seq = ++current.appended;
      const added = appender.axonStreamAppend(key, String(maxEvents), String(epoch), data, String(seq));
      if (Date.now() >= current.expireAfter) {
        current.expireAfter = Date.now() + Math.min(30_000, (idleSeconds * 1000) / 4);
        redis.expire(key, idleSeconds).catch((error: unknown) => onError?.(error));
      }
      const appended = added.then((given) => {
        if (given > 0) return given;
        if (given < 0) throw new Error(`The stream log of ${messageId} is out of step with its writer at ${epoch}:${seq}`);
        // Another replica moved the log to a newer epoch, or ended it: this writer is superseded.
        current.refused = true;
        return null;
      });
      current.last = appended.catch(() => undefined);
      return appended;
    },

    read(messageId, after, readOptions: ReadOptions = {}) {
      const { signal, follow = true } = readOptions;
      const key = logKey(messageId);
      return {
        async *[Symbol.asyncIterator](): AsyncGenerator<StreamEntry> {
          const last = await lastEntry(messageId);
          if (!last) return;
          let position: StreamPosition | undefined = after && after.seq > 0 ? after : undefined;
          const top = positionOf(last[0]);
          const lastData = { epoch: top.epoch, seq: isEnd(last[1]) ? top.seq - 1 : top.seq };
          // A position ahead of the log reads as its current end; one of the epoch being written, when
          // following, is waited for: its writer may show an event to its client while appending it.
          const ended = isEnd(last[1]);
          if (
            position &&
            (position.epoch > lastData.epoch || (position.epoch === lastData.epoch && position.seq > lastData.seq && (ended || !follow)))
          )
            position = lastData.seq > 0 ? lastData : undefined;
          let cursor = position ? `${position.epoch}-${position.seq}` : '0-0';
          const connection = follow ? redis.duplicate() : undefined;
          const stop = () => connection?.disconnect();
          if (connection) {
            connection.on('error', (error) => onError?.(error));
            readerConnections.add(connection);
            signal?.addEventListener('abort', stop, { once: true });
          }
          let watchedUntil = 0;
          try {
            while (!signal?.aborted && !closed) {
              if (connection && Date.now() >= watchedUntil) {
                watchedUntil = Date.now() + 1000;
                redis.set(watchKey(messageId), '1', 'PX', blockMs * 3).catch((error: unknown) => onError?.(error));
              }
              let entries: RawEntry[];
              try {
                if (connection) {
                  const result = await connection.xread('COUNT', 1000, 'BLOCK', blockMs, 'STREAMS', key, cursor);
                  entries = (result?.[0]?.[1] ?? []) as RawEntry[];
                  // Nothing new for a while: go on waiting unless the log is gone, or ended before the cursor
                  // (a reader that waited for an event its writer never got into the log).
                  if (entries.length === 0) {
                    const top = await lastEntry(messageId);
                    if (!top || (isEnd(top[1]) && !isAfter(positionOf(top[0]), positionOf(cursor)))) return;
                  }
                } else {
                  entries = (await redis.xrange(key, `(${cursor}`, '+', 'COUNT', 1000)) as RawEntry[];
                  if (entries.length === 0) return;
                }
              } catch (error) {
                if (signal?.aborted || closed) return;
                throw error;
              }
              for (const [id, fields] of entries) {
                cursor = id;
                if (isEnd(fields)) return;
                const entry = { ...positionOf(id), data: fields[1] ?? '' };
                if (!isNextAfter(position, entry))
                  throw new StreamGapError(
                    messageId,
                    position && position.epoch === entry.epoch
                      ? { epoch: entry.epoch, seq: position.seq + 1 }
                      : { epoch: entry.epoch, seq: 1 },
                    entry,
                  );
                position = entry;
                yield entry;
                if (signal?.aborted) return;
              }
            }
          } finally {
            signal?.removeEventListener('abort', stop);
            if (connection) {
              readerConnections.delete(connection);
              connection.disconnect();
            }
          }
        },
      };
    },

    async end(messageId) {
      const writer = writers.get(messageId);
      writers.delete(messageId);
      await writer?.last;
      await redis.eval(END_SCRIPT, 1, logKey(messageId), String(keepSeconds));
    },

    async info(messageId) {
      const replies = await redis.multi().xrevrange(logKey(messageId), '+', '-', 'COUNT', 1).exists(watchKey(messageId)).exec();
      const [lastReply, watchReply] = replies ?? [];
      if (lastReply?.[0]) throw lastReply[0];
      const last = (lastReply?.[1] as RawEntry[] | undefined)?.[0];
      if (!last) return undefined;
      const at = positionOf(last[0]);
      const ended = isEnd(last[1]);
      return { epoch: at.epoch, seq: ended ? at.seq - 1 : at.seq, ended, watched: watchReply?.[1] === 1 };
    },

    async cancel(messageId) {
      await redis.multi().set(cancelKey(messageId), '1', 'EX', keepSeconds).publish(cancelChannel, messageId).exec();
    },

    onCancel(messageId, handler) {
      subscribe();
      let called = false;
      const handlers = cancelHandlers.get(messageId) ?? new Set();
      cancelHandlers.set(messageId, handlers);
      const stop = () => {
        handlers.delete(once);
        if (handlers.size === 0 && cancelHandlers.get(messageId) === handlers) cancelHandlers.delete(messageId);
      };
      function once() {
        if (called) return;
        called = true;
        stop();
        handler();
      }
      handlers.add(once);
      // A cancel sent before this call is found in its key.
      redis.exists(cancelKey(messageId)).then(
        (found) => found === 1 && once(),
        (error: unknown) => onError?.(error),
      );
      return stop;
    },

    async close() {
      closed = true;
      for (const connection of readerConnections) connection.disconnect();
      readerConnections.clear();
      cancelHandlers.clear();
      writers.clear();
      subscriber?.disconnect();
      subscriber = undefined;
    },
  };
}
