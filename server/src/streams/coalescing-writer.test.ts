import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type CoalescableChunk, createCoalescingWriter } from './coalescing-writer';
import { createMemoryStreamLog } from './memory-stream-log';
import type { StreamEntry } from './stream-log';

/** A log whose appends settle when the test says so; it records what was appended and delivered. */
function manualLog() {
  const appended: string[] = [];
  const delivered: Array<[data: string, seq: number]> = [];
  const waiting: Array<() => void> = [];
  const writer = createCoalescingWriter<CoalescableChunk, number>({
    append: (data) => {
      appended.push(data);
      const seq = appended.length;
      return new Promise((resolve) => waiting.push(() => resolve(seq)));
    },
    deliver: (data, seq) => {
      delivered.push([data, seq]);
    },
  });
  /** Settles every append in flight, then lets their callbacks run. */
  const settleAll = async () => {
    for (const settle of waiting.splice(0)) settle();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { writer, appended, delivered, settleAll };
}

const delta = (text: string, id = 'text-0') => ({ type: 'text-delta', id, delta: text });
const parsed = (data: string[]) => data.map((d) => JSON.parse(d) as CoalescableChunk);
const textOf = (data: string[]) =>
  parsed(data)
    .filter((c) => c.type === 'text-delta')
    .map((c) => c.delta)
    .join('');

describe('coalescing writer', () => {
  it('writes each delta as its own entry, at once, while the log keeps up', async () => {
    const { writer, appended, delivered, settleAll } = manualLog();
    for (const word of ['The ', 'curve ', 'inverted ']) {
      writer.push(delta(word));
      // Written in the call itself: no added wait.
      expect(textOf(appended).endsWith(word)).toBe(true);
      await settleAll();
    }
    expect(parsed(appended)).toEqual([delta('The '), delta('curve '), delta('inverted ')]);
    expect(delivered.map(([, seq]) => seq)).toEqual([1, 2, 3]);
  });

  it('merges the deltas that follow one in flight into one entry, written once the log caught up; the first is not held', async () => {
    const { writer, appended, delivered, settleAll } = manualLog();
    writer.push({ type: 'text-start', id: 'text-0' });
    for (const word of ['a ', 'b ', 'c ', 'd ']) writer.push(delta(word));
    expect(parsed(appended)).toEqual([{ type: 'text-start', id: 'text-0' }, delta('a ')]);
    await settleAll();
    expect(parsed(appended)).toEqual([{ type: 'text-start', id: 'text-0' }, delta('a '), delta('b c d ')]);
    await settleAll();
    expect(delivered.map(([data, seq]) => [JSON.parse(data), seq])).toEqual([
      [{ type: 'text-start', id: 'text-0' }, 1],
      [delta('a '), 2],
      [delta('b c d '), 3],
    ]);
  });

  it('keeps merged deltas within their bounds, and never merges across ids, other chunks or provider metadata', async () => {
    const appended: string[] = [];
    const waiting: Array<() => void> = [];
    const writer = createCoalescingWriter<CoalescableChunk & { providerMetadata?: unknown }, number>({
      append: (data) => {
        appended.push(data);
        return new Promise((resolve) => waiting.push(() => resolve(appended.length)));
      },
      deliver: () => undefined,
      maxDeltas: 3,
      maxDeltaChars: 10,
    });
    writer.push({ type: 'start' });
    for (let i = 0; i < 7; i++) writer.push(delta(`${i}`));
    writer.push(delta('xxxxxxxx'));
    writer.push(delta('yyy'));
    writer.push(delta('r', 'reasoning-0'));
    writer.push(delta('s', 'reasoning-0'));
    writer.push({ ...delta('m'), providerMetadata: { sim: { logprob: -1 } } });
    writer.push(delta('n'));
    writer.push({ type: 'text-end', id: 'text-0' });
    writer.push(delta('o'));
    const flushed = writer.flush();
    for (let i = 0; i < 10; i++) {
      for (const settle of waiting.splice(0)) settle();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await flushed;
    expect(parsed(appended)).toEqual([
      { type: 'start' },
      delta('0'),
      // Full by count, then by characters.
      delta('123'),
      delta('456'),
      delta('xxxxxxxx'),
      delta('yyy'),
      delta('rs', 'reasoning-0'),
      { ...delta('m'), providerMetadata: { sim: { logprob: -1 } } },
      delta('n'),
      { type: 'text-end', id: 'text-0' },
      delta('o'),
    ]);
  });

  it('flush writes what is held and waits until everything pushed, also meanwhile, is delivered', async () => {
    const { writer, appended, delivered, settleAll } = manualLog();
    writer.push({ type: 'start' });
    writer.push(delta('first '));
    writer.push(delta('held '));
    expect(textOf(appended)).toBe('first ');
    let done = false;
    const flushed = writer.flush().then(() => {
      done = true;
    });
    expect(textOf(appended)).toBe('first held ');
    writer.push(delta('later '));
    await settleAll();
    expect(done).toBe(false);
    await settleAll();
    await flushed;
    expect(textOf(delivered.map(([data]) => data))).toBe('first held later ');
    expect(delivered.map(([, seq]) => seq)).toEqual([1, 2, 3, 4]);
  });

  it('stops delivering at a delivery that throws, and flush rejects with its error', async () => {
    const delivered: string[] = [];
    const writer = createCoalescingWriter<CoalescableChunk, null>({
      append: async () => null,
      deliver: (data) => {
        if (data.includes('refused')) throw new Error('refused');
        delivered.push(data);
      },
    });
    writer.push(delta('fine '));
    await writer.flush();
    writer.push(delta('refused'));
    writer.push({ type: 'text-end', id: 'text-0' });
    await expect(writer.flush()).rejects.toThrow('refused');
    expect(textOf(delivered)).toBe('fine ');
    expect(delivered).toHaveLength(1);
  });

  it('on the memory stream log: a burst of 256 tokens becomes a few entries holding exactly the text, numbered as delivered', async () => {
    const log = createMemoryStreamLog();
    const id = randomUUID();
    const sent: Array<[data: string, seq: number | null]> = [];
    const writer = createCoalescingWriter<CoalescableChunk, number | null>({
      append: (data) => log.append(id, 1, data),
      deliver: (data, seq) => {
        sent.push([data, seq]);
      },
    });
    const tokens = Array.from({ length: 256 }, (_, i) => `tok${i} `);
    writer.push({ type: 'start' });
    writer.push({ type: 'text-start', id: 'text-0' });
    for (const token of tokens) writer.push(delta(token));
    writer.push({ type: 'text-end', id: 'text-0' });
    await writer.flush();
    const entries: StreamEntry[] = [];
    for await (const entry of log.read(id, undefined, { follow: false })) entries.push(entry);
    expect(entries.map((e) => [e.data, e.seq])).toEqual(sent);
    expect(textOf(entries.map((e) => e.data))).toBe(tokens.join(''));
    // Pushed in one go behind appends in flight: the first token at once, then merged deltas of at most 64 tokens.
    const deltas = parsed(entries.map((e) => e.data)).filter((c) => c.type === 'text-delta');
    expect(deltas.map((c) => (c.delta ?? '').split(' ').length - 1)).toEqual([1, 64, 64, 64, 63]);
    await log.close();
  });
});
