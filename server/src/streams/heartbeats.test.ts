import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AnswerHeartbeat, HOME_ORG_ID, type MessageRepository, openSqliteStore, type Store } from '../store';
import { type AnswerHeartbeats, createAnswerHeartbeats } from './heartbeats';

const dir = mkdtempSync(join(tmpdir(), 'axon-heartbeats-'));
let opened = 0;
let store: Store;
let conversationId: string;
const running: AnswerHeartbeats[] = [];
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  store = await openSqliteStore({ path: join(dir, `axon-${++opened}.db`) });
  const user = await store.users.create({ email: `p${opened}@example.com`, passwordHash: null, role: 'member', orgId: HOME_ORG_ID });
  conversationId = (await store.conversations.create({ userId: user.id, title: 'A conversation', model: 'sim/sim-1' })).id;
});
afterEach(async () => {
  for (const heartbeats of running.splice(0)) await heartbeats.stop();
  await store.close();
});

const streamingAnswer = () =>
  store.messages.append({ conversationId, role: 'assistant', content: '', status: 'streaming', model: 'sim/sim-1' });
const contents = async () => (await store.messages.listByConversation(conversationId)).map((m) => m.content);

/** The store's messages, recording every `heartbeatMany` call (and failing while `failing` is set). */
function recorded(messages: MessageRepository) {
  const calls: AnswerHeartbeat[][] = [];
  const repository = {
    failing: false,
    calls,
    async heartbeatMany(entries: ReadonlyArray<AnswerHeartbeat>) {
      calls.push(entries.map((entry) => ({ ...entry })));
      if (repository.failing) throw new Error('the database is not reachable');
      await messages.heartbeatMany(entries);
    },
  };
  return repository;
}

function start(options: Omit<Parameters<typeof createAnswerHeartbeats>[0], 'intervalMs'> & { intervalMs?: number }) {
  const heartbeats = createAnswerHeartbeats({ intervalMs: 60_000, ...options });
  running.push(heartbeats);
  return heartbeats;
}

describe('answer heartbeats', () => {
  it("saves every live answer's text in one call; unchanged texts are only noted alive; removed answers are left alone", async () => {
    const messages = recorded(store.messages);
    const heartbeats = start({ messages });
    const [a, b, c] = [await streamingAnswer(), await streamingAnswer(), await streamingAnswer()];
    const texts: Record<string, string> = { [a.id]: 'The ', [b.id]: 'Oil ', [c.id]: 'Stocks ' };
    const removeA = heartbeats.add(a.id, () => texts[a.id] as string);
    heartbeats.add(b.id, () => texts[b.id] as string);
    const removeC = heartbeats.add(c.id, () => texts[c.id] as string);
    await heartbeats.beat();
    expect(messages.calls).toEqual([
      [
        { id: a.id, content: 'The ' },
        { id: b.id, content: 'Oil ' },
        { id: c.id, content: 'Stocks ' },
      ],
    ]);
    expect(await contents()).toEqual(['The ', 'Oil ', 'Stocks ']);

    texts[a.id] = 'The curve ';
    removeC();
    texts[c.id] = 'Stocks were flat';
    await heartbeats.beat();
    expect(messages.calls[1]).toEqual([{ id: a.id, content: 'The curve ' }, { id: b.id }]);
    expect(await contents()).toEqual(['The curve ', 'Oil ', 'Stocks ']);
    removeA();
    await heartbeats.beat();
    expect(messages.calls[2]).toEqual([{ id: b.id }]);
  });

  it('beats every interval, one at a time, and sends a text again after a beat that failed', async () => {
    const messages = recorded(store.messages);
    const errors: unknown[] = [];
    const heartbeats = start({ messages, intervalMs: 25, onError: (error) => errors.push(error) });
    const answer = await streamingAnswer();
    let text = 'partial';
    heartbeats.add(answer.id, () => text);
    messages.failing = true;
    await expect.poll(() => errors.length, { timeout: 2000 }).toBeGreaterThanOrEqual(1);
    messages.failing = false;
    await expect.poll(contents, { timeout: 2000 }).toEqual(['partial']);
    text = 'partial and more';
    await expect.poll(contents, { timeout: 2000 }).toEqual(['partial and more']);
    // Only the first beat after a change carries the text; the failed ones carried it each time.
    const withText = messages.calls.flat().filter((entry) => entry.content !== undefined);
    expect(withText.map((entry) => entry.content)).toEqual([...errors.map(() => 'partial'), 'partial', 'partial and more']);
    await heartbeats.stop();
    const calls = messages.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(messages.calls.length).toBe(calls);
  });

  it('a beat slower than the interval is not overlapped by the next', async () => {
    let inCall = 0;
    let most = 0;
    let calls = 0;
    const heartbeats = start({
      intervalMs: 10,
      messages: {
        async heartbeatMany() {
          calls++;
          most = Math.max(most, ++inCall);
          await new Promise((resolve) => setTimeout(resolve, 60));
          inCall--;
        },
      },
    });
    heartbeats.add('answer', () => 'text');
    await expect.poll(() => calls, { timeout: 2000 }).toBeGreaterThanOrEqual(3);
    expect(most).toBe(1);
  });

  it('writes a replica with more answers than a batch holds in several calls', async () => {
    const messages = recorded(store.messages);
    const heartbeats = start({ messages, batchSize: 2 });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await streamingAnswer());
    for (const [i, answer] of answers.entries()) heartbeats.add(answer.id, () => `text ${i}`);
    await heartbeats.beat();
    expect(messages.calls.map((call) => call.length)).toEqual([2, 2, 1]);
    expect(await contents()).toEqual(answers.map((_, i) => `text ${i}`));
  });
});
