import { tokenText } from '@axon/bench/simulated-upstream';
import type { Conversation, ConversationWithMessages } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

let t: TestServer;
let admin: WebClient;

beforeAll(async () => {
  t = await startTestServer();
  admin = new WebClient(t.url);
  await admin.setup('admin@example.com', 'admin password 1');
});
afterAll(() => t.close());

interface UsageRows {
  rows: Array<{ key: string; requests: number; inputTokens: number; outputTokens: number }>;
}

describe('a stopped web chat answer', () => {
  it('is counted in the usage ledger with what was sent and what streamed', async () => {
    t.upstream.set({ mode: 'ok', tokens: 5000, tokenDelayMs: 5 });
    const { body: conversation } = await admin.json<Conversation>('POST', '/api/conversations', { model: 'sim/sim-2' });
    const stop = new AbortController();
    const response = await admin.request(
      'POST',
      `/api/conversations/${conversation.id}/chat`,
      { trigger: 'submit-message', message: { id: 'u1', text: 'Write a long essay about the bond market, please.' } },
      { signal: stop.signal },
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = '';
    while (!received.includes(tokenText(30))) received += new TextDecoder().decode((await reader.read()).value);
    stop.abort();
    await reader.cancel().catch(() => undefined);

    // The answer is saved as stopped with the text that streamed (at least the 31 tokens read).
    let saved: ConversationWithMessages['messages'][number] | undefined;
    await expect
      .poll(
        async () => {
          saved = (await admin.json<ConversationWithMessages>('GET', `/api/conversations/${conversation.id}`)).body.messages[1];
          return saved?.status;
        },
        { timeout: 10_000 },
      )
      .toBe('stopped');
    const streamedChars = saved?.content.length ?? 0;
    expect(saved?.content).toContain(tokenText(30));

    const { body } = await admin.json<UsageRows>('GET', '/api/admin/usage?groupBy=model');
    const row = body.rows.find((r) => r.key === 'sim/sim-2');
    expect(row?.requests).toBe(1);
    // About four characters a token for what streamed, and the prompt's tokens for what was sent.
    expect(row?.outputTokens).toBe(Math.ceil(streamedChars / 4));
    expect(row?.outputTokens).toBeGreaterThanOrEqual(30);
    expect(row?.inputTokens).toBeGreaterThanOrEqual(10);
  });
});
