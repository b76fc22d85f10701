import type { Collection, DocumentInfo, UploadResult } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '../testing/http-client';
import { buildPptx, buildXlsx } from '../testing/office-documents';
import { buildScannedPdf, SCANNED_NOTE_JPEG, SCANNED_NOTE_PNG } from '../testing/scanned-documents';
import { startTestServer, type TestServer } from '../testing/test-server';

async function upload(t: TestServer, client: WebClient, collectionId: string, files: Array<{ name: string; bytes: Uint8Array }>) {
  const form = new FormData();
  for (const f of files) form.append('file', new Blob([Buffer.from(f.bytes)], { type: 'application/octet-stream' }), f.name);
  const response = await fetch(`${t.url}/api/collections/${collectionId}/documents`, {
    method: 'POST',
    headers: { cookie: client.cookie, 'x-csrf-token': client.csrfToken ?? '' },
    body: form,
  });
  return { status: response.status, body: (await response.json()) as UploadResult };
}

/** A server with OCR on or off, its admin signed in, and a collection. */
async function start(ocr: boolean) {
  const t = await startTestServer({ overrides: { rag: { ocr } } });
  const admin = new WebClient(t.url);
  await admin.setup('admin@example.com', 'admin password 1');
  const { body: collection } = await admin.json<Collection>('POST', '/api/collections', { name: 'Mixed' });
  const documents = async () => {
    await t.server.ingestion.idle();
    return (await admin.json<{ items: DocumentInfo[] }>('GET', `/api/collections/${collection.id}/documents`)).body.items;
  };
  return { t, admin, collection, documents };
}

const files = async () => [
  {
    name: 'yields.xlsx',
    bytes: buildXlsx([
      {
        name: 'Curve',
        rows: [
          ['Tenor', 'Yield'],
          ['10 Yr', 4.21],
        ],
      },
    ]),
  },
  { name: 'briefing.pptx', bytes: buildPptx([{ title: 'Desk briefing' }, { title: 'Liquidity', body: ['Repo volumes doubled in May.'] }]) },
  { name: 'note.png', bytes: SCANNED_NOTE_PNG },
  { name: 'receipt.jpg', bytes: SCANNED_NOTE_JPEG },
  { name: 'scan.pdf', bytes: await buildScannedPdf([{ png: SCANNED_NOTE_PNG }, { bilevel: SCANNED_NOTE_PNG }]) },
];

describe('uploading spreadsheets, presentations, images and scans with OCR on', () => {
  let world: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    world = await start(true);
  }, 60_000);
  afterAll(() => world.t.close());

  it('indexes each, and finds their text', async () => {
    const list = await files();
    const { status, body } = await upload(world.t, world.admin, world.collection.id, list);
    expect(status).toBe(202);
    expect(body.files.map((f) => [f.name, f.error ?? null])).toEqual(list.map((f) => [f.name, null]));
    const documents = await world.documents();
    expect(Object.fromEntries(documents.map((d) => [d.name, [d.status, d.error]]))).toEqual({
      'yields.xlsx': ['ready', null],
      'briefing.pptx': ['ready', null],
      'note.png': ['ready', null],
      'receipt.jpg': ['ready', null],
      'scan.pdf': ['ready', null],
    });
    expect(documents.find((d) => d.name === 'briefing.pptx')).toMatchObject({ pages: 2 });

    const search = async (query: string) =>
      (
        await world.admin.json<{ items: Array<{ documentName: string; page: number | null; section: string | null; text: string }> }>(
          'POST',
          '/api/search',
          { query, collectionIds: [world.collection.id] },
        )
      ).body.items;
    expect((await search('repo volumes'))[0]).toMatchObject({ documentName: 'briefing.pptx', page: 2, section: 'Slide 2: Liquidity' });
    expect((await search('tenor yield'))[0]).toMatchObject({
      documentName: 'yields.xlsx',
      section: 'Curve',
      text: expect.stringContaining('Tenor: 10 Yr; Yield: 4.21'),
    });
    const harbour = await search('harbour warehouse invoice');
    expect(new Set(harbour.map((h) => h.documentName))).toEqual(new Set(['note.png', 'receipt.jpg', 'scan.pdf']));
    expect(harbour.filter((h) => h.documentName === 'scan.pdf').map((h) => h.page)).toEqual(expect.arrayContaining([1]));
  }, 60_000);

  it('refuses a spoofed file at upload', async () => {
    const { body } = await upload(world.t, world.admin, world.collection.id, [
      { name: 'figures.xlsx', bytes: buildPptx([{ title: 'Not a workbook' }]) },
      { name: 'photo.jpg', bytes: SCANNED_NOTE_PNG },
    ]);
    expect(body.files.map((f) => f.error)).toEqual([
      expect.stringMatching(/named \.xlsx but its content is PPTX/),
      expect.stringMatching(/named \.jpg but its content is PNG/),
    ]);
  });
});

describe('uploading images and scans with OCR off', () => {
  let world: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    world = await start(false);
  }, 60_000);
  afterAll(() => world.t.close());

  it('fails them with a reason that says OCR is off, and still reads the rest', async () => {
    const { status } = await upload(world.t, world.admin, world.collection.id, [
      { name: 'note.png', bytes: SCANNED_NOTE_PNG },
      { name: 'scan.pdf', bytes: await buildScannedPdf([{ png: SCANNED_NOTE_PNG }]) },
      {
        name: 'yields.xlsx',
        bytes: buildXlsx([
          {
            name: 'Curve',
            rows: [
              ['Tenor', 'Yield'],
              ['10 Yr', 4.21],
            ],
          },
        ]),
      },
    ]);
    expect(status).toBe(202);
    const byName = Object.fromEntries((await world.documents()).map((d) => [d.name, d]));
    expect(byName['note.png']).toMatchObject({ status: 'failed', error: expect.stringMatching(/OCR, which is turned off on this server/) });
    expect(byName['scan.pdf']).toMatchObject({ status: 'failed', error: expect.stringMatching(/looks scanned.*OCR, which is turned off/) });
    expect(byName['yields.xlsx']).toMatchObject({ status: 'ready' });
  });
});
