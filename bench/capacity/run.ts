/**
 * Capacity of one replica: how much CPU open streams cost and when they start to slow new answers.
 * One Axon process (SQLite, the enterprise controls on as `axon serve` has them) holds N streams
 * open through `/v1` on an upstream at a model's pace (a token every 50 ms); with them open, 20
 * probe requests one at a time to a fast model measure the time to first token a new answer gets,
 * and Axon's own CPU (its process's user + system time) is read over the probes' window. For
 * sizing: the streams a replica holds at the HPA's CPU target, and a threshold for the keda
 * component's `axon_active_streams` trigger.
 *
 *   npm run bench -- --only=capacity
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../server/src/testing/processes';
import { percentile, runLoad } from '../src/load';
import { printTable, rssMb, startProcess, stopProcess } from '../src/processes';

const ROOT = join(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const AXON = join(ROOT, 'server/bin/axon.mjs');
const LEVELS = [0, 100, 200, 400, 800];
/** Each held stream: 300 tokens at 50 ms, 15 s; the probes run while all are open. */
const HELD = { tokens: 300, delayMs: 50 };
const PROBES = 20;
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) the process has used. */
function cpuSeconds(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export async function runCapacity(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'axon-bench-capacity-'));
  const ports = { fast: await freePort(), paced: await freePort(), axon: await freePort() };
  const configFile = join(dataDir, 'axon.config.yaml');
  writeFileSync(
    configFile,
    [
      'connections:',
      '  - name: sim',
      `    baseURL: http://127.0.0.1:${ports.fast}/v1`,
      '  - name: paced',
      `    baseURL: http://127.0.0.1:${ports.paced}/v1`,
    ].join('\n'),
  );
  const env = {
    AXON_DATA_DIR: dataDir,
    AXON_CONFIG: configFile,
    PORT: String(ports.axon),
    NODE_ENV: 'production',
    AXON_USER_STREAMS: '100000',
    AXON_USER_RPM: '1000000000',
    AXON_USER_TPM: '1000000000000',
  };
  execFileSync('node', [AXON, 'user', 'create', '--email', 'bench@example.com', '--password', 'bench password', '--role', 'admin'], {
    env: { ...process.env, ...env },
  });
  const key = execFileSync(
    'node',
    [AXON, 'keys', 'create', '--user', 'bench@example.com', '--name', 'bench', '--rpm', '1000000000', '--tpm', '1000000000'],
    { env: { ...process.env, ...env } },
  )
    .toString()
    .trim()
    .split('\n')
    .at(-1) as string;
  const children = [];
  try {
    children.push(
      await startProcess(
        'fast upstream',
        TSX,
        [join(ROOT, 'bench/src/serve-upstream.ts'), '--port', String(ports.fast), '--tokens', '64', '--delay', '0'],
        { readyUrl: `http://127.0.0.1:${ports.fast}/v1/models` },
      ),
    );
    children.push(
      await startProcess(
        'paced upstream',
        TSX,
        [
          join(ROOT, 'bench/src/serve-upstream.ts'),
          '--port',
          String(ports.paced),
          '--tokens',
          String(HELD.tokens),
          '--delay',
          String(HELD.delayMs),
        ],
        { readyUrl: `http://127.0.0.1:${ports.paced}/v1/models` },
      ),
    );
    const axon = await startProcess('axon', 'node', [AXON, 'serve'], { env, readyUrl: `http://127.0.0.1:${ports.axon}/readyz` });
    children.push(axon);
    const target = (model: string) => ({
      name: model,
      url: `http://127.0.0.1:${ports.axon}/v1/chat/completions`,
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Write.' }], stream: true }),
      stream: true,
    });
    const probe = target('sim/sim-1');
    // Warm-up: every path optimised before anything is timed.
    await runLoad(probe, { concurrency: 8, count: 2000, maxMs: 20_000 });
    await runLoad(target('paced/sim-1'), { concurrency: 50, count: 50, maxMs: 30_000 });

    const rows: Array<Record<string, string | number>> = [];
    for (const streams of LEVELS) {
      let open = 0;
      let peak = 0;
      const held =
        streams > 0
          ? runLoad(target('paced/sim-1'), {
              concurrency: streams,
              count: streams,
              maxMs: 60_000,
              onStream: (opened) => {
                open += opened ? 1 : -1;
                peak = Math.max(peak, open);
              },
            })
          : Promise.resolve(undefined);
      // Probes start once every held stream streams.
      const waitUntil = Date.now() + 10_000;
      while (open < streams && Date.now() < waitUntil) await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const cpuBefore = cpuSeconds(axon.pid);
      const started = performance.now();
      const probes = await runLoad(probe, { concurrency: 1, count: PROBES, maxMs: 10_000 });
      // A second's more of held streams alone, so that the CPU figure is over a long enough window.
      const probeMs = performance.now() - started;
      if (probeMs < 2000) await new Promise((resolve) => setTimeout(resolve, 2000 - probeMs));
      const cpu = (cpuSeconds(axon.pid) - cpuBefore) / ((performance.now() - started) / 1000);
      const openDuring = open;
      const rss = rssMb(axon.pid);
      const result = await held;
      rows.push({
        'open streams': openDuring,
        'axon CPU (% of one core)': Math.round(cpu * 100),
        'probe ttft p50 ms': percentile(probes.ttft, 50),
        'probe ttft p99 ms': percentile(probes.ttft, 99),
        'rss MB': Math.round(rss),
        'held streams completed / errors': result ? `${result.requests - result.errors} / ${result.errors}` : '',
      });
      console.error(`capacity: ${streams} streams done`);
    }
    console.log(
      '\n## Capacity of one replica: open streams (a token every 50 ms each) against CPU and a new answer’s time to first token\n',
    );
    printTable(rows);
  } finally {
    for (const child of children.reverse()) await stopProcess(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
