import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChunkInput, CollectionRepository, DocumentRepository, IngestJobRepository, SearchIndex } from './rag-store';

/** A store of collections, documents, jobs and search, opened for the contract suite. */
export interface RagStoreUnderTest {
  collections: CollectionRepository;
  documents: DocumentRepository;
  searchIndex: SearchIndex;
  ingestJobs: IngestJobRepository;
  /** Whether it stores and searches vectors. */
  vectors: boolean;
  /** Adds an account in the organisation named `org` (made on first use); returns its id. */
  addUser(org?: string): Promise<string>;
  /** Moves the store's clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

const chunk = (ordinal: number, text: string, extra: Partial<ChunkInput> = {}): ChunkInput => ({
  ordinal,
  text,
  startOffset: ordinal * 100,
  endOffset: ordinal * 100 + text.length,
  tokenCount: text.split(/\s+/).length,
  ...extra,
});

/** A unit vector along `axis` (of 8), leaning a little towards `lean`. */
const axisVector = (axis: number, lean = -1, by = 0.1): number[] => {
  const v = Array.from({ length: 8 }, (_, i) => (i === axis ? 1 : i === lean ? by : 0));
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
};

/**
 * The behaviour every implementation of the collection, document, ingest-job and search-index seams
 * shares: the access rule, documents and their dates and metadata, BM25 and vector search with the
 * permission rule and the filters in the query, fusion, and the job queue.
 */
export function describeRagStoreContract(
  engine: string,
  open: () => Promise<RagStoreUnderTest>,
  /** `vectors: false` for a store without vector search (its own tests say what it does instead). */
  { vectors = true }: { vectors?: boolean } = {},
): void {
  describe(`rag store contract: ${engine}`, () => {
    let s: RagStoreUnderTest;
    beforeAll(async () => {
      s = await open();
    }, 60_000);
    afterAll(async () => {
      await s?.close();
    });

    /** A collection of `owner` holding documents of the given chunks; the ids of both. */
    const collectionWith = async (
      owner: string,
      documents: Record<string, string[]>,
      options: { visibility?: 'private' | 'organisation' } = {},
    ) => {
      const collection = await s.collections.create({ ownerId: owner, name: `c-${randomUUID()}`, ...options });
      const ids: Record<string, string> = {};
      for (const [name, texts] of Object.entries(documents)) {
        const { document } = await s.documents.create({
          collectionId: collection.id,
          name,
          mime: 'text/plain',
          size: 10,
          sha256: randomUUID(),
          createdBy: owner,
        });
        await s.searchIndex.replaceChunks(
          { id: document.id, collectionId: collection.id },
          texts.map((t, i) => chunk(i, t)),
        );
        ids[name] = document.id;
      }
      return { collectionId: collection.id, documentIds: ids };
    };

    describe('collections and access', () => {
      it('creates collections, refusing a second of the same name for the same owner', async () => {
        const owner = await s.addUser();
        const created = await s.collections.create({ ownerId: owner, name: 'Research', description: 'papers' });
        expect(created).toMatchObject({
          name: 'Research',
          description: 'papers',
          ownerId: owner,
          visibility: 'private',
          organisationRole: 'viewer',
        });
        expect(created.topK).toBe(6);
        expect(created.mmr).toBe(false);
        expect(created.rerank).toBe(false);
        await expect(s.collections.create({ ownerId: owner, name: 'Research' })).rejects.toMatchObject({ code: 'conflict' });
        const other = await s.addUser();
        await expect(s.collections.create({ ownerId: other, name: 'Research' })).resolves.toMatchObject({ ownerId: other });
        expect(await s.collections.findByName(owner, 'Research')).toMatchObject({ id: created.id });
        expect(await s.collections.findByName(owner, 'Nothing')).toBeUndefined();
      });

      it('gives each user the access the rule says, and nothing across organisations', async () => {
        const owner = await s.addUser('acme');
        const editor = await s.addUser('acme');
        const viewer = await s.addUser('acme');
        const colleague = await s.addUser('acme');
        const outsider = await s.addUser('globex');
        const shared = await s.collections.create({ ownerId: owner, name: 'shared', visibility: 'organisation' });
        const privateOne = await s.collections.create({ ownerId: owner, name: 'private' });
        await s.collections.setMembers(privateOne.id, [
          { userId: editor, role: 'editor' },
          { userId: viewer, role: 'viewer' },
        ]);
        expect((await s.collections.getForUser(privateOne.id, owner))?.access).toBe('owner');
        expect((await s.collections.getForUser(privateOne.id, editor))?.access).toBe('editor');
        expect((await s.collections.getForUser(privateOne.id, viewer))?.access).toBe('viewer');
        expect(await s.collections.getForUser(privateOne.id, colleague)).toBeUndefined();
        expect((await s.collections.getForUser(shared.id, colleague))?.access).toBe('viewer');
        expect(await s.collections.getForUser(shared.id, outsider)).toBeUndefined();
        await s.collections.update(shared.id, { organisationRole: 'editor' });
        expect((await s.collections.getForUser(shared.id, colleague))?.access).toBe('editor');
        expect(await s.collections.getForUser(shared.id, outsider)).toBeUndefined();

        expect((await s.collections.listForUser(colleague)).map((c) => c.name)).toEqual(['shared']);
        expect((await s.collections.listForUser(outsider)).map((c) => c.name)).toEqual([]);
        expect((await s.collections.listForUser(owner)).map((c) => c.name)).toEqual(['private', 'shared']);
        expect(await s.collections.readableIds(colleague, [privateOne.id, shared.id, 'missing'])).toEqual([shared.id]);
        expect((await s.collections.readableIds(viewer, [shared.id, privateOne.id])).sort()).toEqual([privateOne.id, shared.id].sort());
        expect(await s.collections.readableIds(outsider, [privateOne.id, shared.id])).toEqual([]);
        expect(await s.collections.readableIds(owner, [])).toEqual([]);

        const members = await s.collections.listMembers(privateOne.id);
        expect(members.map((m) => [m.userId, m.role]).sort()).toEqual(
          [
            [editor, 'editor'],
            [viewer, 'viewer'],
          ].sort(),
        );
        await s.collections.setMembers(privateOne.id, [{ userId: viewer, role: 'editor' }]);
        expect((await s.collections.getForUser(privateOne.id, viewer))?.access).toBe('editor');
        expect(await s.collections.getForUser(privateOne.id, editor)).toBeUndefined();
      });

      it('updates settings, counts documents and deletes with everything in it', async () => {
        const owner = await s.addUser();
        const { collectionId } = await collectionWith(owner, { a: ['alpha beta'], b: ['gamma delta'] });
        await s.collections.update(collectionId, { topK: 9, minScore: 0.25, mmr: true, rerank: true, description: 'changed' });
        const read = await s.collections.getForUser(collectionId, owner);
        expect(read).toMatchObject({ topK: 9, minScore: 0.25, mmr: true, rerank: true, description: 'changed', documentCount: 2 });
        const taken = await s.collections.create({ ownerId: owner, name: `taken-${randomUUID()}` });
        await expect(s.collections.update(collectionId, { name: taken.name })).rejects.toMatchObject({ code: 'conflict' });
        await s.collections.delete(collectionId);
        expect(await s.collections.getForUser(collectionId, owner)).toBeUndefined();
        expect(await s.documents.listByCollection(collectionId)).toEqual([]);
        expect(await s.searchIndex.searchText('alpha', { userId: owner, collectionIds: [collectionId], k: 5 })).toEqual([]);
      });

      it('records the embedding model per collection and lists those made with another', async () => {
        const owner = await s.addUser();
        const { collectionId } = await collectionWith(owner, { a: ['text'] });
        const empty = await s.collections.create({ ownerId: owner, name: `empty-${randomUUID()}` });
        expect(await s.collections.getEmbedding(collectionId)).toEqual({ model: null, dimensions: null });
        expect(await s.collections.listNeedingEmbedding('m/one')).toContain(collectionId);
        expect(await s.collections.listNeedingEmbedding('m/one')).not.toContain(empty.id);
        await s.collections.setEmbedding(collectionId, 'm/one', 8);
        expect(await s.collections.getEmbedding(collectionId)).toEqual({ model: 'm/one', dimensions: 8 });
        expect(await s.collections.listNeedingEmbedding('m/one')).not.toContain(collectionId);
        expect(await s.collections.listNeedingEmbedding('m/two')).toContain(collectionId);
      });
    });

    describe('documents', () => {
      it('keeps one document per content, with its status, text, date and metadata', async () => {
        const owner = await s.addUser();
        const collection = await s.collections.create({ ownerId: owner, name: `docs-${randomUUID()}` });
        const input = {
          collectionId: collection.id,
          name: 'report.pdf',
          mime: 'application/pdf',
          size: 1234,
          sha256: 'abc',
          createdBy: owner,
        };
        const first = await s.documents.create(input);
        expect(first.created).toBe(true);
        expect(first.document).toMatchObject({
          name: 'report.pdf',
          size: 1234,
          status: 'queued',
          chunkCount: 0,
          date: null,
          dateSource: null,
          metadata: {},
        });
        const again = await s.documents.create({ ...input, name: 'copy.pdf' });
        expect(again).toMatchObject({ created: false, document: { id: first.document.id, name: 'report.pdf' } });

        const id = first.document.id;
        await s.documents.setStatus(id, 'failed', { error: 'bad', pages: 3, chars: 99, chunkCount: 4 });
        expect(await s.documents.get(id)).toMatchObject({ status: 'failed', error: 'bad', pages: 3, chars: 99, chunkCount: 4 });
        await s.documents.setStatus(id, 'ready', { error: null });
        expect(await s.documents.get(id)).toMatchObject({ status: 'ready', error: null, pages: 3 });

        await s.documents.saveText(id, 'the whole text');
        await s.documents.saveText(id, 'the whole text, again');
        expect(await s.documents.getText(id)).toBe('the whole text, again');

        await s.documents.describe(id, { date: { value: '2024-03-05', source: 'manual' } });
        await s.documents.describe(id, { date: { value: '2020-01-01', source: 'text' } });
        expect(await s.documents.get(id)).toMatchObject({ date: '2024-03-05', dateSource: 'manual' });
        await s.documents.describe(id, { date: { value: null, source: 'manual' } });
        await s.documents.describe(id, { date: { value: '2020-01-01', source: 'name' } });
        expect(await s.documents.get(id)).toMatchObject({ date: '2020-01-01', dateSource: 'name' });
        await s.documents.describe(id, { metadata: { source: 'Federal Reserve', tags: ['rates', 'policy'] } });
        expect((await s.documents.get(id))?.metadata).toEqual({ source: 'Federal Reserve', tags: ['rates', 'policy'] });

        await s.documents.delete(id);
        expect(await s.documents.get(id)).toBeUndefined();
        expect(await s.documents.getText(id)).toBeUndefined();
      });

      it('lists a collection newest first and a document’s chunks in reading order', async () => {
        const owner = await s.addUser();
        const collection = await s.collections.create({ ownerId: owner, name: `order-${randomUUID()}` });
        const made: string[] = [];
        for (const name of ['first', 'second', 'third']) {
          const { document } = await s.documents.create({
            collectionId: collection.id,
            name,
            mime: 'text/plain',
            size: 1,
            sha256: name,
            createdBy: owner,
          });
          made.push(document.id);
          s.advance(1000);
        }
        expect((await s.documents.listByCollection(collection.id)).map((d) => d.name)).toEqual(['third', 'second', 'first']);
        await s.searchIndex.replaceChunks({ id: made[0] as string, collectionId: collection.id }, [
          chunk(1, 'second part', { page: 2, section: 'Results' }),
          chunk(0, 'first part', { page: 1 }),
        ]);
        const chunks = await s.documents.listChunks(made[0] as string);
        expect(chunks.map((c) => [c.text, c.page, c.section, c.documentName, c.score])).toEqual([
          ['first part', 1, null, 'first', 0],
          ['second part', 2, 'Results', 'first', 0],
        ]);
        expect(chunks[1]).toMatchObject({ startOffset: 100, endOffset: 111, collectionId: collection.id, documentId: made[0] });
      });
    });

    describe('full-text search', () => {
      it('ranks by BM25: the chunk where the rare term is frequent comes first', async () => {
        const owner = await s.addUser();
        const { collectionId, documentIds } = await collectionWith(owner, {
          turbines: ['wind turbine blades wind turbine towers', 'the weather report for tomorrow'],
          weather: ['wind and weather and more weather', 'weather of the coast'],
          other: ['a turbine is a rotary machine'],
        });
        const hits = await s.searchIndex.searchText('turbine', { userId: owner, collectionIds: [collectionId], k: 10 });
        expect(hits.map((h) => h.text)).toEqual(['wind turbine blades wind turbine towers', 'a turbine is a rotary machine']);
        expect(hits[0]?.score).toBeGreaterThan(hits[1]?.score as number);
        expect(hits[0]).toMatchObject({
          documentId: documentIds.turbines,
          documentName: 'turbines',
          collectionId,
          page: null,
          section: null,
        });
        // Stemmed: "turbines" finds "turbine"; several terms add up; k cuts the list.
        const two = await s.searchIndex.searchText('Turbines in the wind', { userId: owner, collectionIds: [collectionId], k: 2 });
        expect(two).toHaveLength(2);
        expect(two[0]?.text).toBe('wind turbine blades wind turbine towers');
        expect(await s.searchIndex.searchText('zeppelin', { userId: owner, collectionIds: [collectionId], k: 5 })).toEqual([]);
        expect(await s.searchIndex.searchText('turbine', { userId: owner, collectionIds: [], k: 5 })).toEqual([]);
      });

      it('never returns a chunk of a collection the user may not read, even when asked for it', async () => {
        const owner = await s.addUser('initech');
        const colleague = await s.addUser('initech');
        const outsider = await s.addUser('umbrella');
        const secret = await collectionWith(owner, { plans: ['quarterly zeppelin procurement plans'] });
        const open = await collectionWith(owner, { memo: ['zeppelin memo for everyone'] }, { visibility: 'organisation' });
        const ids = [secret.collectionId, open.collectionId];
        const asOwner = await s.searchIndex.searchText('zeppelin', { userId: owner, collectionIds: ids, k: 10 });
        expect(asOwner.map((h) => h.documentName).sort()).toEqual(['memo', 'plans']);
        const asColleague = await s.searchIndex.searchText('zeppelin procurement plans', { userId: colleague, collectionIds: ids, k: 10 });
        expect(asColleague.map((h) => h.documentName)).toEqual(['memo']);
        expect(await s.searchIndex.searchText('zeppelin', { userId: outsider, collectionIds: ids, k: 10 })).toEqual([]);
        await s.collections.setMembers(secret.collectionId, [{ userId: colleague, role: 'viewer' }]);
        const asMember = await s.searchIndex.searchText('zeppelin procurement', { userId: colleague, collectionIds: ids, k: 10 });
        expect(asMember[0]?.documentName).toBe('plans');
      });

      it('re-indexing replaces a document’s chunks, and deleting removes them', async () => {
        const owner = await s.addUser();
        const { collectionId, documentIds } = await collectionWith(owner, { doc: ['old words about kangaroos'] });
        const scope = { userId: owner, collectionIds: [collectionId], k: 5 };
        expect(await s.searchIndex.searchText('kangaroos', scope)).toHaveLength(1);
        await s.searchIndex.replaceChunks({ id: documentIds.doc as string, collectionId }, [chunk(0, 'new words about wombats')]);
        expect(await s.searchIndex.searchText('kangaroos', scope)).toEqual([]);
        expect((await s.searchIndex.searchText('wombats', scope)).map((h) => h.text)).toEqual(['new words about wombats']);
        await s.searchIndex.deleteDocument(documentIds.doc as string);
        expect(await s.searchIndex.searchText('wombats', scope)).toEqual([]);
        expect(await s.documents.listChunks(documentIds.doc as string)).toEqual([]);
      });

      it('filters by document date and metadata inside the search', async () => {
        const owner = await s.addUser();
        const { collectionId, documentIds } = await collectionWith(owner, {
          early: ['inflation outlook statement'],
          late: ['inflation outlook minutes'],
          undated: ['inflation outlook notes'],
        });
        await s.documents.describe(documentIds.early as string, {
          date: { value: '2021-06-01', source: 'manual' },
          metadata: { type: 'Statement', tags: ['Rates', 'policy'] },
        });
        await s.documents.describe(documentIds.late as string, {
          date: { value: '2023-02-01', source: 'text' },
          metadata: { type: 'minutes' },
        });
        const names = async (filter: Parameters<SearchIndex['searchText']>[1]['filter']) =>
          (await s.searchIndex.searchText('inflation outlook', { userId: owner, collectionIds: [collectionId], k: 10, filter }))
            .map((h) => h.documentName)
            .sort();
        expect(await names(undefined)).toEqual(['early', 'late', 'undated']);
        expect(await names({})).toEqual(['early', 'late', 'undated']);
        expect(await names({ dateFrom: '2022-01-01' })).toEqual(['late']);
        expect(await names({ dateTo: '2022-01-01' })).toEqual(['early']);
        expect(await names({ dateFrom: '2021-06-01', dateTo: '2023-02-01' })).toEqual(['early', 'late']);
        expect(await names({ metadata: { type: 'statement' } })).toEqual(['early']);
        expect(await names({ metadata: { type: ['MINUTES', 'statement'] } })).toEqual(['early', 'late']);
        expect(await names({ metadata: { tags: 'rates' } })).toEqual(['early']);
        expect(await names({ metadata: { tags: 'rates', type: 'minutes' } })).toEqual([]);
        expect(await names({ metadata: { missing: 'x' } })).toEqual([]);
        expect(await names({ dateFrom: '2020-01-01', metadata: { type: 'minutes' } })).toEqual(['late']);
        const hit = (
          await s.searchIndex.searchText('inflation', {
            userId: owner,
            collectionIds: [collectionId],
            k: 10,
            filter: { dateTo: '2021-12-31' },
          })
        )[0];
        expect(hit?.documentDate).toBe('2021-06-01');
      });
    });

    if (vectors)
      describe('vector and hybrid search', () => {
        /** Eight documents of one chunk each, the i-th along axis i; the ids by name. */
        const vectorCollection = async (owner: string, options: { visibility?: 'private' | 'organisation' } = {}) => {
          const documents = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`axis-${i}`, [`passage number ${i} about topic${i}`]]));
          const made = await collectionWith(owner, documents, options);
          for (let i = 0; i < 8; i++)
            await s.searchIndex.upsertVectors(made.documentIds[`axis-${i}`] as string, [axisVector(i, (i + 1) % 8, 0.3)]);
          return made;
        };

        it('finds the nearest chunks by cosine, among readable collections only', async () => {
          const owner = await s.addUser('vectors');
          const colleague = await s.addUser('vectors');
          const mine = await vectorCollection(owner);
          const open = await vectorCollection(owner, { visibility: 'organisation' });
          const hits = await s.searchIndex.searchVector(axisVector(3, 2, 0.2), { userId: owner, collectionIds: [mine.collectionId], k: 3 });
          expect(hits.map((h) => h.documentName)).toEqual(['axis-3', 'axis-2', 'axis-1']);
          expect(hits[0]?.score).toBeGreaterThan(0.9);
          expect(hits[0]?.score).toBeLessThanOrEqual(1.000001);
          const theirs = await s.searchIndex.searchVector(axisVector(3), {
            userId: colleague,
            collectionIds: [mine.collectionId, open.collectionId],
            k: 16,
          });
          expect(theirs).toHaveLength(8);
          expect(new Set(theirs.map((h) => h.collectionId))).toEqual(new Set([open.collectionId]));
          expect(await s.searchIndex.searchVector(axisVector(3), { userId: colleague, collectionIds: [mine.collectionId], k: 5 })).toEqual(
            [],
          );
        });

        it('applies date and metadata filters to vector search, still returning k when enough pass', async () => {
          const owner = await s.addUser();
          const { collectionId, documentIds } = await vectorCollection(owner);
          for (const i of [5, 6, 7]) await s.documents.describe(documentIds[`axis-${i}`] as string, { metadata: { kind: 'kept' } });
          const hits = await s.searchIndex.searchVector(axisVector(0), {
            userId: owner,
            collectionIds: [collectionId],
            k: 2,
            filter: { metadata: { kind: 'KEPT' } },
          });
          expect(hits).toHaveLength(2);
          expect(hits.every((h) => ['axis-5', 'axis-6', 'axis-7'].includes(h.documentName))).toBe(true);
          expect(hits[0]?.documentName).toBe('axis-7');
          await s.documents.describe(documentIds['axis-6'] as string, { date: { value: '2024-01-01', source: 'manual' } });
          const dated = await s.searchIndex.searchVector(axisVector(0), {
            userId: owner,
            collectionIds: [collectionId],
            k: 5,
            filter: { dateFrom: '2023-01-01' },
          });
          expect(dated.map((h) => h.documentName)).toEqual(['axis-6']);
        });

        it('fuses the full-text and vector rankings by reciprocal rank', async () => {
          const owner = await s.addUser();
          const { collectionId } = await vectorCollection(owner);
          // "topic2" matches axis-2's text only; the vector points at axis-5: both lead the fused list.
          const fused = await s.searchIndex.searchFused('topic2', axisVector(5), {
            userId: owner,
            collectionIds: [collectionId],
            k: 3,
            depth: 8,
          });
          expect(fused).toHaveLength(3);
          expect(fused[0]?.documentName).toBe('axis-2');
          expect(fused.map((h) => h.documentName)).toContain('axis-5');
          // In both lists: more than the 1/61 of a first place in one.
          expect(fused[0]?.score).toBeGreaterThan(1 / 61);
          expect(fused[0]?.text).toBe('passage number 2 about topic2');
        });

        it('drops a document’s vectors when it is re-indexed or deleted', async () => {
          const owner = await s.addUser();
          const { collectionId, documentIds } = await vectorCollection(owner);
          const scope = { userId: owner, collectionIds: [collectionId], k: 8 };
          await s.searchIndex.replaceChunks({ id: documentIds['axis-1'] as string, collectionId }, [chunk(0, 'rewritten')]);
          await s.documents.delete(documentIds['axis-2'] as string);
          const names = (await s.searchIndex.searchVector(axisVector(1), scope)).map((h) => h.documentName);
          expect(names).toHaveLength(6);
          expect(names).not.toContain('axis-1');
          expect(names).not.toContain('axis-2');
          await s.searchIndex.upsertVectors(documentIds['axis-1'] as string, [axisVector(1)]);
          expect((await s.searchIndex.searchVector(axisVector(1), scope))[0]?.text).toBe('rewritten');
        });
      });

