import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';
import type { AgentBudgets, ToolApprovalRequest } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore, type Store } from '../store';
import { createScriptedModel } from '../testing/scripted-model';
import { createApprovalGate, createApprovalSignals } from './approval-gate';
import { type AgentRunEvent, runAgent, type ToolCallRecord } from './run-agent';
import { type AgentTool, ToolRefusal } from './tool';
import { createCalculatorTool } from './tools/calculator';

const BUDGETS: AgentBudgets = { maxSteps: 6, maxSeconds: 20, maxTokens: 100_000 };
const context = {
  user: { id: 'u1', email: 'u@example.com', role: 'member' as const, orgId: 'org_default' },
  agent: { id: 'a1', slug: 'helper' },
  collectionIds: [],
  datasets: [],
};
const prompt = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'What is 6 times 7?' }] }];

/** A tool that waits `ms` (or until its signal aborts) and records when it started and how it ended. */
function slowTool(name: string, ms: number, log: string[]): AgentTool {
  return {
    name,
    description: 'waits',
    inputSchema: { type: 'object' },
    parse: (input) => input,
    needsApproval: false,
    execute: (_input, ctx) =>
      new Promise((resolve, reject) => {
        log.push(`${name} start`);
        const timer = setTimeout(() => {
          log.push(`${name} done`);
          resolve({ value: { waited: ms } });
        }, ms);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          log.push(`${name} aborted`);
          reject(new ToolRefusal('aborted'));
        });
      }),
  };
}

/** The tool results the planner was given in its last call. */
const toolResults = (options: LanguageModelV3CallOptions) =>
  options.prompt.flatMap((m) => (m.role === 'tool' ? m.content : [])).filter((p) => p.type === 'tool-result');

