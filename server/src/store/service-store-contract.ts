import type { PromptLogRow } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import type { PromptLogRepository, PromptRepository, PromptVersionInput, UsageRecord, UsageRepository } from './service-store';

export interface ServiceStoreUnderTest {
  prompts: PromptRepository;
  usage: UsageRepository;
  promptLog: PromptLogRepository;
  /** Moves the clock the prompt templates are stamped with. */
  setNow(at: Date): void;
  /** Creates an organisation; returns its id. */
  createOrganization(slug: string): Promise<string>;
  /** Runs a statement on the store's database directly (as an operator would). */
  execute(sql: string): Promise<void>;
  close(): Promise<void>;
}

const version = (patch: Partial<PromptVersionInput> = {}): PromptVersionInput => ({
  system: 'You help customers of {{ company }}.',
  message: 'Question: {{ input }}',
  // Key order is kept as written.
  variables: [
    { name: 'company', type: 'string', required: true },
    { name: 'tier', type: 'string', required: false, default: 'standard' },
  ],
  note: '',
  createdBy: 'u_builder',
  ...patch,
});

let usageSeq = 0;
const buildUsage = (patch: Partial<UsageRecord> = {}): UsageRecord => ({
  at: '2030-01-01T10:00:00.000Z',
  orgId: 'org_default',
  userId: 'u_alice',
  userEmail: 'alice@example.com',
  apiKeyId: null,
  route: '/v1/chat/completions',
  model: 'sim/sim-1',
  status: 'complete',
  inputTokens: 10,
  outputTokens: 20,
  costUsd: 0.001,
  latencyMs: 100 + usageSeq++,
  ttftMs: 12.5,
  ...patch,
});

const buildLogRow = (patch: Partial<PromptLogRow> = {}): PromptLogRow => ({
  id: crypto.randomUUID(),
  at: '2030-01-01T10:00:00.000Z',
  orgId: 'org_default',
  mode: 'full',
  userId: 'u_alice',
  apiKeyId: 'k_1',
  route: '/v1/chat/completions',
  model: 'sim/sim-1',
  prompt: 'user: hello',
  response: 'hi there',
  status: 'complete',
  inputTokens: 3,
  outputTokens: 2,
  ...patch,
});

