import { describe, expect, it } from 'vitest';
import { MAX_ZIP_RATIO } from '../rag/ingest/parse-binary-formats';
import { parseDocument } from '../rag/ingest/parse-document';
import { buildDocx, buildZipBomb } from '../testing/sample-documents';

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const LIMITS = { maxPages: 500, maxDecompressedBytes: 200 * 1024 * 1024, maxChars: 2_000_000, maxCsvRows: 10_000 };

describe('zip bombs are stopped by the bytes actually inflated, whatever the headers say', () => {
  it('refuses a DOCX whose document.xml inflates to 768 MB but declares 2,048 bytes, without the memory growing', async () => {
    const bomb = await buildZipBomb(768 * 1024 * 1024, { declaredBytes: 2048 });
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const before = process.memoryUsage().rss;
    await expect(parseDocument(bomb, DOCX, LIMITS)).rejects.toThrow(/zip bomb/);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  }, 60_000);

  it('refuses one that declares its true size when that is over the limit', async () => {
    const bomb = await buildZipBomb(300 * 1024 * 1024);
    await expect(parseDocument(bomb, DOCX, LIMITS)).rejects.toThrow(/more than 200 MB|times its size/);
  }, 60_000);

  it(`refuses one within the size limit that unpacks to more than ${MAX_ZIP_RATIO} times its size`, async () => {
    const bomb = await buildZipBomb(50 * 1024 * 1024);
    await expect(parseDocument(bomb, DOCX, LIMITS)).rejects.toThrow(/times its size/);
  }, 60_000);

  it('still reads an ordinary Word document', async () => {
    const parsed = await parseDocument(await buildDocx(), DOCX, LIMITS);
    expect(parsed.blocks.length).toBeGreaterThan(3);
  });
});