describe('the agent loop', () => {
  it('calls tools until the planner answers, feeding results back, and reports each step', async () => {
    const planner = createScriptedModel([{ toolCalls: [{ name: 'calculator', input: { expression: '6 * 7' } }] }, { text: 'It is 42.' }]);
    const events: AgentRunEvent[] = [];
    const records: ToolCallRecord[] = [];
    const result = await runAgent({
      model: planner,
      prompt,
      tools: [createCalculatorTool()],
      context,
      budgets: BUDGETS,
      signal: new AbortController().signal,
      onEvent: (e) => events.push(e),
      onToolCall: (r) => records.push(r),
    });
    expect(result.outcome).toBe('complete');
    expect(result.text).toBe('It is 42.');
    expect(result.steps).toHaveLength(1);
    expect(result.steps[0]).toMatchObject({ tool: 'calculator', status: 'ok', output: { result: '42' }, step: 1 });
    expect(planner.calls[0]?.tools?.map((t) => t.name)).toEqual(['calculator']);
    expect(toolResults(planner.calls[1] as LanguageModelV3CallOptions)[0]).toMatchObject({
      output: { type: 'json', value: { result: '42' } },
    });
    expect(events.map((e) => e.type)).toEqual(['tool-start', 'tool-end', 'text-delta']);
    expect(records).toEqual([expect.objectContaining({ tool: 'calculator', status: 'ok' })]);
  });

  it('runs the calls of one step in parallel', async () => {
    const log: string[] = [];
    const planner = createScriptedModel([
      {
        toolCalls: [
          { name: 'a', input: {} },
          { name: 'b', input: {} },
        ],
      },
      { text: 'done' },
    ]);
    const started = performance.now();
    const result = await runAgent({
      model: planner,
      prompt,
      tools: [slowTool('a', 300, log), slowTool('b', 300, log)],
      context,
      budgets: BUDGETS,
      signal: new AbortController().signal,
    });
    expect(result.steps.map((s) => s.status)).toEqual(['ok', 'ok']);
    // Both started before either finished, and the whole run took about one tool's time, not two.
    expect(log.slice(0, 2).sort()).toEqual(['a start', 'b start']);
    expect(performance.now() - started).toBeLessThan(550);
  });

  it('gives a tool error back to the planner and goes on', async () => {
    const failing: AgentTool = {
      name: 'lookup',
      description: 'fails',
      inputSchema: { type: 'object' },
      parse: (i) => i,
      needsApproval: false,
      execute: async () => {
        throw new Error('the backend is down');
      },
    };
    const planner = createScriptedModel([{ toolCalls: [{ name: 'lookup', input: { q: 1 } }] }, { text: 'The lookup failed, sorry.' }]);
    const result = await runAgent({
      model: planner,
      prompt,
      tools: [failing],
      context,
      budgets: BUDGETS,
      signal: new AbortController().signal,
    });
    expect(result.outcome).toBe('complete');
    expect(result.steps[0]).toMatchObject({ status: 'error', error: 'The tool failed: the backend is down' });
    expect(toolResults(planner.calls[1] as LanguageModelV3CallOptions)[0]).toMatchObject({
      output: { type: 'error-text', value: 'The tool failed: the backend is down' },
    });
  });

  it('refuses a tool that is not granted, and invalid input, without running anything', async () => {
    const planner = createScriptedModel([
      {
        toolCalls: [
          { name: 'fetch_url', input: { url: 'http://127.0.0.2/' } },
          { name: 'calculator', input: { expr: 1 } },
        ],
      },
      { text: 'ok' },
    ]);
    const result = await runAgent({
      model: planner,
      prompt,
      tools: [createCalculatorTool()],
      context,
      budgets: BUDGETS,
      signal: new AbortController().signal,
    });
    expect(result.steps.map((s) => [s.tool, s.status])).toEqual(
      expect.arrayContaining([
        ['fetch_url', 'refused'],
        ['calculator', 'error'],
      ]),
    );
  });

  it('stops at the step budget: the last call gets no tools, and a planner that asks anyway ends the run', async () => {
    const planner = createScriptedModel([{ toolCalls: [{ name: 'calculator', input: { expression: '1+1' } }] }]);
    const result = await runAgent({
      model: planner,
      prompt,
      tools: [createCalculatorTool()],
      context,
      budgets: { ...BUDGETS, maxSteps: 3 },
      signal: new AbortController().signal,
    });
    expect(result.outcome).toBe('max_steps');
    expect(planner.calls).toHaveLength(3);
    expect(planner.calls[2]?.tools).toBeUndefined();
    expect(result.steps).toHaveLength(2);
  });

  it('stops at the token budget', async () => {
    const planner = createScriptedModel([
      { toolCalls: [{ name: 'calculator', input: { expression: '2+2' } }], usage: { input: 400, output: 200 } },
    ]);
    const result = await runAgent({
      model: planner,
      prompt,
      tools: [createCalculatorTool()],
      context,
      budgets: { ...BUDGETS, maxTokens: 1000 },
      signal: new AbortController().signal,
    });
    expect(result.outcome).toBe('max_tokens');
    expect(planner.calls).toHaveLength(2);
    expect(result.usage).toEqual({ inputTokens: 800, outputTokens: 400 });
    expect(result.text).toContain('token budget');
  });

  it('stops at the time budget, aborting the running tool', async () => {
    const log: string[] = [];
    const planner = createScriptedModel([{ toolCalls: [{ name: 'slow', input: {} }] }, { text: 'never' }]);
    const started = performance.now();
    const result = await runAgent({
      model: planner,
      prompt,
      tools: [slowTool('slow', 10_000, log)],
      context,
      budgets: { ...BUDGETS, maxSeconds: 1 },
      signal: new AbortController().signal,
    });
    expect(result.outcome).toBe('max_time');
    expect(log).toEqual(['slow start', 'slow aborted']);
    expect(performance.now() - started).toBeLessThan(2500);
  });

  it('Stop mid-tool aborts the running tool at once and ends the run as stopped', async () => {
    const log: string[] = [];
    const planner = createScriptedModel([{ toolCalls: [{ name: 'slow', input: {} }] }, { text: 'never' }]);
    const stop = new AbortController();
    const events: AgentRunEvent[] = [];
    const running = runAgent({
      model: planner,
      prompt,
      tools: [slowTool('slow', 10_000, log)],
      context,
      budgets: BUDGETS,
      signal: stop.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'tool-start') setTimeout(() => stop.abort(new DOMException('Stop', 'AbortError')), 100);
      },
    });
    const started = performance.now();
    const result = await running;
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result.outcome).toBe('stopped');
    expect(result.steps[0]?.status).toBe('stopped');
    expect(log).toEqual(['slow start', 'slow aborted']);
    expect(planner.calls).toHaveLength(1);
  });

  it('fails the run when the planner fails', async () => {
    const planner = createScriptedModel([{ error: new Error('upstream 500') }]);
    const result = await runAgent({ model: planner, prompt, tools: [], context, budgets: BUDGETS, signal: new AbortController().signal });
    expect(result.outcome).toBe('error');
    expect((result.error as Error).message).toBe('upstream 500');
  });
});

