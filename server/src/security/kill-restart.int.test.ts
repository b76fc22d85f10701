import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ConversationWithMessages, UploadResult } from '@axon/contracts';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { WebClient } from '../testing/http-client';

// The real server as a child process, killed with SIGKILL while an answer streams and documents are
// being indexed, then started again on the same data directory.

const AXON = join(import.meta.dirname, '../../bin/axon.mjs');
const run = promisify(execFile);
const dataDir = mkdtempSync(join(tmpdir(), 'axon-kill-'));
const ADMIN = { email: 'admin@example.com', password: 'admin password 1' };
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const env = (port: number) => ({
  ...process.env,
  AXON_FROM_SOURCE: '1',
  AXON_CONFIG: '',
  AXON_DATA_DIR: dataDir,
  PORT: String(port),
  HOST: '127.0.0.1',
  AXON_ADMIN_EMAIL: ADMIN.email,
  AXON_ADMIN_PASSWORD: ADMIN.password,
  AXON_LOCAL_MODEL_DELAY_MS: '150',
  LOG_LEVEL: 'warn',
});

/** Starts `axon serve` on the data directory and waits until it is ready. */
async function startAxon(port: number): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [AXON, 'serve'], { env: env(port), stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`axon exited with ${child.exitCode}: ${stderr}`);
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return { child, url, stderr: () => stderr };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`axon did not start: ${stderr}`);
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** A text document of about `mb` MB that takes the parser, chunker and indexer a while. */
function largeDocument(seed: number, mb: number): string {
  const words = ['yield', 'curve', 'inflation', 'treasury', 'liquidity', 'policy', 'basis', 'spread', 'duration', 'coupon'];
  const paragraphs: string[] = [];
  let size = 0;
  for (let i = 0; size < mb * 1_000_000; i++) {
    const sentence = Array.from({ length: 14 }, (_, j) => words[(i * 7 + j * 3 + seed) % words.length]).join(' ');
    const paragraph = `Section ${seed}.${i}. The ${sentence} moved by ${i % 97} points. ${sentence}.`;
    paragraphs.push(paragraph);
    size += paragraph.length + 2;
  }
  return paragraphs.join('\n\n');
}

function integrityOf(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return (db.pragma('integrity_check', { simple: true }) as string) ?? '';
  } finally {
    db.close();
  }
}

describe('kill -9 mid-stream and mid-ingestion, then restart', () => {
  it('recovers: the database is intact, the answer is marked, the indexing finishes, the audit chain verifies', {
    timeout: 180_000,
  }, async () => {
    const port = await freePort();
    const first = await startAxon(port);
    const web = new WebClient(first.url);
    await web.login(ADMIN.email, ADMIN.password);

    // A slow answer from the local model, streaming while the documents are indexed.
    const { body: collection } = await web.json<{ id: string }>('POST', '/api/collections', { name: 'Large documents' });
    const { body: conversation } = await web.json<{ id: string }>('POST', '/api/conversations', { model: 'local/extractive' });
    const question =
      'The treasury yield curve inverted this quarter. Liquidity stayed thin across the curve. What happened to the yield curve this quarter?';
    const response = await web.request('POST', `/api/conversations/${conversation.id}/chat`, {
      trigger: 'submit-message',
      message: { id: 'u1', text: question },
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = '';
    while ((received.match(/"text-delta"/g) ?? []).length < 3) received += new TextDecoder().decode((await reader.read()).value);
    // Answers are saved every second while they stream: let one save happen.
    await new Promise((r) => setTimeout(r, 1300));
    const before = (await web.json<ConversationWithMessages>('GET', `/api/conversations/${conversation.id}`)).body.messages[1];
    expect(before?.status).toBe('streaming');
    // The documents go in while the answer streams, and the kill follows their upload at once, so
    // that it lands in the middle of their indexing however fast the machine is.
    const form = new FormData();
    for (const n of [1, 2, 3]) form.append('file', new Blob([largeDocument(n, 4)], { type: 'text/plain' }), `large-${n}.txt`);
    const uploaded = await fetch(`${first.url}/api/collections/${collection.id}/documents`, {
      method: 'POST',
      headers: { cookie: web.cookie, 'x-csrf-token': web.csrfToken ?? '' },
      body: form,
    });
    expect(uploaded.status).toBe(202);
    const documentIds = ((await uploaded.json()) as UploadResult).files.map((f) => f.document?.id as string);
    expect(documentIds).toHaveLength(3);
    const statuses = await Promise.all(
      documentIds.map(async (id) => (await web.json<{ status: string }>('GET', `/api/documents/${id}`)).body.status),
    );
    // The kill lands in the middle of the work: jobs are waiting or being parsed, chunked or indexed.
    expect(statuses.every((s) => s !== 'ready' && s !== 'failed')).toBe(true);

    await killHard(first.child);
    await reader.cancel().catch(() => undefined);
    expect(first.child.signalCode).toBe('SIGKILL');

    // The database file survived the kill.
    expect(integrityOf(join(dataDir, 'axon.db'))).toBe('ok');

    const second = await startAxon(port);
    const again = new WebClient(second.url);
    await again.login(ADMIN.email, ADMIN.password);
    const messages = (await again.json<ConversationWithMessages>('GET', `/api/conversations/${conversation.id}`)).body.messages;
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(messages[1]?.status).not.toBe('streaming');
    expect(messages[1]).toMatchObject({ status: 'error', error: expect.stringMatching(/server stopped/i) });
    // What had been saved of the answer is kept.
    expect(messages[1]?.content.length).toBeGreaterThan(0);
    expect(messages[1]?.content.length).toBeGreaterThanOrEqual(before?.content.length ?? 0);

    // The indexing jobs the kill interrupted are resumed and finish.
    const deadline = Date.now() + 120_000;
    let documents: string[] = [];
    while (Date.now() < deadline) {
      documents = await Promise.all(
        documentIds.map(async (id) => (await again.json<{ status: string }>('GET', `/api/documents/${id}`)).body.status),
      );
      if (documents.every((s) => s === 'ready' || s === 'failed')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(documents).toEqual(['ready', 'ready', 'ready']);
    const db = new Database(join(dataDir, 'axon.db'), { readonly: true });
    const jobs = db.prepare('SELECT state, COUNT(*) AS n FROM ingest_jobs GROUP BY state').all() as Array<{ state: string; n: number }>;
    db.close();
    expect(jobs.filter((j) => j.state !== 'done')).toEqual([]);

    await killHard(second.child);
    expect(integrityOf(join(dataDir, 'axon.db'))).toBe('ok');
    const verify = await run(process.execPath, [AXON, 'audit', 'verify'], { env: env(port) });
    expect(verify.stdout).toMatch(/audit trail intact: \d+ event\(s\)/);
  });
});
