import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A port nobody listens on, on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on 127.0.0.1:`port`, or throws after `ms`. */
export async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
}

export function requireProgram(program: string, install: string): void {
  if (spawnSync(program, ['-v']).error) throw new Error(`${program} is needed here: ${install} (.ci/run installs it).`);
}

export interface ChildService {
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** A real redis-server on a free loopback port, keeping nothing on disk. */
export async function startRedisServer(): Promise<ChildService> {
  requireProgram('redis-server', 'apt-get install -y redis-server');
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await waitForPort(port);
  return { url: `redis://127.0.0.1:${port}`, port, child, stop: () => stopChild(child) };
}

/**
 * HAProxy on a free loopback port, sending requests round-robin to `backends` (ports on loopback),
 * with timeouts long enough for streamed answers and no buffering of them.
 */
export async function startRoundRobinProxy(backends: number[]): Promise<ChildService> {
  requireProgram('haproxy', 'apt-get install -y haproxy');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'axon-haproxy-'));
  const config = [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 120s',
    '  timeout server 120s',
    '  timeout http-keep-alive 1s',
    // One request per connection to the backend, so that round-robin applies to every request.
    '  option http-server-close',
    'frontend axon',
    `  bind 127.0.0.1:${port}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    ...backends.map((backend, i) => `  server r${i + 1} 127.0.0.1:${backend}`),
    '',
  ].join('\n');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-4000);
  });
  try {
    await waitForPort(port);
  } catch (error) {
    throw new Error(`haproxy did not start: ${stderr || (error as Error).message}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface AxonProcess extends ChildService {
  /** The last 8,000 characters it wrote to stderr (its log). */
  log(): string;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
}

const AXON = join(import.meta.dirname, '../../bin/axon.mjs');

/** `axon serve` as a child process with `env` on top of this one's; resolves once /readyz answers 200. */
export async function startAxonProcess(
  env: Record<string, string>,
  options: { port?: number; timeoutMs?: number } = {},
): Promise<AxonProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [AXON, 'serve'], {
    env: { ...process.env, AXON_FROM_SOURCE: '1', AXON_CONFIG: '', LOG_LEVEL: 'info', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + String(d)).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`axon exited with ${child.exitCode}: ${log}`);
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return { url, port, child, log: () => log, stop: () => stopChild(child), kill: () => stopChild(child, 'SIGKILL') };
    await new Promise((r) => setTimeout(r, 200));
  }
  await stopChild(child, 'SIGKILL');
  throw new Error(`axon did not become ready: ${log}`);
}
