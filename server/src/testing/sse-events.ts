/** One Server-Sent Event as a client sees it. */
export interface SseEvent {
  id?: string;
  data: string;
}

/** The events of an SSE response body as they arrive (comments and empty frames left out). */
export async function* readSseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        const event: SseEvent = { data: '' };
        const data: string[] = [];
        for (const line of frame.split('\n')) {
          if (line.startsWith('id: ')) event.id = line.slice(4);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length === 0) continue;
        event.data = data.join('\n');
        yield event;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** The text deltas of UI message stream events, joined. */
export function textOfEvents(events: SseEvent[]): string {
  return events
    .filter((e) => e.data.startsWith('{'))
    .map((e) => JSON.parse(e.data) as { type: string; delta?: string })
    .filter((chunk) => chunk.type === 'text-delta')
    .map((chunk) => chunk.delta ?? '')
    .join('');
}

/** Reads events until `enough` says so (then cuts the connection through `abort`), or to the end. */
export async function readUntil(response: Response, enough: (events: SseEvent[]) => boolean, abort?: AbortController): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  try {
    for await (const event of readSseEvents(response.body as ReadableStream<Uint8Array>)) {
      events.push(event);
      if (enough(events)) {
        abort?.abort();
        break;
      }
    }
  } catch (error) {
    if (!abort?.signal.aborted) throw error;
  }
  return events;
}

export const countTextDeltas = (events: SseEvent[]) => events.filter((e) => e.data.includes('"type":"text-delta"')).length;
