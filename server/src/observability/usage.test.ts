import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

let t: TestServer;
let auditor: WebClient;
let member: WebClient;
let key: string;

beforeAll(async () => {
  t = await startTestServer({ overrides: { prices: { 'sim/sim-1': { input: 1, output: 2 } } } });
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  const m = await auth.createUser({ email: 'member@example.com', password: 'member password 1', role: 'member' });
  await auth.createUser({ email: 'auditor@example.com', password: 'auditor password 1', role: 'auditor' });
  key = (await auth.createApiKey(m.id, 'app')).key;
  auditor = new WebClient(t.url);
  await auditor.login('auditor@example.com', 'auditor password 1');
  member = new WebClient(t.url);
  await member.login('member@example.com', 'member password 1');
});
afterAll(() => t.close());

const call = (body: Record<string, unknown>) =>
  fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }], ...body }),
  }).then((r) => r.text());

describe('usage and cost ledger', () => {
  it('records every model call with tokens, cost from the price table and latency, by model, user and day', async () => {
    await call({});
    await call({ stream: true, stream_options: { include_usage: true } });
    await call({ model: 'local/extractive' });
    const { status, body } = await auditor.json<{
      rows: Array<{
        key: string;
        requests: number;
        inputTokens: number;
        outputTokens: number;
        costUsd: number;
        latencyP50Ms: number | null;
      }>;
    }>('GET', '/api/admin/usage?groupBy=model');
    expect(status).toBe(200);
    const sim = body.rows.find((r) => r.key === 'sim/sim-1');
    expect(sim?.requests).toBe(2);
    expect(sim?.outputTokens).toBeGreaterThan(0);
    expect(sim?.costUsd).toBeCloseTo(((sim?.inputTokens ?? 0) * 1 + (sim?.outputTokens ?? 0) * 2) / 1_000_000, 9);
    expect(sim?.latencyP50Ms).toBeGreaterThan(0);
    expect(body.rows.find((r) => r.key === 'local/extractive')?.costUsd).toBe(0);
    const byUser = await auditor.json<{ rows: Array<{ key: string; requests: number }> }>('GET', '/api/admin/usage?groupBy=user');
    expect(byUser.body.rows).toEqual([expect.objectContaining({ key: 'member@example.com', requests: 3 })]);
    const byDay = await auditor.json<{ rows: Array<{ key: string }> }>('GET', '/api/admin/usage?groupBy=day');
    expect(byDay.body.rows[0]?.key).toBe(new Date().toISOString().slice(0, 10));
    const future = await auditor.json<{ rows: unknown[] }>(
      'GET',
      `/api/admin/usage?from=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`,
    );
    expect(future.body.rows).toEqual([]);
  });

  it('exports the rows as CSV for usage readers only', async () => {
    expect((await member.json('GET', '/api/admin/usage')).status).toBe(403);
    const csv = await (await auditor.request('GET', '/api/admin/usage/export')).text();
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe(
      'id,at,org_id,user_id,user_email,api_key_id,route,model,status,input_tokens,output_tokens,cost_usd,latency_ms,ttft_ms',
    );
    expect(lines).toHaveLength(4);
    expect((await auditor.json('GET', '/api/admin/usage?groupBy=tenant')).status).toBe(400);
  });
});

describe('cost budgets', () => {
  it('refuse a user whose daily budget is spent, until the next UTC day', async () => {
    const b = await startTestServer({
      overrides: {
        prices: { 'sim/sim-1': { input: 100_000, output: 100_000 } },
        limits: { userRpm: 0, userTpm: 0, userConcurrentStreams: 0, userDailyBudgetUsd: 1, userMonthlyBudgetUsd: 0 },
      },
    });
    try {
      const auth = createAuthService({ store: b.server.store, sessionTtlMs: 60_000 });
      const user = await auth.createUser({ email: 'spender@example.com', password: 'spender password 1', role: 'member' });
      const { key: k } = await auth.createApiKey(user.id, 'k');
      const ask = () =>
        fetch(`${b.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }] }),
        });
      expect((await ask()).status).toBe(200); // at 0.1 USD a token, this one spends the dollar
      const refused = await ask();
      expect(refused.status).toBe(429);
      const body = (await refused.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(/daily cost budget for your account \(1 USD\) is spent/);
      const nextDay = new Date();
      nextDay.setUTCHours(24, 0, 0, 0);
      expect(Number(refused.headers.get('retry-after'))).toBeCloseTo((nextDay.getTime() - Date.now()) / 1000, -2);
    } finally {
      await b.close();
    }
  });
});
