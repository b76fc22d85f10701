import { tokenText } from '@axon/bench/simulated-upstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

let t: TestServer;
let admin: WebClient;
let key: string;

beforeAll(async () => {
  t = await startTestServer();
  admin = new WebClient(t.url);
  await admin.setup('admin@example.com', 'admin password 1');
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  const user = await auth.createUser({ email: 'agent@example.com', password: 'agent password 1', role: 'member' });
  key = (await auth.createApiKey(user.id, 'agents')).key;
});
afterAll(() => t.close());

interface UsageRows {
  rows: Array<{ key: string; requests: number; inputTokens: number; outputTokens: number }>;
}

describe('a stopped /v1/chat/completions stream', () => {
  it('is counted in the usage ledger, with the output estimated when the provider sent no usage', async () => {
    // A long, slow answer; the simulated upstream sends usage only in its last chunk, which never comes.
    t.upstream.set({ mode: 'ok', tokens: 5000, tokenDelayMs: 5 });
    const stop = new AbortController();
    const response = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'sim/sim-2',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'Write a long essay about the bond market, please.' }],
      }),
      signal: stop.signal,
    });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = '';
    while (!received.includes(tokenText(30))) received += new TextDecoder().decode((await reader.read()).value);
    expect(received).not.toContain('"usage":{');
    stop.abort();
    await reader.cancel().catch(() => undefined);

    let row: UsageRows['rows'][number] | undefined;
    await expect
      .poll(
        async () => {
          await t.server.store.usage.flush();
          const { body } = await admin.json<UsageRows>('GET', '/api/admin/usage?groupBy=model');
          row = body.rows.find((r) => r.key === 'sim/sim-2');
          return row?.requests ?? 0;
        },
        { timeout: 10_000 },
      )
      .toBe(1);
    // About four characters a token for what streamed (at least the 31 tokens read), and the prompt's
    // tokens for what was sent.
    expect(row?.outputTokens).toBeGreaterThanOrEqual(30);
    expect(row?.inputTokens).toBeGreaterThanOrEqual(10);
  });
});
