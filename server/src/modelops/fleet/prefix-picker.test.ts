import { describe, expect, it } from 'vitest';
import type { EndpointView } from '../balance/types';
import { createPrefixAwarePicker, hashPrefixBlocks } from './prefix-picker';
import { createVllmMetricsScraper } from './vllm-metrics';

function buildEndpoints(n: number): EndpointView[] {
  return Array.from({ length: n }, (_, i) => ({ id: `r${i}`, weight: 1, outstanding: 0, ewmaMs: null, healthy: true }));
}

/** Distinct filler prose, about one token per word. */
function words(seed: string, count: number): string {
  return Array.from({ length: count }, (_, i) => `${seed}${i}`).join(' ');
}

const SYSTEM = `You are the support assistant of Acme. ${words('policy', 120)}\n`;

describe('hashPrefixBlocks', () => {
  it('chains blocks: the same block after a different prefix hashes differently, and a partial block is left out', () => {
    const a = hashPrefixBlocks([1, 2, 3, 4, 5, 6, 7], 2);
    const b = hashPrefixBlocks([9, 9, 3, 4, 5, 6], 2);
    expect(a).toHaveLength(3);
    expect(b).toHaveLength(3);
    expect(a[1]).not.toBe(b[1]);
    expect(hashPrefixBlocks([1, 2, 3, 4, 5, 6], 2)).toEqual(a);
  });
});

