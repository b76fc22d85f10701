/** A UI message stream chunk, as far as coalescing looks at it. */
export interface CoalescableChunk {
  type: string;
  id?: string;
  delta?: string;
}

export interface CoalescingWriterOptions<R> {
  /** Writes one entry (the chunk as JSON) to the log. Entries are written in the order they were pushed. */
  append(data: string): Promise<R>;
  /**
   * Called once per entry, in order, once its append settled, with what the append resolved to
   * (e.g. to send the entry to the client under the id the log gave it). A throw ends delivery:
   * later entries are not delivered and `flush` rejects.
   */
  deliver(data: string, appended: R): void;
  /** Most characters of text one merged delta holds (default 4,096). */
  maxDeltaChars?: number;
  /** Most text deltas merged into one entry (default 64). */
  maxDeltas?: number;
}

export interface CoalescingWriter<C extends CoalescableChunk> {
  /**
   * Adds a chunk. It is written at once when no append is in flight, and so is the first text delta
   * after another kind of chunk (the first token is not kept waiting); a text delta that follows
   * one of its id while an append is in flight joins the deltas held since, written as one entry
   * when the log has caught up (or the merged delta is full, or another kind of chunk follows).
   */
  push(chunk: C): void;
  /** Writes what is held and resolves once every chunk pushed so far was appended and delivered. */
  flush(): Promise<void>;
}

const DEFAULT_MAX_DELTA_CHARS = 4096;
const DEFAULT_MAX_DELTAS = 64;

/** A text delta with nothing else (no provider metadata), which merging cannot lose anything of. */
const isPlainTextDelta = (chunk: CoalescableChunk): chunk is CoalescableChunk & { delta: string } =>
  chunk.type === 'text-delta' &&
  typeof chunk.delta === 'string' &&
  Object.keys(chunk).every((key) => key === 'type' || key === 'id' || key === 'delta');

/**
 * Writes an answer's chunks to its stream log, merging the text deltas a fast model produces while
 * the log is busy: one entry (one log write, one event to the client) for many tokens when the log
 * falls behind, and each token as its own entry, with no wait, when it keeps up. The text and the
 * order of everything are as pushed; only how the text is cut into deltas changes.
 */
export function createCoalescingWriter<C extends CoalescableChunk, R>(options: CoalescingWriterOptions<R>): CoalescingWriter<C> {
  const maxDeltaChars = options.maxDeltaChars ?? DEFAULT_MAX_DELTA_CHARS;
  const maxDeltas = options.maxDeltas ?? DEFAULT_MAX_DELTAS;
  /** Appends issued whose promise has not settled yet. */
  let inFlight = 0;
  /** The text deltas merged while an append is in flight (so never set while none is). */
  let held: { chunk: CoalescableChunk & { delta: string }; deltas: number } | undefined;
  /** The text delta written last, when the last chunk written was one. */
  let lastDelta: { id: string | undefined } | undefined;
  let delivered: Promise<void> = Promise.resolve();

  const settled = () => {
    inFlight--;
    if (inFlight === 0) writeHeld();
  };
  const write = (chunk: CoalescableChunk) => {
    lastDelta = isPlainTextDelta(chunk) ? { id: chunk.id } : undefined;
    const data = JSON.stringify(chunk);
    inFlight++;
    const appended = options.append(data);
    // Registered before the delivery below, so that what was held is written before `flush` can see the end.
    appended.then(settled, settled);
    delivered = delivered.then(async () => options.deliver(data, await appended));
  };
  function writeHeld() {
    if (!held) return;
    const { chunk } = held;
    held = undefined;
    write(chunk);
  }

  return {
    push(chunk) {
      if (!isPlainTextDelta(chunk)) {
        writeHeld();
        write(chunk);
        return;
      }
      if (held && held.chunk.id === chunk.id && held.deltas < maxDeltas && held.chunk.delta.length + chunk.delta.length <= maxDeltaChars) {
        held.chunk.delta += chunk.delta;
        held.deltas++;
        return;
      }
      const followsItsDelta = held !== undefined || (lastDelta !== undefined && lastDelta.id === chunk.id);
      if (inFlight === 0 || !followsItsDelta) {
        write(chunk);
        return;
      }
      writeHeld();
      held = { chunk: { ...chunk }, deltas: 1 };
    },

    async flush() {
      writeHeld();
      // Appends that settle meanwhile may write what was pushed since: wait until nothing more comes.
      let seen: Promise<void> | undefined;
      while (seen !== delivered) {
        seen = delivered;
        await seen;
      }
    },
  };
}
