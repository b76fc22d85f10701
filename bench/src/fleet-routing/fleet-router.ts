/**
 * A small router in front of the simulated replicas: it keeps the pool's view of each endpoint
 * (outstanding requests), asks a picker where each chat completion goes, and proxies the request
 * there over HTTP, streaming the answer back. It stands in for Axon's endpoint pool until that pool
 * is reachable through the gateway; the pickers it runs are the same objects the pool calls.
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EndpointView, PrefixPicker } from '../../../server/src/modelops/balance/types';
import { createPrefixAwarePicker } from '../../../server/src/modelops/fleet/prefix-picker';
import { createVllmMetricsScraper, type VllmMetricsScraper } from '../../../server/src/modelops/fleet/vllm-metrics';
import { promptTextOf } from './simulated-vllm';

export type RoutingPolicy = 'random' | 'round-robin' | 'least-loaded' | 'prefix';

/** Whatever routes the benchmark's requests: the router below, or Axon (`axon-router.ts`). */
export interface FleetRouter {
  /** Its OpenAI-compatible base URL. */
  baseURL: string;
  /** The model (or alias) to name in requests. */
  model: string;
  /** Headers every request carries (an API key for Axon). */
  headers: Record<string, string>;
  close(): Promise<void>;
}

export interface PolicyOptions {
  /** For `prefix`: fewer matching blocks than this count as none. */
  minMatchBlocks?: number;
  imbalanceThreshold?: number;
  /** For `prefix`: read the replicas' `/metrics` (true by default); false balances on outstanding counts alone. */
  scrapeMetrics?: boolean;
}

/** The baselines, behind the same interface as the prefix-aware picker. */
function createBaselinePicker(policy: Exclude<RoutingPolicy, 'prefix'>): PrefixPicker {
  let next = 0;
  return {
    pick(candidates) {
      if (policy === 'random') return candidates[Math.floor(Math.random() * candidates.length)] as EndpointView;
      if (policy === 'round-robin') return candidates[next++ % candidates.length] as EndpointView;
      // Least outstanding, ties broken at random so equal replicas share the traffic.
      const least = Math.min(...candidates.map((c) => c.outstanding));
      const tied = candidates.filter((c) => c.outstanding === least);
      return tied[Math.floor(Math.random() * tied.length)] as EndpointView;
    },
  };
}

export async function startFleetRouter(replicaBaseURLs: string[], policy: RoutingPolicy, opts: PolicyOptions = {}): Promise<FleetRouter> {
  const endpoints: EndpointView[] = replicaBaseURLs.map((_, i) => ({
    id: `replica-${i}`,
    weight: 1,
    outstanding: 0,
    ewmaMs: null,
    healthy: true,
  }));
  const urlOf = new Map(endpoints.map((e, i) => [e.id, new URL(replicaBaseURLs[i] as string)]));
  let scraper: VllmMetricsScraper | undefined;
  let picker: PrefixPicker;
  if (policy === 'prefix') {
    const { scrapeMetrics = true, ...pickerOptions } = opts;
    if (scrapeMetrics) {
      scraper = createVllmMetricsScraper({ targets: endpoints.map((e, i) => ({ id: e.id, baseURL: replicaBaseURLs[i] as string })) });
      scraper.start();
    }
    picker = createPrefixAwarePicker({ metrics: scraper, ...pickerOptions });
  } else picker = createBaselinePicker(policy);
  const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404).end();
      return;
    }
    let raw = '';
    for await (const part of req) raw += part;
    let promptText: string;
    try {
      promptText = promptTextOf((JSON.parse(raw) as { messages?: [] }).messages);
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'body is not JSON', type: 'invalid_request_error' } }));
      return;
    }
    const endpoint = picker.pick(endpoints, { promptText });
    endpoint.outstanding++;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      endpoint.outstanding--;
    };
    const target = urlOf.get(endpoint.id) as URL;
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        path: '/v1/chat/completions',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(raw) },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'application/json' });
        answer.pipe(res);
        answer.on('end', settle);
        answer.on('close', settle);
      },
    );
    upstream.on('error', (error) => {
      settle();
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: error.message, type: 'upstream_error' } }));
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(raw);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    model: 'sim-llama',
    headers: {},
    close: () =>
      new Promise<void>((resolve) => {
        scraper?.stop();
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
