import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createVllmMetricsScraper, metricsUrlFor, readReplicaMetrics } from './vllm-metrics';

const VLLM_TEXT = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 4.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.42
# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 12000.0
# HELP vllm:prefix_cache_hits_total Prefix cache hits, in terms of number of cached tokens.
# TYPE vllm:prefix_cache_hits_total counter
vllm:prefix_cache_hits_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 9000.0
vllm:time_to_first_token_seconds_bucket{le="0.001",model_name="m"} 0.0
`;

describe('readReplicaMetrics', () => {
  it("reads vLLM's current names", () => {
    expect(readReplicaMetrics(VLLM_TEXT, 5)).toEqual({
      waiting: 7,
      running: 4,
      kvCacheUsage: 0.42,
      prefixCacheHits: 9000,
      prefixCacheQueries: 12000,
      scrapedAt: 5,
      requestedAt: 5,
    });
  });

  it("reads vLLM's older cache usage name, sums counts over engines and takes the fullest cache", () => {
    const text = [
      'vllm:num_requests_running{engine="0"} 1',
      'vllm:num_requests_running{engine="1"} 2',
      'vllm:num_requests_waiting{engine="0"} 3',
      'vllm:num_requests_waiting{engine="1"} 4',
      'vllm:gpu_cache_usage_perc{engine="0"} 0.2',
      'vllm:gpu_cache_usage_perc{engine="1"} 0.9',
    ].join('\n');
    expect(readReplicaMetrics(text, 0)).toMatchObject({ waiting: 7, running: 3, kvCacheUsage: 0.9, prefixCacheHits: null });
  });

  it("reads SGLang's names", () => {
    const text =
      'sglang:num_queue_reqs{model_name="m"} 5\nsglang:num_running_reqs{model_name="m"} 8\nsglang:token_usage{model_name="m"} 0.75\n';
    expect(readReplicaMetrics(text, 0)).toMatchObject({ waiting: 5, running: 8, kvCacheUsage: 0.75, prefixCacheQueries: null });
  });

  it('is undefined for a server that is neither', () => {
    expect(readReplicaMetrics('process_open_fds 3\n', 0)).toBeUndefined();
  });
});

describe('metricsUrlFor', () => {
  it('puts /metrics beside /v1', () => {
    expect(metricsUrlFor('http://10.0.0.5:8000/v1')).toBe('http://10.0.0.5:8000/metrics');
    expect(metricsUrlFor('http://10.0.0.5:8000/v1/')).toBe('http://10.0.0.5:8000/metrics');
    expect(metricsUrlFor('http://gpu-a:8000')).toBe('http://gpu-a:8000/metrics');
  });
});

describe('createVllmMetricsScraper', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  /** A replica on loopback that serves `body()` at /metrics and records the paths asked for. */
  async function startReplica(body: () => string, status = 200) {
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(req.url === '/metrics' ? status : 404, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(req.url === '/metrics' ? body() : '');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, paths };
  }

  it('reads each replica over HTTP and serves the figures while fresh', async () => {
    let waiting = 7;
    const a = await startReplica(() => VLLM_TEXT.replace('} 7.0', `} ${waiting}`));
    const b = await startReplica(() => 'sglang:num_queue_reqs 1\nsglang:num_running_reqs 2\n');
    let clock = 1_000;
    const scraper = createVllmMetricsScraper({
      targets: [
        { id: 'a', baseURL: a.baseURL },
        { id: 'b', baseURL: b.baseURL },
      ],
      now: () => clock,
    });
    await scraper.scrapeOnce();
    expect(a.paths).toEqual(['/metrics']);
    expect(scraper.current('a')).toMatchObject({ waiting: 7, running: 4, scrapedAt: 1_000 });
    expect(scraper.current('b')).toMatchObject({ waiting: 1, running: 2 });

    waiting = 9;
    clock = 2_000;
    await scraper.scrapeOnce();
    expect(scraper.current('a')).toMatchObject({ waiting: 9, scrapedAt: 2_000 });
  });

  it('counts figures older than the staleness limit as absent', async () => {
    const a = await startReplica(() => VLLM_TEXT);
    let clock = 0;
    const scraper = createVllmMetricsScraper({ targets: [{ id: 'a', baseURL: a.baseURL }], staleAfterMs: 3_000, now: () => clock });
    await scraper.scrapeOnce();
    clock = 3_000;
    expect(scraper.current('a')).toBeDefined();
    clock = 3_001;
    expect(scraper.current('a')).toBeUndefined();
  });

  it('leaves a failing replica without figures and keeps reading the others', async () => {
    const broken = await startReplica(() => 'oops', 500);
    const good = await startReplica(() => VLLM_TEXT);
    const scraper = createVllmMetricsScraper({
      targets: [
        { id: 'broken', baseURL: broken.baseURL },
        { id: 'down', baseURL: 'http://127.0.0.1:1/v1' },
        { id: 'good', baseURL: good.baseURL },
      ],
    });
    await expect(scraper.scrapeOnce()).resolves.toBeUndefined();
    expect(scraper.current('broken')).toBeUndefined();
    expect(scraper.current('down')).toBeUndefined();
    expect(scraper.current('good')).toMatchObject({ waiting: 7 });
  });

  it('drops the figures of a removed target', async () => {
    const a = await startReplica(() => VLLM_TEXT);
    const scraper = createVllmMetricsScraper({ targets: [{ id: 'a', baseURL: a.baseURL }] });
    await scraper.scrapeOnce();
    scraper.setTargets([]);
    expect(scraper.current('a')).toBeUndefined();
    await scraper.scrapeOnce();
    expect(a.paths).toHaveLength(1);
  });

  it('reads on its own once started, and stops', async () => {
    const a = await startReplica(() => VLLM_TEXT);
    const scraper = createVllmMetricsScraper({ targets: [{ id: 'a', baseURL: a.baseURL }], intervalMs: 20 });
    scraper.start();
    scraper.start();
    await vi.waitFor(() => expect(a.paths.length).toBeGreaterThanOrEqual(3));
    scraper.stop();
    expect(scraper.current('a')).toMatchObject({ running: 4 });
    const asked = a.paths.length;
    await new Promise((r) => setTimeout(r, 100));
    // At most one read that was already under way when stopped.
    expect(a.paths.length).toBeLessThanOrEqual(asked + 1);
  });
});
