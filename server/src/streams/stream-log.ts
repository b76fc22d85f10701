/**
 * The stream log: every event of an answer's stream, in order, so that a client that lost its
 * connection can pick the answer up again on any replica, and so that Stop reaches the replica
 * writing the answer. One log per answer (message id); its writer is the replica generating it.
 *
 * Events are numbered within a generation epoch: an answer generated again under the same id starts
 * a new epoch, whose events replace the earlier epoch's. `epoch:seq` names exactly one event.
 */
export interface StreamLog {
  /**
   * Adds an event (the UI-stream chunk as JSON) to the answer's log in `epoch`; resolves with its
   * sequence number (1, 2, … within the epoch). A higher epoch than the log's starts the log over;
   * a lower one is refused with `null` (its writer was superseded), and so is an event of an ended
   * log's epoch (another replica ended it, taking the answer as interrupted).
   */
  append(messageId: string, epoch: number, data: string): Promise<number | null>;
  /**
   * The events after `after` (from the start when absent, or when `after` is of an earlier epoch),
   * then each new one as it is appended; the iteration ends after the last event once the log is
   * ended, when the log is gone, when `signal` aborts, or (with `follow: false`) at the current end.
   * A position past the log's last event reads as its end, except when following a log still being
   * written in that epoch: then what comes after the position is waited for (a writer may show an
   * event to its client while the event is being appended, and a client may resume from it at once).
   * Throws `StreamGapError` when events it should yield were trimmed away.
   */
  read(messageId: string, after?: StreamPosition, options?: ReadOptions): AsyncIterable<StreamEntry>;
  /** Ends the answer's log: readers finish after its last event; it is kept `keepSeconds` longer for late readers. */
  end(messageId: string): Promise<void>;
  /**
   * Where the answer's log stands (epoch, last sequence number, ended, whether someone reads it
   * now); undefined when there is none: never written, or expired.
   */
  info(messageId: string): Promise<StreamInfo | undefined>;
  /** Asks the writer of the answer, on whichever replica it runs, to stop. */
  cancel(messageId: string): Promise<void>;
  /**
   * Calls `handler` once when the answer is cancelled, also when that happened shortly before this
   * call; returns a function that stops listening.
   */
  onCancel(messageId: string, handler: () => void): () => void;
  /** Stops timers and closes the connections the log opened. */
  close(): Promise<void>;
}

export interface StreamPosition {
  epoch: number;
  seq: number;
}

export interface StreamEntry extends StreamPosition {
  /** The event as appended. */
  data: string;
}

export interface StreamInfo extends StreamPosition {
  ended: boolean;
  /** Whether a reader is attached (or was within the last few seconds). */
  watched: boolean;
}

export interface ReadOptions {
  signal?: AbortSignal | undefined;
  /** Wait for new events until the log ends (default), or stop at the current end. */
  follow?: boolean;
}

/** Sizes shared by the implementations. */
export interface StreamLogLimits {
  /** Most events kept per answer; older ones are trimmed (a reader that needs them gets a `StreamGapError`). */
  maxEvents: number;
  /** How long an ended log is kept for late readers, in seconds. */
  keepSeconds: number;
  /** How long a log nobody writes to any more is kept, in seconds (a writer that died never ends it). */
  idleSeconds: number;
}

export const DEFAULT_STREAM_LOG_LIMITS: StreamLogLimits = { maxEvents: 20_000, keepSeconds: 300, idleSeconds: 3600 };

/** Events a reader needed were trimmed from the log (`maxEvents`) or the log started over without them. */
export class StreamGapError extends Error {
  constructor(
    readonly messageId: string,
    readonly expected: StreamPosition,
    readonly found: StreamPosition,
  ) {
    super(`The stream of ${messageId} no longer holds ${expected.epoch}:${expected.seq} (its oldest is ${found.epoch}:${found.seq})`);
    this.name = 'StreamGapError';
  }
}

/** The SSE event id of an answer's event: `messageId:epoch:seq`, what `Last-Event-ID` brings back. */
export function formatEventId(messageId: string, position: StreamPosition): string {
  return `${messageId}:${position.epoch}:${position.seq}`;
}

/** The answer and position a `Last-Event-ID` names; undefined when it is not one of ours. */
export function parseEventId(id: string | undefined): ({ messageId: string } & StreamPosition) | undefined {
  const match = id?.trim().match(/^([\w-]{1,100}):(\d{1,9}):(\d{1,9})$/);
  if (!match) return undefined;
  return { messageId: match[1] as string, epoch: Number(match[2]), seq: Number(match[3]) };
}

/** The next position a reader expects after `position`. */
export function isNextAfter(position: StreamPosition | undefined, entry: StreamPosition): boolean {
  if (!position || entry.epoch > position.epoch) return entry.seq === 1;
  return entry.epoch === position.epoch && entry.seq === position.seq + 1;
}
