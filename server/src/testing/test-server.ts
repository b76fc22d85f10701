import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type SimulatedUpstream, startSimulatedUpstream } from '@axon/bench/simulated-upstream';
import type { RouteOptions } from 'fastify';
import { loadConfig } from '../config';
import { createLogger } from '../observability/logger';
import { type AxonServer, createServer } from '../server';

export interface TestServer {
  url: string;
  server: AxonServer;
  upstream: SimulatedUpstream;
  dataDir: string;
  /** Every log line the server wrote, for assertions on what reaches the logs. */
  logs: string[];
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Config settings by path (`localModel.wordDelayMs`), over the test defaults. */
  overrides?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Serve this built web app (the browser tests use `web/dist`). */
  webDir?: string;
  /** More environment, given the simulated upstream's base URL (to point hosted providers at it). */
  upstreamEnv?: (upstreamUrl: string) => Record<string, string>;
  /** Told of every route as the app registers it. */
  onRoute?: (route: RouteOptions) => void;
  /** OpenAI-compatible connections besides `sim` (other simulated upstreams). */
  moreConnections?: Array<{ name: string; baseURL: string }>;
}

/**
 * A real Axon server on a loopback port with a fresh SQLite file, wired to a simulated
 * OpenAI-compatible upstream offered as the `sim` connection.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const upstream = await startSimulatedUpstream({ models: ['sim-1', 'sim-2'] });
  const dataDir = mkdtempSync(join(tmpdir(), 'axon-test-'));
  const config = loadConfig({
    env: { ...options.env, ...options.upstreamEnv?.(upstream.url) },
    cwd: dataDir,
    overrides: {
      port: 0,
      host: '127.0.0.1',
      dataDir,
      webDir: options.webDir ?? join(dataDir, 'no-web'),
      logLevel: 'info',
      connections: [{ name: 'sim', baseURL: upstream.url }, ...(options.moreConnections ?? [])],
      // Tests see the first question as the title unless they ask for made titles.
      conversationTitles: 'first-message',
      ...options.overrides,
    },
  });
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(String(chunk));
      callback();
    },
  });
  const server = await createServer(config, {
    logger: createLogger({ level: 'info', destination }),
    ...(options.onRoute ? { onRoute: options.onRoute } : {}),
  });
  const url = await server.listen();
  return {
    url,
    server,
    upstream,
    dataDir,
    logs,
    async close() {
      await server.shutdown();
      await upstream.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
