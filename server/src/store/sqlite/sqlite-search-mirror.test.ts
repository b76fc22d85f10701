import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HOME_ORG_ID, openSqliteStore } from '..';

const dir = mkdtempSync(join(tmpdir(), 'axon-mirror-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const chunk = (ordinal: number, text: string) => ({ ordinal, text, startOffset: 0, endOffset: text.length, tokenCount: 10 });

async function seed(path: string) {
  const store = openSqliteStore({ path });
  const owner = await store.users.create({ email: 'owner@example.com', passwordHash: null, role: 'admin', orgId: HOME_ORG_ID });
  const other = await store.users.create({ email: 'other@example.com', passwordHash: null, role: 'member', orgId: HOME_ORG_ID });
  const collection = await store.collections.create({ ownerId: owner.id, name: 'notes' });
  const { document } = await store.documents.create({
    collectionId: collection.id,
    name: 'notes.txt',
    mime: 'text/plain',
    size: 1,
    sha256: 'x',
    createdBy: owner.id,
  });
  return { store, owner, other, collection, document };
}

describe('in-memory search mirroring the SQLite tables', () => {
  it('sees what another connection (another process) writes, vectors included, and forgets deletions', async () => {
    const path = join(dir, 'shared.db');
    const writer = await seed(path);
    const reader = openSqliteStore({ path });
    const scope = { userId: writer.owner.id, collectionIds: [writer.collection.id], k: 5 };
    await reader.searchIndex.warm();
    expect(await reader.searchIndex.searchText('inflation', scope)).toEqual([]);

    await writer.store.searchIndex.replaceChunks(writer.document, [chunk(0, 'Inflation remained elevated.'), chunk(1, 'Oil prices fell.')]);
    await writer.store.searchIndex.upsertVectors(writer.document.id, [
      [1, 0, 0],
      [0, 1, 0],
    ]);
    const text = await reader.searchIndex.searchText('inflation', scope);
    expect(text.map((h) => h.text)).toEqual(['Inflation remained elevated.']);
    const vector = await reader.searchIndex.searchVector([0.1, 0.9, 0], scope);
    expect(vector.map((h) => h.text)).toEqual(['Oil prices fell.', 'Inflation remained elevated.']);
    expect(vector[0]?.score).toBeCloseTo(0.9 / Math.hypot(0.1, 0.9), 5);

    // Someone else cannot read the collection: nothing is ranked for them.
    expect(await reader.searchIndex.searchText('inflation', { ...scope, userId: writer.other.id })).toEqual([]);
    expect(await reader.searchIndex.searchVector([0, 1, 0], { ...scope, userId: writer.other.id })).toEqual([]);

    await writer.store.searchIndex.deleteDocument(writer.document.id);
    expect(await reader.searchIndex.searchText('inflation', scope)).toEqual([]);
    expect(await reader.searchIndex.searchVector([0, 1, 0], scope)).toEqual([]);
    await Promise.all([writer.store.close(), reader.close()]);
  });

  it('rebuilds from the tables when the change log it needs was pruned', async () => {
    const path = join(dir, 'pruned.db');
    const writer = await seed(path);
    const reader = openSqliteStore({ path });
    const scope = { userId: writer.owner.id, collectionIds: [writer.collection.id], k: 5 };
    await reader.searchIndex.warm();
    await writer.store.searchIndex.replaceChunks(writer.document, [chunk(0, 'Payrolls grew strongly.')]);
    await writer.store.searchIndex.replaceChunks(writer.document, [chunk(0, 'Unemployment fell to a record low.')]);
    writer.store.db.prepare('DELETE FROM index_changes WHERE seq < (SELECT max(seq) FROM index_changes)').run();
    expect((await reader.searchIndex.searchText('unemployment', scope)).map((h) => h.text)).toEqual(['Unemployment fell to a record low.']);
    expect(await reader.searchIndex.searchText('payrolls', scope)).toEqual([]);
    await Promise.all([writer.store.close(), reader.close()]);
  });

  it('ranks like the in-database search (FTS5 and sqlite-vec) it stands in for', async () => {
    const path = join(dir, 'parity.db');
    const { store, owner, collection, document } = await seed(path);
    const texts = [
      'The Committee raised the target range for the federal funds rate.',
      'Inflation remained elevated, reflecting supply and demand imbalances.',
      'Payrolls grew strongly and the unemployment rate declined.',
      'Crude oil prices rose sharply after the supply cut.',
      'Members agreed that the balance sheet runoff would continue.',
    ];
    await store.searchIndex.replaceChunks(
      document,
      texts.map((t, i) => chunk(i, t)),
    );
    await store.searchIndex.upsertVectors(
      document.id,
      texts.map((_, i) => [Math.cos(i), Math.sin(i), 0.5]),
    );
    const inDatabase = openSqliteStore({ path, memoryIndex: false });
    const scope = { userId: owner.id, collectionIds: [collection.id], k: 3 };
    for (const query of ['unemployment rate', 'oil supply', 'federal funds rate committee']) {
      const memory = await store.searchIndex.searchText(query, scope);
      const sql = await inDatabase.searchIndex.searchText(query, scope);
      expect(memory[0]?.chunkId).toBe(sql[0]?.chunkId);
    }
    const query = [Math.cos(2.2), Math.sin(2.2), 0.5];
    expect((await store.searchIndex.searchVector(query, scope)).map((h) => h.chunkId)).toEqual(
      (await inDatabase.searchIndex.searchVector(query, scope)).map((h) => h.chunkId),
    );
    await Promise.all([store.close(), inDatabase.close()]);
  });
});
