import type { Conversation, ConversationWithMessages, FeedbackEvent, FeedbackSummary, MessageFeedback } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

let t: TestServer;
let admin: WebClient;
let member: WebClient;

beforeAll(async () => {
  t = await startTestServer({
    overrides: {
      'modelOps.controlIntervalMs': 0,
      aliases: {
        'rated-chat': { versions: [{ model: 'sim/sim-1' }], policy: { type: 'fixed', version: 1 } },
        'kept-chat': { versions: [{ model: 'sim/sim-1' }], policy: { type: 'fixed', version: 1 } },
      },
    },
  });
  admin = new WebClient(t.url);
  await admin.setup('admin@example.com', 'admin password 1');
  expect(
    (await admin.json('POST', '/api/admin/users', { email: 'm@example.com', password: 'member password 1', role: 'member' })).status,
  ).toBe(201);
  member = new WebClient(t.url);
  await member.login('m@example.com', 'member password 1');
});
afterAll(() => t.close());

/** A conversation of `client` with one answered question; returns it with its messages. */
async function answered(client: WebClient, model: string, answer: string) {
  t.upstream.set({ mode: 'ok', tokenDelayMs: 0, content: answer });
  const { body: c } = await client.json<Conversation>('POST', '/api/conversations', { model });
  const response = await client.request('POST', `/api/conversations/${c.id}/chat`, {
    trigger: 'submit-message',
    message: { id: 'q1', text: 'What is a bond?' },
  });
  expect(response.status).toBe(200);
  await response.text();
  return (await client.json<ConversationWithMessages>('GET', `/api/conversations/${c.id}`)).body;
}