    describe('ingest jobs', () => {
      const LEASE_MS = 60_000;
      const leaseOf = (workerId: string) => ({ workerId, leaseMs: LEASE_MS });
      const drain = async () => {
        const lease = leaseOf('drain');
        for (let job = await s.ingestJobs.claimNext(lease); job; job = await s.ingestJobs.claimNext(lease))
          await s.ingestJobs.finish(job.id, 'done');
      };
      const newDocument = async (owner: string, collectionId: string) =>
        (
          await s.documents.create({
            collectionId,
            name: randomUUID(),
            mime: 'text/plain',
            size: 1,
            sha256: randomUUID(),
            createdBy: owner,
          })
        ).document.id;

      it('hands out the oldest queued job, once, and counts attempts', async () => {
        await drain();
        const owner = await s.addUser();
        const collection = await s.collections.create({ ownerId: owner, name: `jobs-${randomUUID()}` });
        const first = await newDocument(owner, collection.id);
        const second = await newDocument(owner, collection.id);
        await s.ingestJobs.enqueue(first);
        s.advance(10);
        await s.ingestJobs.enqueue(second);
        const a = await s.ingestJobs.claimNext(leaseOf('a'));
        const b = await s.ingestJobs.claimNext(leaseOf('b'));
        expect([a?.documentId, b?.documentId]).toEqual([first, second]);
        expect(a?.attempts).toBe(1);
        expect(await s.ingestJobs.claimNext(leaseOf('c'))).toBeUndefined();
        await s.ingestJobs.finish(a?.id as string, 'done');
        await s.ingestJobs.finish(b?.id as string, 'failed');
        s.advance(LEASE_MS + 1);
        expect(await s.ingestJobs.claimNext(leaseOf('c'))).toBeUndefined();
      });

      it('never hands one job to two workers claiming at once', async () => {
        await drain();
        const owner = await s.addUser();
        const collection = await s.collections.create({ ownerId: owner, name: `jobs-${randomUUID()}` });
        for (let i = 0; i < 12; i++) await s.ingestJobs.enqueue(await newDocument(owner, collection.id));
        const claimed: string[] = [];
        await Promise.all(
          Array.from({ length: 4 }, async (_, worker) => {
            const lease = leaseOf(`worker-${worker}`);
            for (let job = await s.ingestJobs.claimNext(lease); job; job = await s.ingestJobs.claimNext(lease)) claimed.push(job.id);
          }),
        );
        expect(claimed).toHaveLength(12);
        expect(new Set(claimed).size).toBe(12);
        for (const id of claimed) await s.ingestJobs.finish(id, 'done');
      });

      it('puts a job whose worker stopped (its lease lapsed) back in the queue', async () => {
        await drain();
        const owner = await s.addUser();
        const collection = await s.collections.create({ ownerId: owner, name: `jobs-${randomUUID()}` });
        const documentId = await newDocument(owner, collection.id);
        await s.ingestJobs.enqueue(documentId);
        const job = await s.ingestJobs.claimNext(leaseOf('stopped'));
        s.advance(LEASE_MS + 1);
        expect(await s.ingestJobs.requeueExpired()).toBe(1);
        const again = await s.ingestJobs.claimNext(leaseOf('next'));
        expect(again).toEqual({ id: job?.id, documentId, attempts: 2 });
        await s.ingestJobs.finish(again?.id as string, 'done');
        s.advance(LEASE_MS + 1);
        expect(await s.ingestJobs.requeueExpired()).toBe(0);
      });

      it('leaves a job running under a live lease to its worker when another process starts, as long as the lease is renewed', async () => {
        await drain();
        const owner = await s.addUser();
        const collection = await s.collections.create({ ownerId: owner, name: `jobs-${randomUUID()}` });
        const documentId = await newDocument(owner, collection.id);
        await s.ingestJobs.enqueue(documentId);
        const job = await s.ingestJobs.claimNext(leaseOf('live'));
        s.advance(LEASE_MS / 2);
        expect(await s.ingestJobs.requeueExpired()).toBe(0);
        expect(await s.ingestJobs.claimNext(leaseOf('other'))).toBeUndefined();
        // Renewed half-way, the lease outlasts the first one.
        await s.ingestJobs.renew([job?.id as string], leaseOf('live'));
        s.advance(LEASE_MS * 0.75);
        expect(await s.ingestJobs.requeueExpired()).toBe(0);
        expect(await s.ingestJobs.claimNext(leaseOf('other'))).toBeUndefined();
        s.advance(LEASE_MS * 0.75);
        expect(await s.ingestJobs.requeueExpired()).toBe(1);
        expect(await s.ingestJobs.claimNext(leaseOf('other'))).toEqual({ id: job?.id, documentId, attempts: 2 });
        await s.ingestJobs.finish(job?.id as string, 'done');
      });

      it('takes over a running job whose lease lapsed, and no longer renews it for the worker that lost it', async () => {
        await drain();
        const owner = await s.addUser();
        const collection = await s.collections.create({ ownerId: owner, name: `jobs-${randomUUID()}` });
        const documentId = await newDocument(owner, collection.id);
        await s.ingestJobs.enqueue(documentId);
        const job = await s.ingestJobs.claimNext(leaseOf('died'));
        s.advance(LEASE_MS + 1);
        // Taken by a worker looking for jobs, without a start queueing it again first.
        expect(await s.ingestJobs.claimNext(leaseOf('rescuer'))).toEqual({ id: job?.id, documentId, attempts: 2 });
        s.advance(LEASE_MS / 2);
        await s.ingestJobs.renew([job?.id as string], leaseOf('died'));
        s.advance(LEASE_MS / 2 + 1);
        expect(await s.ingestJobs.requeueExpired()).toBe(1);
        const third = await s.ingestJobs.claimNext(leaseOf('third'));
        expect(third?.attempts).toBe(3);
        await s.ingestJobs.finish(job?.id as string, 'done');
      });
    });
  });
}
