import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import type { Redactor } from '../redaction/redact';
import { createLogger } from './logger';

const AXON = join(import.meta.dirname, '../../bin/axon.mjs');

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('the log', () => {
  it('keeps the address a line quotes from its own address field, and still masks other addresses', () => {
    const { lines, logger } = capture();
    logger.info({ address: 'http://127.0.0.1:3400' }, 'Axon is listening on http://127.0.0.1:3400');
    logger.info({ address: 'http://127.0.0.1:3400' }, 'a call from 10.20.30.40 reached http://127.0.0.1:3400');
    expect(lines[0]).toMatchObject({ address: 'http://127.0.0.1:3400', msg: 'Axon is listening on http://127.0.0.1:3400' });
    expect(lines[1]?.msg).toContain('http://127.0.0.1:3400');
    expect(lines[1]?.msg).not.toContain('10.20.30.40');
  });

  it("scans free text for personal data, not the identifiers Axon fills a line's own fields with", () => {
    const scanned: string[] = [];
    const redactor = {
      redact: (text: string) => {
        scanned.push(text);
        return { text: text.replace('Alice Smith', '[NAME]') };
      },
    } as unknown as Redactor;
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk, _encoding, callback) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        callback();
      },
    });
    const logger = createLogger({ level: 'info', destination, redactor });
    const ids = { conversationId: '7d0c9b8e-conversation', messageId: '1f2e3d4c-message', userId: '9a8b7c6d-user' };
    logger.info({ ...ids, note: 'asked by Alice Smith' }, 'request');
    expect(lines[0]).toMatchObject({ ...ids, note: 'asked by [NAME]', msg: 'request' });
    expect(scanned.sort()).toEqual(['asked by Alice Smith', 'request']);
  });

  it('never writes a secret field, at the top of a line or inside its objects', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        password: 'hunter2 hunter2',
        apiKey: 'axn_abcdefghijklmnop',
        req: { headers: { authorization: 'Bearer axn_secret', cookie: 'axon_session=abc', 'x-api-key': 'axn_other', host: 'axon' } },
        res: { headers: { 'set-cookie': 'axon_session=def' } },
        user: { token: 'reset-token-123', key: 'k-1', name: 'keeps its fields' },
      },
      'request',
    );
    const text = JSON.stringify(lines[0]);
    for (const secret of ['hunter2', 'axn_abcdefghijklmnop', 'axn_secret', 'axon_session', 'axn_other', 'reset-token-123', 'k-1'])
      expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({
      password: '[redacted]',
      apiKey: '[redacted]',
      req: { headers: { authorization: '[redacted]', cookie: '[redacted]', 'x-api-key': '[redacted]', host: 'axon' } },
      res: { headers: { 'set-cookie': '[redacted]' } },
      user: { token: '[redacted]', key: '[redacted]', name: 'keeps its fields' },
    });
  });

  it('writes an error object with its type, message, stack, code and cause', () => {
    const { lines, logger } = capture();
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', errno: -111 });
    logger.error({ err: new TypeError('fetch failed', { cause: refused }) }, 'listing models failed');
    logger.error({ err: new AppError('not_found', { detail: 'no such thing' }) }, 'lookup failed');
    logger.warn({ connection: 'sim', error: refused }, 'another field');
    const [fetchFailed, appError, other] = lines as Array<Record<string, Record<string, unknown>>>;
    expect(fetchFailed?.err).toMatchObject({ type: 'TypeError', message: 'fetch failed' });
    expect(String(fetchFailed?.err?.stack)).toContain('TypeError: fetch failed');
    expect(fetchFailed?.err?.cause).toMatchObject({ type: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' });
    expect(appError?.err).toMatchObject({ code: 'not_found' });
    expect(typeof appError?.err?.message).toBe('string');
    expect(other?.error).toMatchObject({ message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' });
  });

  it('prints the start-up line with the address to open and the data directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'axon-startup-'));
    const child = spawn('node', [AXON, 'serve', '--port', '0', '--host', '127.0.0.1'], {
      env: { ...process.env, AXON_DATA_DIR: dataDir, AXON_WEB_DIR: '', AXON_FROM_SOURCE: '1', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<Record<string, unknown>>((resolvePromise, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no start-up line; got: ${out}`)), 30_000);
        child.stdout.on('data', (chunk) => {
          out += String(chunk);
          const found = out
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as Record<string, unknown>)
            .find((l) => String(l.msg).startsWith('Axon is listening'));
          if (found) {
            clearTimeout(timer);
            resolvePromise(found);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
      });
      expect(line.msg).toMatch(/^Axon is listening on http:\/\/127\.0\.0\.1:\d+ \(data in .+\)$/);
      expect(line.msg).toContain(dataDir);
      expect(line.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
