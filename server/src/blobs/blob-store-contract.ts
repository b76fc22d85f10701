import { randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from './blob-store';

export interface BlobStoreUnderTest {
  /** Two stores over the same storage (two replicas), so that what one writes the other must read. */
  stores: [BlobStore, BlobStore];
  /** Above this many bytes the store works in pieces (a blob larger than this exercises them). */
  chunkBytes: number;
  close(): Promise<void>;
}

function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the blob is missing');
  return value;
}

/** The assertions every blob store must pass, run once per implementation. */
export function describeBlobStoreContract(name: string, make: () => Promise<BlobStoreUnderTest>): void {
  describe(`blob store contract: ${name}`, () => {
    let subject: BlobStoreUnderTest;
    let a: BlobStore;
    let b: BlobStore;
    beforeAll(async () => {
      subject = await make();
      [a, b] = subject.stores;
    });
    afterAll(() => subject.close());

    it('returns what was put, from another instance over the same storage, as bytes and as a stream', async () => {
      const bytes = new Uint8Array(randomBytes(1000));
      await a.put('files/small', bytes, { contentType: 'application/pdf' });
      const blob = await b.get('files/small');
      expect(blob?.size).toBe(1000);
      expect(Buffer.from((await blob?.bytes()) ?? [])).toEqual(Buffer.from(bytes));
      expect(await buffer(must(blob).stream())).toEqual(Buffer.from(bytes));
    });

    it('keeps a blob larger than its pieces whole, byte for byte, and streams it in several chunks', async () => {
      const size = subject.chunkBytes * 3 + 17;
      const bytes = new Uint8Array(randomBytes(size));
      await a.put('files/large', bytes);
      const blob = await b.get('files/large');
      expect(blob?.size).toBe(size);
      expect(Buffer.compare(Buffer.from((await blob?.bytes()) ?? []), Buffer.from(bytes))).toBe(0);
      const parts: Buffer[] = [];
      for await (const part of must(blob).stream()) parts.push(part as Buffer);
      expect(Buffer.compare(Buffer.concat(parts), Buffer.from(bytes))).toBe(0);
      expect(parts.length).toBeGreaterThan(1);
    });

    it('replaces a blob put again under the same key', async () => {
      await a.put('datasets/org_a/table.sqlite', new TextEncoder().encode('first version'));
      await b.put('datasets/org_a/table.sqlite', new TextEncoder().encode('second'));
      const blob = await a.get('datasets/org_a/table.sqlite');
      expect(new TextDecoder().decode(await blob?.bytes())).toBe('second');
      expect(blob?.size).toBe(6);
    });

    it('keeps an empty blob', async () => {
      await a.put('files/empty', new Uint8Array());
      const blob = await b.get('files/empty');
      expect(blob?.size).toBe(0);
      expect((await blob?.bytes())?.length).toBe(0);
    });

    it('finds nothing under a key never written, and nothing once deleted (deleting twice is fine)', async () => {
      expect(await a.get('files/never-written')).toBeUndefined();
      await a.put('files/doomed', new Uint8Array([1, 2, 3]));
      await b.delete('files/doomed');
      expect(await a.get('files/doomed')).toBeUndefined();
      await a.delete('files/doomed');
    });

    it('refuses keys that could reach outside the store', async () => {
      for (const key of ['../axon.db', '/etc/passwd', 'files/../../x', 'files//x', '', 'files/.hidden', 'a\\b']) {
        await expect(a.put(key, new Uint8Array([1])), key).rejects.toMatchObject({ code: 'validation_failed' });
        await expect(a.get(key), key).rejects.toMatchObject({ code: 'validation_failed' });
      }
    });
  });
}