/** The assertions every store's prompt template, usage and prompt log repositories must pass, run once per implementation. */
export function describeServiceStoreContract(name: string, make: () => Promise<ServiceStoreUnderTest>): void {
  describe(`prompt template repository contract: ${name}`, () => {
    let s: ServiceStoreUnderTest;
    let otherOrg: string;
    beforeAll(async () => {
      s = await make();
      otherOrg = await s.createOrganization('prompts-other');
    });
    afterAll(() => s.close());

    it('creates a template with an active first version, found by id or name in its organisation only', async () => {
      s.setNow(new Date('2030-01-01T00:00:00.000Z'));
      const created = await s.prompts.create('org_default', { name: 'support', description: 'Tone', ...version() });
      expect(created).toEqual({
        id: expect.any(String),
        name: 'support',
        description: 'Tone',
        activeVersion: 1,
        latestVersion: 1,
        createdAt: '2030-01-01T00:00:00.000Z',
        updatedAt: '2030-01-01T00:00:00.000Z',
      });
      expect(await s.prompts.get('org_default', created.id)).toEqual(created);
      expect(await s.prompts.get('org_default', 'support')).toEqual(created);
      expect(await s.prompts.get(otherOrg, created.id)).toBeUndefined();
      expect(await s.prompts.get(otherOrg, 'support')).toBeUndefined();
      const first = await s.prompts.version(created.id, 1);
      expect(first).toEqual({ version: 1, ...version(), createdAt: '2030-01-01T00:00:00.000Z' });
      expect(JSON.stringify(first?.variables)).toBe(JSON.stringify(version().variables));
      expect(await s.prompts.version(created.id, 2)).toBeUndefined();
    });

    it('refuses a second template of the same name in an organisation, not in another one', async () => {
      await s.prompts.create('org_default', { name: 'unique-name', description: '', ...version() });
      const refused = await s.prompts.create('org_default', { name: 'unique-name', description: '', ...version() }).catch((e) => e);
      expect(AppError.isInstance(refused) && refused.code).toBe('conflict');
      const elsewhere = await s.prompts.create(otherOrg, { name: 'unique-name', description: '', ...version() });
      expect(elsewhere.name).toBe('unique-name');
      expect((await s.prompts.list(otherOrg)).map((t) => t.name)).toEqual(['unique-name']);
    });

    it('lists an organisation’s templates by name, by code point', async () => {
      const org = await s.createOrganization('prompts-order');
      for (const name of ['beta', 'Zeta', 'alpha', 'a-b']) await s.prompts.create(org, { name, description: '', ...version() });
      expect((await s.prompts.list(org)).map((t) => t.name)).toEqual(['Zeta', 'a-b', 'alpha', 'beta']);
    });

    it('numbers added versions, activates one only when asked, and lists them newest first', async () => {
      s.setNow(new Date('2030-02-01T00:00:00.000Z'));
      const template = await s.prompts.create('org_default', { name: 'versions', description: '', ...version() });
      s.setNow(new Date('2030-02-02T00:00:00.000Z'));
      const second = await s.prompts.addVersion(template.id, version({ system: 'v2', note: 'second' }), false);
      expect(second).toMatchObject({ version: 2, system: 'v2', note: 'second', createdAt: '2030-02-02T00:00:00.000Z' });
      expect(await s.prompts.get('org_default', template.id)).toMatchObject({
        activeVersion: 1,
        latestVersion: 2,
        updatedAt: '2030-02-02T00:00:00.000Z',
      });
      const third = await s.prompts.addVersion(template.id, version({ system: 'v3', createdBy: null }), true);
      expect(third).toMatchObject({ version: 3, createdBy: null });
      expect((await s.prompts.get('org_default', template.id))?.activeVersion).toBe(3);
      s.setNow(new Date('2030-02-03T00:00:00.000Z'));
      await s.prompts.activate(template.id, 2);
      expect(await s.prompts.get('org_default', template.id)).toMatchObject({ activeVersion: 2, updatedAt: '2030-02-03T00:00:00.000Z' });
      expect((await s.prompts.versions(template.id)).map((v) => [v.version, v.system])).toEqual([
        [3, 'v3'],
        [2, 'v2'],
        [1, version().system],
      ]);
    });

    it('gives versions added at once consecutive numbers', async () => {
      const template = await s.prompts.create('org_default', { name: 'concurrent', description: '', ...version() });
      const added = await Promise.all(
        Array.from({ length: 6 }, (_, i) => s.prompts.addVersion(template.id, version({ note: `n${i}` }), false)),
      );
      expect(added.map((v) => v.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7]);
      expect((await s.prompts.get('org_default', template.id))?.latestVersion).toBe(7);
    });

    it('keeps versions immutable, even to a statement run on the database', async () => {
      const template = await s.prompts.create('org_default', { name: 'immutable', description: '', ...version() });
      await expect(s.execute(`UPDATE prompt_template_versions SET note = 'changed' WHERE template_id = '${template.id}'`)).rejects.toThrow(
        /immutable/,
      );
      expect((await s.prompts.version(template.id, 1))?.note).toBe('');
    });
  });

  describe(`usage repository contract: ${name}`, () => {
    let s: ServiceStoreUnderTest;
    let acme: string;
    beforeAll(async () => {
      s = await make();
      acme = await s.createOrganization('acme');
      const rows: Array<Partial<UsageRecord>> = [
        { model: 'sim/sim-1', latencyMs: 300 },
        { model: 'sim/sim-1', latencyMs: 100, status: 'error', costUsd: 0 },
        { model: 'sim/sim-1', latencyMs: null },
        { model: 'Zed/model', userEmail: null, userId: null, at: '2030-01-02T23:59:59.999Z', latencyMs: 50 },
        { model: 'sim/sim-1', orgId: acme, userId: 'u_bob', userEmail: 'bob@acme.example', at: '2030-01-02T00:00:00.000Z' },
        { model: 'sim/sim-1', orgId: 'org_gone', userId: 'u_carol', userEmail: 'carol@gone.example', costUsd: 0.5 },
        // Outside the range asked below.
        { model: 'sim/sim-1', at: '2029-12-31T23:59:59.999Z', costUsd: 7 },
        { model: 'sim/sim-1', at: '2030-01-03T00:00:00.000Z', costUsd: 9 },
      ];
      for (const row of rows) s.usage.append(buildUsage(row));
    });
    afterAll(() => s.close());
    const range = { from: '2030-01-01T00:00:00.000Z', to: '2030-01-03T00:00:00.000Z' };

    it('totals rows appended just before, by model, ordered by code point, with sorted latencies', async () => {
      const totals = await s.usage.totals({ ...range, orgId: 'org_default', groupBy: 'model' });
      expect(totals).toEqual([
        { key: 'Zed/model', requests: 1, errors: 0, inputTokens: 10, outputTokens: 20, costUsd: 0.001, latenciesMs: [50] },
        {
          key: 'sim/sim-1',
          requests: 3,
          errors: 1,
          inputTokens: 30,
          outputTokens: 60,
          costUsd: expect.closeTo(0.002, 12),
          latenciesMs: [100, 300],
        },
      ]);
    });

    it('totals by user, UTC day and organisation, of one organisation or of all', async () => {
      const byUser = await s.usage.totals({ ...range, orgId: 'org_default', groupBy: 'user' });
      expect(byUser.map((r) => [r.key, r.requests])).toEqual([
        ['alice@example.com', 3],
        ['unknown', 1],
      ]);
      const byDay = await s.usage.totals({ ...range, orgId: null, groupBy: 'day' });
      expect(byDay.map((r) => [r.key, r.requests])).toEqual([
        ['2030-01-01', 4],
        ['2030-01-02', 2],
      ]);
      // An organisation that no longer exists has no slug: its rows come first, under no key.
      const byOrg = await s.usage.totals({ ...range, orgId: null, groupBy: 'organisation' });
      expect(byOrg.map((r) => [r.key, r.requests])).toEqual([
        [null, 1],
        ['acme', 1],
        ['default', 4],
      ]);
      expect(await s.usage.totals({ ...range, orgId: acme, groupBy: 'model' })).toEqual([
        expect.objectContaining({ key: 'sim/sim-1', requests: 1 }),
      ]);
      expect(
        await s.usage.totals({ from: '2031-01-01T00:00:00.000Z', to: '2032-01-01T00:00:00.000Z', orgId: null, groupBy: 'day' }),
      ).toEqual([]);
    });

    it('sums what a user or an organisation spent since an instant', async () => {
      expect(await s.usage.spentSince({ userId: 'u_alice' }, '2030-01-01T00:00:00.000Z')).toBeCloseTo(0.002 + 9, 9);
      expect(await s.usage.spentSince({ userId: 'u_alice' }, '2029-01-01T00:00:00.000Z')).toBeCloseTo(0.002 + 16, 9);
      expect(await s.usage.spentSince({ orgId: 'org_gone' }, '2030-01-01T00:00:00.000Z')).toBeCloseTo(0.5, 9);
      expect(await s.usage.spentSince({ userId: 'u_nobody' }, '2000-01-01T00:00:00.000Z')).toBe(0);
    });

    it('exports every row of the range as written, in the order written', async () => {
      const events = await s.usage.events({ ...range, orgId: null });
      expect(events.map((e) => e.at)).toEqual([
        '2030-01-01T10:00:00.000Z',
        '2030-01-01T10:00:00.000Z',
        '2030-01-01T10:00:00.000Z',
        '2030-01-02T23:59:59.999Z',
        '2030-01-02T00:00:00.000Z',
        '2030-01-01T10:00:00.000Z',
      ]);
      const ids = events.map((e) => e.id);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(events[1]).toEqual({ id: expect.any(Number), ...buildUsage({ latencyMs: 100, status: 'error', costUsd: 0 }) });
      expect(events[2]?.latencyMs).toBeNull();
      expect((await s.usage.events({ ...range, orgId: acme })).map((e) => e.userEmail)).toEqual(['bob@acme.example']);
    });

    it('writes a large batch whole at the next flush', async () => {
      const org = await s.createOrganization('bulk');
      for (let i = 0; i < 1234; i++) s.usage.append(buildUsage({ orgId: org, inputTokens: i }));
      await s.usage.flush();
      const events = await s.usage.events({ ...range, orgId: org });
      expect(events).toHaveLength(1234);
      expect(events.map((e) => e.inputTokens)).toEqual(Array.from({ length: 1234 }, (_, i) => i));
    });

    it('writes queued rows soon without a flush', async () => {
      s.usage.append(buildUsage({ orgId: 'org_timer' }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Deleted behind the repository's back: gone only if it was written already (reads flush first).
      await s.execute("DELETE FROM usage_events WHERE org_id = 'org_timer'");
      expect(await s.usage.events({ ...range, orgId: 'org_timer' })).toEqual([]);
    });
  });

  describe(`prompt log repository contract: ${name}`, () => {
    let s: ServiceStoreUnderTest;
    beforeAll(async () => {
      s = await make();
    });
    afterAll(() => s.close());

    it('keeps full rows as sent and redacts rows of redacted mode before they are written', async () => {
      const writer = s.promptLog.openWriter({ types: ['EMAIL', 'SECRET'], custom: [{ name: 'ticket', pattern: 'TCK-\\d{4}' }] });
      const org = 'org_redaction';
      const text =
        'mail planted.person@example.com, key sk-proj-Zq8Xw2Ev5Rt7Yu1Io3Pa6Sd9Fg4Hj0Kl, ticket TCK-1234, card 4111 1111 1111 1111';
      writer.add(buildLogRow({ orgId: org, mode: 'full', prompt: text, response: text, at: '2030-01-01T00:00:01.000Z' }));
      writer.add(buildLogRow({ orgId: org, mode: 'redacted', prompt: text, response: `echo ${text}`, at: '2030-01-01T00:00:02.000Z' }));
      await writer.flush();
      const [redacted, full] = await s.promptLog.list({ orgId: org, limit: 10 });
      expect(full).toMatchObject({ mode: 'full', prompt: text, response: text });
      expect(redacted?.mode).toBe('redacted');
      expect(redacted?.prompt).toBe('mail <EMAIL_1>, key <SECRET_1>, ticket <TICKET_1>, card 4111 1111 1111 1111');
      expect(redacted?.response).toBe('echo mail <EMAIL_1>, key <SECRET_1>, ticket <TICKET_1>, card 4111 1111 1111 1111');
      await writer.close();
    });

    it('lists an organisation’s rows newest first, before an instant, up to a limit', async () => {
      const writer = s.promptLog.openWriter({});
      const org = 'org_listing';
      const rows = [1, 2, 3, 4, 5].map((n) =>
        buildLogRow({
          orgId: org,
          at: `2030-01-0${n}T00:00:00.000Z`,
          prompt: `p${n}`,
          userId: n === 1 ? null : 'u_alice',
          inputTokens: null,
        }),
      );
      for (const row of rows) writer.add(row);
      writer.add(buildLogRow({ orgId: 'org_elsewhere' }));
      await writer.flush();
      const all = await s.promptLog.list({ orgId: org, limit: 10 });
      expect(all.map((r) => r.prompt)).toEqual(['p5', 'p4', 'p3', 'p2', 'p1']);
      expect(all.at(-1)).toEqual({ ...rows[0], inputTokens: null, userId: null });
      const page = await s.promptLog.list({ orgId: org, limit: 2 });
      expect(page.map((r) => r.prompt)).toEqual(['p5', 'p4']);
      const next = await s.promptLog.list({ orgId: org, before: page.at(-1)?.at, limit: 2 });
      expect(next.map((r) => r.prompt)).toEqual(['p3', 'p2']);
      await writer.close();
    });

    it('deletes rows older than an instant, and says how many', async () => {
      const writer = s.promptLog.openWriter({});
      writer.add(buildLogRow({ orgId: 'org_prune', at: '2020-01-01T00:00:00.000Z', prompt: 'old' }));
      writer.add(buildLogRow({ orgId: 'org_prune', at: '2020-06-01T00:00:00.000Z', prompt: 'older than the cut' }));
      writer.add(buildLogRow({ orgId: 'org_prune', at: '2021-01-01T00:00:00.000Z', prompt: 'kept' }));
      await writer.flush();
      expect(await s.promptLog.deleteBefore('2020-12-31T00:00:00.000Z')).toBe(2);
      expect((await s.promptLog.list({ orgId: 'org_prune', limit: 10 })).map((r) => r.prompt)).toEqual(['kept']);
      await writer.close();
    });

    it('writes what waits when a writer closes', async () => {
      const writer = s.promptLog.openWriter({});
      for (let i = 0; i < 300; i++) writer.add(buildLogRow({ orgId: 'org_closing', prompt: `row ${i}` }));
      await writer.close();
      expect(await s.promptLog.list({ orgId: 'org_closing', limit: 500 })).toHaveLength(300);
    });
  });
}
