/**
 * Axon as the fleet's router: one `openai-compatible` connection per simulated replica, and an
 * alias `fleet-chat` whose single version lists every replica as an endpoint with the balance
 * strategy under test. Requests name the alias; Axon's endpoint pool picks the replica.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BalanceStrategy } from '../../../contracts/src/model-ops';
import { startProcess, stopProcess } from '../processes';
import type { FleetRouter, PolicyOptions, RoutingPolicy } from './fleet-router';

const ROOT = join(import.meta.dirname, '../../..');
const AXON = join(ROOT, 'server/bin/axon.mjs');
const ALIAS = 'fleet-chat';

/** The pool's strategy for each policy; round-robin is not one of the pool's. */
export const AXON_STRATEGY: Partial<Record<RoutingPolicy, BalanceStrategy>> = {
  random: 'weighted',
  'least-loaded': 'least-outstanding',
  prefix: 'prefix',
};

/** Whether some server module outside the pool's own folder builds endpoint pools (not tests). */
function poolIsWired(dir: string): boolean {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'balance' && poolIsWired(path)) return true;
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && readFileSync(path, 'utf8').includes('createEndpointPool('))
      return true;
  }
  return false;
}

/** What is missing for Axon to route an alias's requests through its endpoint pool, if anything. */
export function axonFleetRoutingMissing(): string | undefined {
  if (!existsSync(join(ROOT, 'server/src/modelops/balance/endpoint-pool.ts'))) return 'server/src/modelops/balance/endpoint-pool.ts';
  if (!/\baliases\b/.test(readFileSync(join(ROOT, 'server/src/config/config-schema.ts'), 'utf8')))
    return 'an `aliases` section in the config schema';
  if (!poolIsWired(join(ROOT, 'server/src')))
    return 'the endpoint pool built by the gateway for versions with endpoints (nothing calls createEndpointPool yet)';
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startAxonRouter(replicaBaseURLs: string[], policy: RoutingPolicy, opts: PolicyOptions): Promise<FleetRouter> {
  const strategy = AXON_STRATEGY[policy];
  if (!strategy) throw new Error(`Axon's endpoint pool has no ${policy} strategy`);
  const dataDir = mkdtempSync(join(tmpdir(), 'axon-fleet-'));
  const connections = replicaBaseURLs.map((baseURL, i) => ({ name: `fleet-${i}`, baseURL, models: [{ id: 'sim-llama' }] }));
  const config = {
    connections,
    aliases: {
      [ALIAS]: {
        versions: [
          {
            model: 'fleet-0/sim-llama',
            endpoints: connections.map((c) => ({ connection: c.name })),
            balance: strategy,
            // The same thresholds as the benchmark's own router runs with.
            ...(strategy === 'prefix' && (opts.minMatchBlocks !== undefined || opts.imbalanceThreshold !== undefined)
              ? {
                  prefixRouting: {
                    ...(opts.minMatchBlocks !== undefined ? { minMatchBlocks: opts.minMatchBlocks } : {}),
                    ...(opts.imbalanceThreshold !== undefined ? { imbalanceThreshold: opts.imbalanceThreshold } : {}),
                  },
                }
              : {}),
          },
        ],
        policy: { type: 'fixed', version: 1 },
      },
    },
  };
  // JSON is YAML.
  writeFileSync(join(dataDir, 'axon.config.yaml'), JSON.stringify(config, null, 2));
  const port = await freePort();
  const env = {
    AXON_DATA_DIR: dataDir,
    AXON_CONFIG: join(dataDir, 'axon.config.yaml'),
    PORT: String(port),
    NODE_ENV: 'production',
    AXON_USER_RPM: '0',
    AXON_USER_TPM: '0',
    AXON_USER_STREAMS: '0',
    AXON_PROMPT_LOG: 'off',
  };
  const cli = (args: string[]) => execFileSync('node', [AXON, ...args], { env: { ...process.env, ...env } }).toString();
  cli(['user', 'create', '--email', 'fleet@example.com', '--password', 'fleet bench password', '--role', 'admin']);
  const key = cli(['keys', 'create', '--user', 'fleet@example.com', '--name', 'fleet', '--rpm', '1000000000', '--tpm', '1000000000'])
    .trim()
    .split('\n')
    .at(-1) as string;
  const axon = await startProcess('axon', 'node', [AXON, 'serve'], { env, readyUrl: `http://127.0.0.1:${port}/readyz` });
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    model: ALIAS,
    headers: { authorization: `Bearer ${key}` },
    close: async () => {
      await stopProcess(axon);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
