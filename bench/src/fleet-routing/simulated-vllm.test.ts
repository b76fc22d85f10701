import { afterEach, describe, expect, it } from 'vitest';
import { createVllmMetricsScraper } from '../../../server/src/modelops/fleet/vllm-metrics';
import { startFleetRouter } from './fleet-router';
import { type SimulatedVllm, startSimulatedVllm } from './simulated-vllm';

const FAST = { slots: 2, blockTokens: 4, cacheBlocks: 64, prefillMsPerToken: 0, decodeMsPerToken: 0, defaultOutputTokens: 5 };

async function chat(baseURL: string, content: string): Promise<string[]> {
  const res = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sim-llama', stream: true, messages: [{ role: 'user', content }] }),
  });
  expect(res.status).toBe(200);
  return (await res.text())
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice(6));
}

describe('simulated vLLM replica', () => {
  const replicas: SimulatedVllm[] = [];
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.close()));
  });

  it("streams OpenAI chunks and reports its prefix cache in vLLM's metric names", async () => {
    const replica = await startSimulatedVllm(FAST);
    replicas.push(replica);
    const prompt = 'one two three four five six seven eight nine ten';
    const events = await chat(replica.baseURL, prompt);
    expect(events.at(-1)).toBe('[DONE]');
    const text = events
      .slice(0, -1)
      .map((e) => (JSON.parse(e) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
      .join('');
    expect(text.split(' ')).toHaveLength(5);

    // The same prompt again: its full blocks (11 words with "user:" → 2 blocks of 4) are cached.
    await chat(replica.baseURL, prompt);
    const scraper = createVllmMetricsScraper({ targets: [{ id: 'r', baseURL: replica.baseURL }] });
    await scraper.scrapeOnce();
    expect(scraper.current('r')).toMatchObject({ waiting: 0, running: 0, prefixCacheQueries: 22, prefixCacheHits: 8 });
  });

  it('routes a growing conversation to one replica under the prefix policy', async () => {
    const fleet = await Promise.all([startSimulatedVllm(FAST), startSimulatedVllm(FAST), startSimulatedVllm(FAST)]);
    replicas.push(...fleet);
    const router = await startFleetRouter(
      fleet.map((r) => r.baseURL),
      'prefix',
      { minMatchBlocks: 2 },
    );
    try {
      let prompt = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
      for (let turn = 0; turn < 4; turn++) {
        await chat(router.baseURL, prompt);
        prompt += ` and then turn ${turn} adds more words to the same conversation`;
      }
    } finally {
      await router.close();
    }
    expect(fleet.map((r) => r.stats().requests).sort()).toEqual([0, 0, 4]);
  });
});