describe('createPrefixAwarePicker', () => {
  it('keeps a conversation on the replica that has its history', () => {
    const endpoints = buildEndpoints(4);
    const picker = createPrefixAwarePicker({ minMatchBlocks: 4 });
    let prompt = `${SYSTEM}user: ${words('question', 80)}\n`;
    const first = picker.pick(endpoints, { promptText: prompt });
    // The replica it went to is now a little busier than the others; the conversation stays.
    first.outstanding = 2;
    for (let turn = 0; turn < 5; turn++) {
      prompt += `assistant: ${words(`answer${turn}x`, 40)}\nuser: ${words(`follow${turn}y`, 30)}\n`;
      expect(picker.pick(endpoints, { promptText: prompt }).id).toBe(first.id);
    }
    expect(picker.matchBlocks(first.id, prompt)).toBeGreaterThan(10);
  });

  it('spreads conversations that share only a system prompt when that prompt is below minMatchBlocks', () => {
    const endpoints = buildEndpoints(4);
    const systemBlocks = picker_blocks(SYSTEM);
    const picker = createPrefixAwarePicker({ minMatchBlocks: systemBlocks + 4 });
    const counts = new Map<string, number>();
    for (let c = 0; c < 8; c++) {
      const chosen = picker.pick(endpoints, { promptText: `${SYSTEM}user: ${words(`topic${c}z`, 30)}\n` });
      chosen.outstanding++;
      counts.set(chosen.id, (counts.get(chosen.id) ?? 0) + 1);
    }
    expect([...counts.values()]).toEqual([2, 2, 2, 2]);
  });

  it('pins conversations to the system prompt’s replica when minMatchBlocks is below its length (why the knob exists)', () => {
    const endpoints = buildEndpoints(4);
    const picker = createPrefixAwarePicker({ minMatchBlocks: 1, imbalanceThreshold: 100 });
    const ids = new Set<string>();
    for (let c = 0; c < 8; c++) ids.add(picker.pick(endpoints, { promptText: `${SYSTEM}user: ${words(`topic${c}z`, 30)}\n` }).id);
    expect(ids.size).toBe(1);
  });

  it('sends a conversation elsewhere when its replica is busier than the least loaded by more than the threshold', () => {
    const endpoints = buildEndpoints(3);
    const picker = createPrefixAwarePicker({ minMatchBlocks: 2, imbalanceThreshold: 4 });
    const prompt = `${SYSTEM}user: ${words('long', 60)}\n`;
    const home = picker.pick(endpoints, { promptText: prompt });
    home.outstanding = 4;
    expect(picker.pick(endpoints, { promptText: prompt }).id).toBe(home.id);
    home.outstanding = 5;
    const diverted = picker.pick(endpoints, { promptText: prompt });
    expect(diverted.id).not.toBe(home.id);
    // The replica it was diverted to now holds the prefix as well.
    expect(picker.matchBlocks(diverted.id, prompt)).toBe(picker.matchBlocks(home.id, prompt));
  });

  it("weighs load by the replicas' own queues while their metrics are fresh, and falls back to outstanding counts once stale", async () => {
    const endpoints = buildEndpoints(2);
    let clock = 0;
    const waiting: Record<string, number> = { r0: 0, r1: 0 };
    const scraper = createVllmMetricsScraper({
      targets: endpoints.map((e) => ({ id: e.id, baseURL: `http://${e.id}.test:8000/v1` })),
      staleAfterMs: 3_000,
      now: () => clock,
      // The network edge: each replica's /metrics, by host.
      fetch: async (url) =>
        new Response(
          `vllm:num_requests_waiting ${waiting[new URL(String(url)).hostname.split('.')[0] as string]}\nvllm:num_requests_running 0\n`,
        ),
    });
    // Two pickers with the same history (ties go to the first replica): one asked while the figures
    // are fresh, one after they went stale.
    const options = { metrics: scraper, minMatchBlocks: 2, imbalanceThreshold: 4, random: () => 0 };
    const fresh = createPrefixAwarePicker(options);
    const stale = createPrefixAwarePicker(options);
    const prompt = `${SYSTEM}user: ${words('shared', 60)}\n`;
    expect(fresh.pick(endpoints, { promptText: prompt }).id).toBe('r0');
    expect(stale.pick(endpoints, { promptText: prompt }).id).toBe('r0');

    // Other clients fill r0's queue; the pool's own counts are all zero.
    waiting.r0 = 20;
    await scraper.scrapeOnce();
    expect(fresh.pick(endpoints, { promptText: prompt }).id).toBe('r1');

    clock = 10_000;
    expect(scraper.current('r0')).toBeUndefined();
    expect(stale.pick(endpoints, { promptText: prompt }).id).toBe('r0');
  });

  it("does not count the pool's own requests twice when a replica's figures lag behind", async () => {
    const endpoints = buildEndpoints(2);
    const [r0] = endpoints as [EndpointView, EndpointView];
    let queue = 0;
    const scraper = createVllmMetricsScraper({
      targets: [{ id: 'r0', baseURL: 'http://r0.test:8000/v1' }],
      fetch: async () => new Response(`vllm:num_requests_waiting 0\nvllm:num_requests_running ${queue}\n`),
    });
    const picker = createPrefixAwarePicker({ metrics: scraper, minMatchBlocks: 2, imbalanceThreshold: 4, random: () => 0 });
    const prompt = `${SYSTEM}user: ${words('lagging', 60)}\n`;
    expect(picker.pick(endpoints, { promptText: prompt }).id).toBe('r0');

    // Read while r0 ran six of the pool's requests and nobody else's: beyond the threshold, so a
    // new conversation goes to r1.
    r0.outstanding = 6;
    queue = 6;
    await scraper.scrapeOnce();
    expect(picker.pick(endpoints, { promptText: `${SYSTEM}user: ${words('fresh', 60)}\n` }).id).toBe('r1');

    // Four of them ended since; the replica's figures still say six, but those were the pool's own.
    r0.outstanding = 2;
    expect(picker.pick(endpoints, { promptText: prompt }).id).toBe('r0');
  });

  it("does not take the pool's requests that ended after a read for other clients' load", async () => {
    const endpoints = buildEndpoints(2);
    const [r0, r1] = endpoints as [EndpointView, EndpointView];
    let clock = 1_000;
    let queue = 0;
    const scraper = createVllmMetricsScraper({
      targets: [{ id: 'r0', baseURL: 'http://r0.test:8000/v1' }],
      now: () => clock,
      fetch: async () => new Response(`vllm:num_requests_waiting 0\nvllm:num_requests_running ${queue}\n`),
    });
    const picker = createPrefixAwarePicker({
      metrics: scraper,
      minMatchBlocks: 2,
      imbalanceThreshold: 4,
      random: () => 0,
      now: () => clock,
    });
    // The pool sends r0 its sixth request; the replica is read while it runs all six, nobody else's.
    r0.outstanding = 5;
    r1.outstanding = 6;
    // Prompts sharing nothing: the least loaded replica gets each.
    expect(picker.pick(endpoints, { promptText: `user: ${words('first', 60)}\n` }).id).toBe('r0');
    r0.outstanding = 6;
    clock = 1_010;
    queue = 6;
    await scraper.scrapeOnce();
    // Three of them end before the next pick; r1 still holds four. The read's six were the pool's own.
    clock = 1_020;
    r0.outstanding = 3;
    r1.outstanding = 4;
    expect(picker.pick(endpoints, { promptText: `user: ${words('second', 60)}\n` }).id).toBe('r0');
  });

  it('prefers healthy replicas, and weighs load per unit of weight', () => {
    const endpoints = buildEndpoints(2);
    const [r0, r1] = endpoints as [EndpointView, EndpointView];
    const picker = createPrefixAwarePicker();
    r0.healthy = false;
    expect(picker.pick(endpoints, { promptText: 'hello' }).id).toBe('r1');
    r0.healthy = true;
    r0.weight = 4;
    r0.outstanding = 6;
    r1.outstanding = 2;
    expect(picker.pick(endpoints, { promptText: 'hello again' }).id).toBe('r0');
  });

  it('reads no more than maxPromptTokens of a prompt', () => {
    const seen: number[] = [];
    const picker = createPrefixAwarePicker({
      maxPromptTokens: 64,
      tokenize: (text, max) => {
        seen.push(max);
        return Array.from(text.slice(0, max), (ch) => ch.charCodeAt(0));
      },
    });
    const endpoints = buildEndpoints(1);
    picker.pick(endpoints, { promptText: 'x'.repeat(10_000) });
    expect(seen).toEqual([64]);
    expect(picker.matchBlocks('r0', 'x'.repeat(10_000))).toBe(4);
  });
});

/** Blocks of 16 tokens in a text, counted with the picker's own tokenizer by probing. */
function picker_blocks(text: string): number {
  const probe = createPrefixAwarePicker({ minMatchBlocks: 1 });
  probe.pick(buildEndpoints(1), { promptText: text });
  return probe.matchBlocks('r0', text);
}