describe('approvals of tools that change things', () => {
  let dir: string;
  let store: Store;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'axon-approvals-'));
    store = openSqliteStore({ path: join(dir, 'axon.db') });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const writeTool = (log: string[]): AgentTool => ({
    name: 'write_note',
    description: 'writes',
    inputSchema: { type: 'object' },
    parse: (i) => i,
    needsApproval: true,
    execute: async (input) => {
      log.push(`wrote ${JSON.stringify(input)}`);
      return { value: { ok: true } };
    },
  });

  async function runWithApproval(decide: (approval: ToolApprovalRequest) => Promise<void>, ttlMs = 5000) {
    const log: string[] = [];
    const signals = createApprovalSignals();
    const planner = createScriptedModel([{ toolCalls: [{ name: 'write_note', input: { text: 'hi' } }] }, { text: 'finished' }]);
    const result = await runAgent({
      model: planner,
      prompt,
      tools: [writeTool(log)],
      context,
      budgets: BUDGETS,
      signal: new AbortController().signal,
      approvals: createApprovalGate({
        approvals: store.toolApprovals,
        signals,
        owner: { orgId: 'org_default', userId: 'u1', agentId: 'a1', agentSlug: 'helper' },
        ttlMs,
        pollMs: 50,
      }),
      onEvent: (e) => {
        if (e.type === 'approval-requested') void decide(e.approval).then(() => signals.notify(e.approval.id));
      },
    });
    return { result, log };
  }

  it('runs the call once the user approves it; a second decision loses', async () => {
    let id = '';
    const { result, log } = await runWithApproval(async (approval) => {
      id = approval.id;
      expect(approval).toMatchObject({ tool: 'write_note', input: { text: 'hi' }, agent: 'helper' });
      const first = await store.toolApprovals.decide(approval.id, 'u1', 'approved', new Date());
      expect(first?.status).toBe('approved');
    });
    expect(result.steps[0]?.status).toBe('ok');
    expect(log).toEqual(['wrote {"text":"hi"}']);
    const second = await store.toolApprovals.decide(id, 'u1', 'denied', new Date());
    expect(second?.status).toBe('approved');
    // Another user cannot decide it, or see it.
    expect(await store.toolApprovals.decide(id, 'someone-else', 'approved', new Date())).toBeUndefined();
  });

  it('does not run the call when the user denies it', async () => {
    const { result, log } = await runWithApproval(async (approval) => {
      await store.toolApprovals.decide(approval.id, 'u1', 'denied', new Date());
    });
    expect(result.steps[0]).toMatchObject({ status: 'denied', error: 'The user denied this call.' });
    expect(log).toEqual([]);
    expect(result.text).toBe('finished');
  });

  it('expires a request nobody decides, and refuses a decision after that', async () => {
    let id = '';
    const { result, log } = await runWithApproval(async (approval) => {
      id = approval.id;
    }, 300);
    expect(result.steps[0]?.status).toBe('expired');
    expect(log).toEqual([]);
    expect((await store.toolApprovals.decide(id, 'u1', 'approved', new Date()))?.status).toBe('expired');
  });

  it('refuses a call that needs approval when nobody can give it (the /v1 case)', async () => {
    const log: string[] = [];
    const planner = createScriptedModel([{ toolCalls: [{ name: 'write_note', input: {} }] }, { text: 'ok' }]);
    const result = await runAgent({
      model: planner,
      prompt,
      tools: [writeTool(log)],
      context,
      budgets: BUDGETS,
      signal: new AbortController().signal,
    });
    expect(result.steps[0]?.status).toBe('denied');
    expect(log).toEqual([]);
  });
});
