import { join } from 'node:path';
import type { Organization } from '@axon/contracts';
import Database from 'better-sqlite3';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADVERSARIAL_INPUTS } from '../../../bench/redaction/adversarial-inputs';
import { createAuthService } from '../auth/auth-service';
import { sameSitePath } from '../auth/sso-routes';
import { toCsv } from '../http/csv-export';
import { LOG_TEXT_LIMIT } from '../observability/logger';
import { createRedactor } from '../redaction/redact';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
let t: TestServer;
let admin: WebClient;
let otherAdmin: WebClient;
let adminKey: string;

const auditRows = (action: string) => {
  const db = new Database(join(t.dataDir, 'axon.db'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM audit_events WHERE action = ?').all(action) as Array<{ details: string; actor_email: string }>;
  } finally {
    db.close();
  }
};

beforeAll(async () => {
  t = await startTestServer({ overrides: { trustProxy: true, metricsToken: METRICS_TOKEN, 'localModel.wordDelayMs': 0 } });
  admin = new WebClient(t.url);
  await admin.setup('root@example.com', 'root password 1');
  await admin.json<Organization>('POST', '/api/admin/orgs', { slug: 'other', name: 'Other' });
  await admin.json('POST', '/api/admin/users', { email: 'admin@other.test', password: 'a long password', role: 'admin', org: 'other' });
  await admin.json('POST', '/api/admin/users', { email: 'target@example.com', password: 'the right password', role: 'member' });
  otherAdmin = new WebClient(t.url);
  await otherAdmin.login('admin@other.test', 'a long password');
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  const root = await t.server.store.users.findByEmail('root@example.com');
  adminKey = (await auth.createApiKey(root?.id ?? '', 'ops', { scopes: ['chat', 'admin'] })).key;
});
afterAll(() => t.close());

const login = (email: string, password: string, ip: string) =>
  fetch(`${t.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ email, password }),
  });

describe('3. redaction and unauthenticated failures stay bounded', () => {
  it('redacts every adversarial 100 KB text in bounded time (seconds before)', () => {
    const redactor = createRedactor();
    for (const { name, text } of ADVERSARIAL_INPUTS) {
      const started = performance.now();
      redactor.redact(text);
      // A loose bound that holds on a loaded machine; the benchmark measures the 5 ms target.
      expect(performance.now() - started, name).toBeLessThan(1000);
    }
  });

  it('answers a flood of SSO callbacks with huge error strings quickly, cuts log lines and writes a bounded number of audit rows', async () => {
    const before = t.logs.length;
    const huge = '1.'.repeat(7500);
    const started = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: 40 }, () =>
        fetch(`${t.url}/api/auth/sso/anything/callback?error=${huge}`, { redirect: 'manual' }).then((r) => r.status),
      ),
    );
    // No such provider: nothing to audit, and no redaction of a 15 KB string.
    expect(new Set(statuses)).toEqual(new Set([404]));
    expect(performance.now() - started).toBeLessThan(3000);
    for (const line of t.logs.slice(before)) expect(line.length).toBeLessThan(LOG_TEXT_LIMIT * 3);
    expect(auditRows('auth.login_failed').filter((r) => r.details.includes('anything'))).toHaveLength(0);
  });

  it('audits failed sign-ins from one address a few times per minute and sums up the rest', async () => {
    for (let i = 0; i < 30; i++) await login(`nobody${i}@example.com`, 'wrong password!', '10.9.9.9');
    const rows = auditRows('auth.login_failed').filter((r) => r.actor_email?.startsWith('nobody'));
    const throttled = auditRows('auth.login_throttled').filter((r) => r.actor_email?.startsWith('nobody'));
    expect(rows.length + throttled.length).toBeLessThanOrEqual(10);
  });

  it('keeps the prompt-log writer quick on a 100 KB adversarial prompt', async () => {
    const prompt = ADVERSARIAL_INPUTS.find((i) => i.name === 'dotted numbers')?.text ?? '';
    const response = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim/sim-1', messages: [{ role: 'user', content: prompt }] }),
    });
    expect(response.status).toBe(200);
    const started = performance.now();
    await t.server.promptLog.flush();
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('5. sign-in throttling holds', () => {
  it('checks at most five of 40 parallel wrong passwords for one account', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 40 }, () => login('target@example.com', 'a wrong password', '10.1.1.1').then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(35);
  });

  it('limits an account whatever the address, so the right password is refused after guesses from 30 addresses', async () => {
    await admin.json('POST', '/api/admin/users', { email: 'spread@example.com', password: 'the right password', role: 'member' });
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await login('spread@example.com', 'a wrong password', `10.2.0.${i + 1}`)).status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    const right = await login('spread@example.com', 'the right password', '10.2.1.1');
    expect(right.status).toBe(429);
    expect(right.headers.get('retry-after')).toBeTruthy();
    expect(auditRows('auth.login_throttled').some((r) => r.actor_email === 'spread@example.com')).toBe(true);
  });

  it('limits an address whatever the account', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 55; i++) statuses.push((await login(`guess${i}@example.com`, 'a wrong password', '10.3.3.3')).status);
    expect(statuses.slice(50).every((s) => s === 429)).toBe(true);
  });
});

describe('6. single sign-on returns only to this site', () => {
  it.each(['/%09/attacker.example', '/\t/attacker.example', '//attacker.example', '/\\attacker.example', '/%0a/attacker.example'])(
    'refuses returnTo=%s',
    async (returnTo) => {
      const response = await fetch(`${t.url}/api/auth/sso/any/start?returnTo=${encodeURIComponent(returnTo).replace(/%25/g, '%')}`, {
        redirect: 'manual',
      });
      expect(response.status).toBe(400);
    },
  );

  it('keeps paths of the site, normalised', () => {
    expect(sameSitePath('/c/123?x=1#m')).toBe('/c/123?x=1#m');
    expect(sameSitePath('/a/../settings')).toBe('/settings');
    for (const bad of ['/\t/evil.example', '//evil.example', '/\\evil.example', 'https://evil.example', '/\n/evil.example', 'evil'])
      expect(sameSitePath(bad), JSON.stringify(bad)).toBeUndefined();
  });
});

describe('7. /metrics is for the installation', () => {
  it("refuses another organisation's admin, serves the first organisation's admins and the scrape token", async () => {
    expect((await otherAdmin.request('GET', '/metrics')).status).toBe(403);
    expect((await admin.request('GET', '/metrics')).status).toBe(200);
    expect((await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } })).status).toBe(200);
  });
});

describe('8. uploads whose bytes contradict their names', () => {
  const upload = async (name: string, bytes: string) => {
    const collection = (await admin.json<{ id: string }>('POST', '/api/collections', { name: `c-${name}-${Date.now()}` })).body;
    const form = new FormData();
    form.append('file', new Blob([bytes]), name);
    const response = await fetch(`${t.url}/api/collections/${collection.id}/documents`, {
      method: 'POST',
      headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken ?? '' },
      body: form,
    });
    return (await response.json()) as { files: Array<{ name: string; error?: string; document?: { id: string } }> };
  };

  it('refuses an HTML page named report.pdf', async () => {
    const result = await upload('report.pdf', '<!doctype html><html><body><script>alert(1)</script>Report</body></html>');
    expect(result.files[0]?.document).toBeUndefined();
    expect(result.files[0]?.error).toMatch(/named \.pdf but its content is text/);
  });

  it('serves the original of an HTML page as bytes, never as a page', async () => {
    const result = await upload('page.html', '<!doctype html><html><body><p>Quarterly figures and notes.</p></body></html>');
    const id = result.files[0]?.document?.id;
    expect(id).toBeTruthy();
    await t.server.ingestion.idle();
    const file = await admin.request('GET', `/api/documents/${id}/file`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/octet-stream');
    expect(file.headers.get('content-disposition')).toMatch(/^attachment/);
    expect(file.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('9. CSV exports escape formulas', () => {
  it('prefixes cells that a spreadsheet would run', async () => {
    for (const email of ['+cmd@example.com', '-2@example.com']) await login(email, 'a wrong password', '10.4.4.4');
    const response = await admin.request('GET', '/api/admin/audit/export');
    expect(response.status).toBe(200);
    const rows = parseCsv(await response.text(), { columns: true }) as Array<{ actor_email: string }>;
    const emails = rows.map((r) => r.actor_email).filter((e) => /cmd@|-2@/.test(e));
    expect(emails.sort()).toEqual(["'+cmd@example.com", "'-2@example.com"]);
  });

  it('escapes every formula lead in every export, and leaves numbers alone', () => {
    const csv = toCsv([['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx', 'plain', -5]], ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    const [row] = parseCsv(csv, { columns: true, relax_quotes: true }) as Array<Record<string, string>>;
    expect(row).toEqual({ a: "'=1+1", b: "'+1", c: "'-1", d: "'@SUM(A1)", e: "'\tx", f: "'\rx", g: 'plain', h: '-5' });
  });
});

describe('10. every response carries the security headers', () => {
  it('sends the content security policy without inline code, and the other headers, on API routes and errors alike', async () => {
    for (const path of ['/healthz', '/api/no-such-route', '/v1/models']) {
      const response = await fetch(`${t.url}${path}`);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toMatch(/style-src 'self'(;|$)/);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(response.headers.get('x-powered-by')).toBeNull();
    }
  });
});
