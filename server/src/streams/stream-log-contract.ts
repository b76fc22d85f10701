import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type StreamEntry, StreamGapError, type StreamLog, type StreamLogLimits, type StreamPosition } from './stream-log';

export interface StreamLogPair {
  /** The log as the writing replica holds it. */
  log: StreamLog;
  /** The same log as another replica holds it (the same object where there is only one process). */
  peer: StreamLog;
}

/** Builds a fresh log (its own key space) with these limits. */
export type MakeStreamLog = (limits?: Partial<StreamLogLimits>) => Promise<StreamLogPair>;

async function collect(iterable: AsyncIterable<StreamEntry>): Promise<StreamEntry[]> {
  const entries: StreamEntry[] = [];
  for await (const entry of iterable) entries.push(entry);
  return entries;
}

const waitFor = async (check: () => boolean | Promise<boolean>, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

/** The behaviour every stream log shares, run against each implementation. */
export function describeStreamLogContract(name: string, make: MakeStreamLog): void {
  describe(`stream log contract: ${name}`, () => {
    const opened: StreamLogPair[] = [];
    const open = async (limits?: Partial<StreamLogLimits>) => {
      const pair = await make(limits);
      opened.push(pair);
      return pair;
    };
    afterEach(async () => {
      for (const pair of opened.splice(0)) {
        await pair.log.close();
        if (pair.peer !== pair.log) await pair.peer.close();
      }
    });

    it('numbers events 1, 2, 3 within an epoch and gives them back in order, as appended', async () => {
      const { log, peer } = await open();
      const id = randomUUID();
      const data = ['{"type":"start"}', 'line one\nline two', '{"delta":"größer – 東京 🚀"}'];
      expect(await Promise.all(data.map((d) => log.append(id, 1, d)))).toEqual([1, 2, 3]);
      const entries = await collect(peer.read(id, undefined, { follow: false }));
      expect(entries).toEqual(data.map((d, i) => ({ epoch: 1, seq: i + 1, data: d })));
    });

    it('reads only what follows a position', async () => {
      const { log, peer } = await open();
      const id = randomUUID();
      for (let i = 1; i <= 5; i++) await log.append(id, 1, `e${i}`);
      const entries = await collect(peer.read(id, { epoch: 1, seq: 3 }, { follow: false }));
      expect(entries.map((e) => e.data)).toEqual(['e4', 'e5']);
      // A position the log never issued (ahead of it) reads as its end.
      expect(await collect(peer.read(id, { epoch: 1, seq: 99 }, { follow: false }))).toEqual([]);
    });

    it('makes a follower from a position just past a live log wait for what follows it (an event shown while being appended)', async () => {
      const { log, peer } = await open();
      const id = randomUUID();
      await log.append(id, 1, 'a');
      // A client was shown event 2 while it was being appended, and resumes from it at once.
      const resumed = collect(peer.read(id, { epoch: 1, seq: 2 }));
      await new Promise((resolve) => setTimeout(resolve, 20));
      await log.append(id, 1, 'b');
      await log.append(id, 1, 'c');
      await log.end(id);
      expect((await resumed).map((e) => `${e.seq}:${e.data}`)).toEqual(['3:c']);
      // Once the log is ended, a position past it reads as its end.
      expect(await collect(peer.read(id, { epoch: 1, seq: 9 }))).toEqual([]);
      // A follower past the end of a log that then ends (its event never got in) finishes too.
      const other = randomUUID();
      await log.append(other, 1, 'x');
      const waiting = collect(peer.read(other, { epoch: 1, seq: 5 }));
      await new Promise((resolve) => setTimeout(resolve, 20));
      await log.end(other);
      expect(await waiting).toEqual([]);
    });

    it('tails a live log and ends after its last event once it is ended', async () => {
      const { log, peer } = await open();
      const id = randomUUID();
      await log.append(id, 1, 'first');
      const reading = collect(peer.read(id));
      for (let i = 0; i < 20; i++) {
        await log.append(id, 1, `live ${i}`);
        if (i % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await log.end(id);
      const entries = await reading;
      expect(entries.map((e) => e.data)).toEqual(['first', ...Array.from({ length: 20 }, (_, i) => `live ${i}`)]);
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    });

    it('lets a reader that drops out resume from its last position with no gap and no duplicate', async () => {
      const { log, peer } = await open();
      const id = randomUUID();
      const writing = (async () => {
        for (let i = 0; i < 200; i++) {
          await log.append(id, 1, `w${i}`);
          if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        }
        await log.end(id);
      })();
      await waitFor(async () => (await peer.info(id)) !== undefined);
      const seen: StreamEntry[] = [];
      let position: StreamPosition | undefined;
      // Read a few events at a time, as a client whose connection keeps dropping would.
      for (let round = 0; round < 1000; round++) {
        const before = seen.length;
        for await (const entry of peer.read(id, position)) {
          seen.push(entry);
          position = entry;
          if (seen.length - before >= 7) break;
        }
        if (seen.length === before) break;
      }
      await writing;
      expect(seen.map((e) => e.data)).toEqual(Array.from({ length: 200 }, (_, i) => `w${i}`));
    });

    it('reports where a log stands, whether it ended, and whether someone reads it', async () => {
      const { log, peer } = await open();
      const id = randomUUID();
      expect(await peer.info(id)).toBeUndefined();
      await log.append(id, 1, 'a');
      await log.append(id, 1, 'b');
      expect(await peer.info(id)).toMatchObject({ epoch: 1, seq: 2, ended: false });
      const controller = new AbortController();
      const reading = collect(peer.read(id, undefined, { signal: controller.signal }));
      await waitFor(async () => (await log.info(id))?.watched === true);
      controller.abort();
      expect((await reading).map((e) => e.data)).toEqual(['a', 'b']);
      await waitFor(async () => (await log.info(id))?.watched === false);
      await log.end(id);
      expect(await peer.info(id)).toMatchObject({ epoch: 1, seq: 2, ended: true });
      // Ending twice changes nothing.
      await log.end(id);
      expect(await collect(peer.read(id))).toHaveLength(2);
    });

    it('refuses the events of a writer whose log another replica ended, from the first one on', async () => {
      const { log, peer } = await open();
      const id = randomUUID();
      await log.append(id, 1, 'a');
      await log.append(id, 1, 'b');
      await peer.end(id);
      // Appends already under way when the end came are refused as well as later ones.
      expect(await Promise.all([log.append(id, 1, 'c'), log.append(id, 1, 'd')])).toEqual([null, null]);
      expect(await log.append(id, 1, 'e')).toBeNull();
      expect((await collect(peer.read(id))).map((e) => e.data)).toEqual(['a', 'b']);
      expect(await peer.info(id)).toMatchObject({ epoch: 1, seq: 2, ended: true });
      // The same, for a writer that starts only after the end.
      const other = randomUUID();
      await log.append(other, 1, 'x');
      await log.end(other);
      expect(await peer.append(other, 1, 'y')).toBeNull();
      expect((await collect(log.read(other))).map((e) => e.data)).toEqual(['x']);
    });

    it('stops a waiting reader when its signal aborts', async () => {
      const { log, peer } = await open();
      const id = randomUUID();
      await log.append(id, 1, 'only');
      const controller = new AbortController();
      const started = Date.now();
      const reading = collect(peer.read(id, { epoch: 1, seq: 1 }, { signal: controller.signal }));
      setTimeout(() => controller.abort(), 50);
      expect(await reading).toEqual([]);
      expect(Date.now() - started).toBeLessThan(1500);
    });

    it('starts the log over in a new epoch and refuses the superseded writer', async () => {
      const { log, peer } = await open();
      const id = randomUUID();
      for (let i = 1; i <= 3; i++) await log.append(id, 1, `old ${i}`);
      const tailing = collect(peer.read(id, { epoch: 1, seq: 2 }));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await peer.append(id, 2, 'new 1')).toBe(1);
      expect(await peer.append(id, 2, 'new 2')).toBe(2);
      expect(await log.append(id, 1, 'late old')).toBeNull();
      expect(await peer.info(id)).toMatchObject({ epoch: 2, seq: 2 });
      await peer.end(id);
      // A reader inside epoch 1 goes on at the start of epoch 2; one asking for epoch 1 gets epoch 2 from its start.
      const tailed = await tailing;
      expect(tailed.map((e) => `${e.epoch}:${e.seq}:${e.data}`)).toEqual(['1:3:old 3', '2:1:new 1', '2:2:new 2']);
      const fresh = await collect(peer.read(id, { epoch: 1, seq: 3 }));
      expect(fresh.map((e) => `${e.epoch}:${e.seq}`)).toEqual(['2:1', '2:2']);
      expect((await collect(peer.read(id))).map((e) => e.data)).toEqual(['new 1', 'new 2']);
    });

    it('keeps at most about maxEvents events, and says so to a reader that needs the trimmed ones', async () => {
      const { log, peer } = await open({ maxEvents: 10 });
      const id = randomUUID();
      for (let i = 1; i <= 400; i++) await log.append(id, 1, `e${i}`);
      const tail = await collect(peer.read(id, { epoch: 1, seq: 395 }, { follow: false }));
      expect(tail.map((e) => e.data)).toEqual(['e396', 'e397', 'e398', 'e399', 'e400']);
      await expect(collect(peer.read(id, undefined, { follow: false }))).rejects.toBeInstanceOf(StreamGapError);
    });

    it('forgets an ended log after keepSeconds; a reader of a log that is gone ends at once', async () => {
      const { log, peer } = await open({ keepSeconds: 1 });
      const id = randomUUID();
      await log.append(id, 1, 'x');
      await log.end(id);
      expect(await peer.info(id)).toMatchObject({ ended: true });
      await waitFor(async () => (await peer.info(id)) === undefined, 4000);
      expect(await collect(peer.read(id))).toEqual([]);
      expect(await collect(peer.read(randomUUID()))).toEqual([]);
    });

    it('ends a log whose writer is gone, from another replica: its readers finish', async () => {
      const { log, peer } = await open();
      const id = randomUUID();
      await log.append(id, 1, 'one');
      await log.append(id, 1, 'two');
      const reading = collect(log.read(id));
      await new Promise((resolve) => setTimeout(resolve, 20));
      await peer.end(id);
      expect((await reading).map((e) => e.data)).toEqual(['one', 'two']);
      expect(await log.info(id)).toMatchObject({ seq: 2, ended: true });
    });

    it('delivers a cancel from any replica to the writer, once, also one sent before it listened', async () => {
      const { log, peer } = await open();
      const id = randomUUID();
      const calls: string[] = [];
      const stop = log.onCancel(id, () => calls.push('writer'));
      const other = log.onCancel(randomUUID(), () => calls.push('another answer'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await peer.cancel(id);
      await waitFor(() => calls.length > 0);
      await peer.cancel(id);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(calls).toEqual(['writer']);
      stop();
      other();

      const early = randomUUID();
      await peer.cancel(early);
      let called = 0;
      log.onCancel(early, () => called++);
      await waitFor(() => called === 1);

      const ignored = randomUUID();
      let after = 0;
      const unsubscribe = log.onCancel(ignored, () => after++);
      unsubscribe();
      await peer.cancel(ignored);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(after).toBe(0);
    });
  });
}
