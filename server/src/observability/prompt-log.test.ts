import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { startTestServer, type TestServer } from '../testing/test-server';

// Planted in prompts; none of them may reach a log line or, in `redacted` mode, the prompt log.
const SECRETS = ['sk-proj-Zq8Xw2Ev5Rt7Yu1Io3Pa6Sd9Fg4Hj0Kl', 'planted.person@example.com', '4111 1111 1111 1111', '123-45-6789'];
const servers: TestServer[] = [];
afterAll(async () => {
  for (const t of servers) await t.close();
});

async function serverWith(overrides: Record<string, unknown>) {
  const t = await startTestServer({ overrides });
  servers.push(t);
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  const admin = await auth.createUser({ email: 'admin@example.com', password: 'admin password 1', role: 'admin' });
  const key = (await auth.createApiKey(admin.id, 'k', { scopes: ['chat', 'admin'] })).key;
  const ask = async (stream: boolean) => {
    const response = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'sim/sim-1',
        stream,
        messages: [{ role: 'user', content: `My key is ${SECRETS[0]}, mail ${SECRETS[1]}, card ${SECRETS[2]}, SSN ${SECRETS[3]}.` }],
      }),
    });
    await response.text();
    return response.status;
  };
  const promptLog = async () => {
    await t.server.promptLog.flush();
    const db = new Database(join(t.dataDir, 'axon.db'), { readonly: true });
    return db.prepare('SELECT * FROM prompt_log ORDER BY at').all() as Array<{ prompt: string; mode: string }>;
  };
  return { t, key, ask, promptLog };
}

describe('prompt log and redaction', () => {
  it('in redacted mode (the default) keeps prompts with placeholders, and no log line holds a secret', async () => {
    const { t, key, ask, promptLog } = await serverWith({});
    t.upstream.set({ mode: 'fail-500' });
    expect(await ask(false)).toBeGreaterThanOrEqual(500); // an upstream failure is logged too
    t.upstream.set({ mode: 'ok' });
    expect(await ask(false)).toBe(200);
    expect(await ask(true)).toBe(200);
    const rows = await promptLog();
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) {
      expect(row.mode).toBe('redacted');
      expect(row.prompt).toContain('<SECRET_1>');
      expect(row.prompt).toContain('<EMAIL_1>');
      expect(row.prompt).toContain('<CARD_1>');
      expect(row.prompt).toContain('<SSN_1>');
    }
    const viewed = await fetch(`${t.url}/api/admin/prompt-log`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await viewed.json()) as { mode: string; items: Array<{ prompt: string }> };
    expect(body.mode).toBe('redacted');
    expect(body.items[0]?.prompt).toContain('<EMAIL_1>');
    const logText = t.logs.join('');
    expect(logText.length).toBeGreaterThan(0);
    for (const secret of SECRETS) expect(logText).not.toContain(secret);
    const everything = JSON.stringify(
      new Database(join(t.dataDir, 'axon.db'), { readonly: true }).prepare('SELECT * FROM audit_events').all(),
    );
    for (const secret of SECRETS) expect(everything).not.toContain(secret);
  });

  it('in full mode keeps them as sent; off keeps nothing; the guardrail redacts before the model', async () => {
    const full = await serverWith({ promptLog: { mode: 'full', retentionDays: 30 } });
    await full.ask(false);
    expect((await full.promptLog())[0]?.prompt).toContain(SECRETS[1]);

    const off = await serverWith({ promptLog: { mode: 'off', retentionDays: 30 }, redaction: { guardrail: true, patterns: [] } });
    await off.ask(false);
    expect(await off.promptLog()).toEqual([]);
    const sent = JSON.stringify(off.t.upstream.requests.at(-1)?.body);
    for (const secret of SECRETS) expect(sent).not.toContain(secret);
    expect(sent).toContain('<EMAIL_1>');
  });
});