describe('feedback on answers', () => {
  it('stores thumbs up or down with a comment, shows it on the thread, and lets the person change or withdraw it', async () => {
    const c = await answered(member, 'sim/sim-1', 'A bond is a loan.');
    const [question, answer] = c.messages;
    expect(answer?.feedback).toBeNull();

    const up = await member.json<MessageFeedback>('PUT', `/api/messages/${answer?.id}/feedback`, { value: 'up' });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ value: 'up', comment: null });
    const down = await member.json<MessageFeedback>('PUT', `/api/messages/${answer?.id}/feedback`, {
      value: 'down',
      comment: '  Too short.  ',
    });
    expect(down.body).toMatchObject({ value: 'down', comment: 'Too short.' });
    const shown = (await member.json<ConversationWithMessages>('GET', `/api/conversations/${c.id}`)).body;
    expect(shown.messages[1]?.feedback).toMatchObject({ value: 'down', comment: 'Too short.' });
    expect(shown.messages[0]?.feedback).toBeNull();

    // Only answers take feedback, and only in one's own conversations.
    expect((await member.json('PUT', `/api/messages/${question?.id}/feedback`, { value: 'up' })).status).toBe(404);
    expect((await admin.json('PUT', `/api/messages/${answer?.id}/feedback`, { value: 'up' })).status).toBe(404);
    expect((await member.json('PUT', `/api/messages/${answer?.id}/feedback`, { value: 'meh' })).status).toBe(400);
    expect((await member.json('PUT', `/api/messages/${answer?.id}/feedback`, { value: 'up', comment: 'x'.repeat(2001) })).status).toBe(400);

    expect((await member.request('DELETE', `/api/messages/${answer?.id}/feedback`)).status).toBe(204);
    expect((await member.request('DELETE', `/api/messages/${answer?.id}/feedback`)).status).toBe(404);
    expect((await member.json<ConversationWithMessages>('GET', `/api/conversations/${c.id}`)).body.messages[1]?.feedback).toBeNull();
  });

  it('counts feedback per model for the dashboard, with who gave it, and exports every row for experiments', async () => {
    const one = await answered(member, 'sim/sim-1', 'Yields rose.');
    const two = await answered(member, 'sim/sim-2', 'Yields fell.');
    const three = await answered(admin, 'sim/sim-2', 'Yields were flat.');
    await member.json('PUT', `/api/messages/${one.messages[1]?.id}/feedback`, { value: 'up', comment: 'Clear' });
    await member.json('PUT', `/api/messages/${two.messages[1]?.id}/feedback`, { value: 'down', comment: 'Wrong date' });
    await admin.json('PUT', `/api/messages/${three.messages[1]?.id}/feedback`, { value: 'down' });

    const { status, body } = await admin.json<FeedbackSummary>('GET', '/api/admin/feedback');
    expect(status).toBe(200);
    expect(body.totals).toEqual({ up: 1, down: 2 });
    expect(body.byModel).toEqual([
      { model: 'sim/sim-2', source: 'web', up: 0, down: 2 },
      { model: 'sim/sim-1', source: 'web', up: 1, down: 0 },
    ]);
    const wrong = body.recent.find((r) => r.comment === 'Wrong date');
    expect(wrong).toMatchObject({
      messageId: two.messages[1]?.id,
      conversationId: two.id,
      model: 'sim/sim-2',
      source: 'web',
      userEmail: 'm@example.com',
      value: 'down',
    });
    expect(wrong?.orgId).toBe('org_default');
    expect(body.recent[0]?.messageId).toBe(three.messages[1]?.id);

    // A period before any feedback is empty.
    const past = await admin.json<FeedbackSummary>('GET', '/api/admin/feedback?to=2020-01-01T00:00:00Z');
    expect(past.body.totals).toEqual({ up: 0, down: 0 });

    const exported = await admin.request('GET', '/api/admin/feedback/export');
    expect(exported.headers.get('content-type')).toContain('application/x-ndjson');
    const rows = (await exported.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as FeedbackEvent);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r.value)).toEqual(['up', 'down', 'down']);
    expect(Object.keys(rows[0] ?? {}).sort()).toEqual(
      [
        'comment',
        'conversationId',
        'createdAt',
        'messageId',
        'model',
        'orgId',
        'source',
        'updatedAt',
        'userEmail',
        'userId',
        'value',
      ].sort(),
    );

    // Members neither read nor export it; other organisations' feedback needs orgs:manage.
    expect((await member.json('GET', '/api/admin/feedback')).status).toBe(403);
    expect((await member.request('GET', '/api/admin/feedback/export')).status).toBe(403);
    expect((await admin.json<FeedbackSummary>('GET', '/api/admin/feedback?org=all')).body.totals).toEqual({ up: 1, down: 2 });
  });

  it('goes with the conversation when it is deleted', async () => {
    const c = await answered(member, 'sim/sim-1', 'Gone soon.');
    await member.json('PUT', `/api/messages/${c.messages[1]?.id}/feedback`, { value: 'up', comment: 'temporary' });
    const before = (await admin.json<FeedbackSummary>('GET', '/api/admin/feedback')).body;
    expect(before.recent.some((r) => r.comment === 'temporary')).toBe(true);
    expect((await member.request('DELETE', `/api/conversations/${c.id}`)).status).toBe(204);
    const after = (await admin.json<FeedbackSummary>('GET', '/api/admin/feedback')).body;
    expect(after.recent.some((r) => r.comment === 'temporary')).toBe(false);
  });

  it('counts feedback sent through POST /v1/feedback beside the web chat’s, as source api, with its comment, and exports it', async () => {
    const before = (await admin.json<FeedbackSummary>('GET', '/api/admin/feedback')).body;
    const key = (await member.json<{ key: string }>('POST', '/api/keys', { name: 'rater', scopes: ['chat'] })).body.key;
    t.upstream.set({ mode: 'ok', tokenDelayMs: 0, content: 'Coupons are interest.' });
    const completion = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'rated-chat', messages: [{ role: 'user', content: 'What is a coupon?' }] }),
    });
    expect(completion.status).toBe(200);
    const { id } = (await completion.json()) as { id: string };
    const rate = (body: unknown) =>
      fetch(`${t.url}/v1/feedback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await expect.poll(async () => (await rate({ response_id: id, value: 'up' })).status).toBe(200);
    expect((await rate({ response_id: id, value: 'down', comment: 'Says nothing of dates' })).status).toBe(200);
    // The same alias in the web chat: its thumbs count once, as the web chat's.
    const web = await answered(member, 'rated-chat', 'A coupon is a payment.');
    await member.json('PUT', `/api/messages/${web.messages[1]?.id}/feedback`, { value: 'up', comment: 'Good enough' });

    const { body } = await admin.json<FeedbackSummary>('GET', '/api/admin/feedback');
    expect(body.totals).toEqual({ up: before.totals.up + 1, down: before.totals.down + 1 });
    expect(body.byModel.filter((r) => r.model === 'rated-chat')).toEqual([
      { model: 'rated-chat', source: 'api', up: 0, down: 1 },
      { model: 'rated-chat', source: 'web', up: 1, down: 0 },
    ]);
    expect(body.recent.find((r) => r.messageId === id)).toEqual({
      messageId: id,
      conversationId: null,
      model: 'rated-chat',
      source: 'api',
      userId: expect.any(String),
      userEmail: 'm@example.com',
      orgId: 'org_default',
      value: 'down',
      comment: 'Says nothing of dates',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(body.recent.find((r) => r.messageId === web.messages[1]?.id)).toMatchObject({ source: 'web', comment: 'Good enough' });

    const exported = (await (await admin.request('GET', '/api/admin/feedback/export')).text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as FeedbackEvent);
    expect(exported.filter((r) => r.model === 'rated-chat').map((r) => [r.source, r.value, r.comment])).toEqual([
      ['api', 'down', 'Says nothing of dates'],
      ['web', 'up', 'Good enough'],
    ]);

    // Withdrawn through /v1, it leaves the dashboard.
    expect((await rate({ response_id: id, value: null })).status).toBe(200);
    const withdrawn = (await admin.json<FeedbackSummary>('GET', '/api/admin/feedback')).body;
    expect(withdrawn.byModel.filter((r) => r.model === 'rated-chat').map((r) => r.source)).toEqual(['web']);
  });

  it('keeps a web chat answer of an alias as source web once its conversation is deleted, and answers through /v1 as api', async () => {
    const key = (await member.json<{ key: string }>('POST', '/api/keys', { name: 'keeper', scopes: ['chat'] })).body.key;
    const v1 = (path: string, body: unknown) =>
      fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    t.upstream.set({ mode: 'ok', tokenDelayMs: 0, content: 'A yield is a return.' });
    // One answer through each /v1 route, each rated by its id.
    const answers = [
      await v1('/v1/chat/completions', { model: 'kept-chat', messages: [{ role: 'user', content: 'What is a yield?' }] }),
      await v1('/v1/responses', { model: 'kept-chat', input: 'What is a yield?' }),
      await v1('/v1/messages', { model: 'kept-chat', max_tokens: 64, messages: [{ role: 'user', content: 'What is a yield?' }] }),
    ];
    const ids: string[] = [];
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      const { id } = (await answer.json()) as { id: string };
      ids.push(id);
      await expect
        .poll(async () => (await v1('/v1/feedback', { response_id: id, value: 'up', comment: 'From a program' })).status)
        .toBe(200);
    }
    const web = await answered(member, 'kept-chat', 'A yield is what a bond pays.');
    const answerId = web.messages[1]?.id;
    await member.json('PUT', `/api/messages/${answerId}/feedback`, { value: 'down', comment: 'Rated in the chat' });
    // The alias's experiment counts the thumbs too, kept on the response it served.
    const thumbsDown = async () => {
      const alias = await t.server.modelOps.aliases.get('kept-chat');
      return alias && (await t.server.modelOps.describe(alias)).arms[0]?.thumbsDown;
    };
    await expect.poll(thumbsDown).toBe(1);
    expect((await member.request('DELETE', `/api/conversations/${web.id}`)).status).toBe(204);

    const { body } = await admin.json<FeedbackSummary>('GET', '/api/admin/feedback');
    expect(body.byModel.filter((r) => r.model === 'kept-chat')).toEqual([
      { model: 'kept-chat', source: 'api', up: 3, down: 0 },
      { model: 'kept-chat', source: 'web', up: 0, down: 1 },
    ]);
    expect(body.recent.find((r) => r.messageId === answerId)).toMatchObject({
      source: 'web',
      conversationId: null,
      model: 'kept-chat',
      value: 'down',
      comment: 'Rated in the chat',
    });
    for (const id of ids) expect(body.recent.find((r) => r.messageId === id)?.source).toBe('api');

    const exported = (await (await admin.request('GET', '/api/admin/feedback/export')).text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as FeedbackEvent);
    expect(exported.filter((r) => r.model === 'kept-chat').map((r) => [r.messageId, r.source, r.value])).toEqual([
      ...ids.map((id) => [id, 'api', 'up']),
      [answerId, 'web', 'down'],
    ]);
  });
});
