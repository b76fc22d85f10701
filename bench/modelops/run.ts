/**
 * Model-ops overhead: what an alias adds to a `/v1/chat/completions` call over naming the model
 * itself. One Axon, one simulated upstream (256 tokens, as fast as it can), and an alias `bench`
 * of three versions split by weight (sticky per request, so all three serve), each listing two
 * endpoints (so the pools' breakers and health checks run), with the exact response cache on.
 * Every request is distinct, so every lookup misses and every answer is stored. `bench-nocache`
 * is the same alias without the cache, which tells the cache's share from the routing's.
 *
 * Concurrency 1, bounded request loops on loopback, targets interleaved in rounds so that machine
 * noise hits them alike. `--cpu-prof` writes a CPU profile of Axon under the loop to `--prof-dir`
 * (default: a new folder under the system's temporary directory).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LoadResult, type LoadTarget, mergeResults, percentile, runLoad } from '../src/load';
import { printTable, startProcess, stopProcess } from '../src/processes';

const ROOT = join(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const AXON = join(ROOT, 'server/bin/axon.mjs');
const PORTS = { upstream: 18721, axon: 18722 };
const quick = process.argv.includes('--quick');
const cpuProf = process.argv.includes('--cpu-prof');
const ROUNDS = quick ? 3 : 6;
/** Requests per target and round. */
const PER_ROUND = quick ? 200 : 500;

/** Three versions on the simulated upstream, each on two connections to it. */
function aliasOf(cache: boolean) {
  const endpoints = [{ connection: 'sim' }, { connection: 'sim-b' }];
  return {
    versions: [
      { model: 'sim/sim-1', endpoints },
      { model: 'sim/sim-2', endpoints },
      { model: 'sim/sim-1', params: { temperature: 0.5 }, endpoints },
    ],
    policy: {
      type: 'weighted',
      split: [
        { version: 1, weight: 50 },
        { version: 2, weight: 30 },
        { version: 3, weight: 20 },
      ],
      sticky: 'request',
    },
    ...(cache ? { cache: { exact: true } } : {}),
  };
}

export async function runModelOpsOverhead(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'axon-bench-modelops-'));
  const profDir = process.argv.find((a) => a.startsWith('--prof-dir='))?.slice(11) ?? join(tmpdir(), `axon-modelops-prof-${process.pid}`);
  const configFile = join(dataDir, 'axon.config.yaml');
  const upstreamURL = `http://127.0.0.1:${PORTS.upstream}/v1`;
  // JSON is YAML.
  writeFileSync(
    configFile,
    JSON.stringify(
      {
        connections: [
          { name: 'sim', baseURL: upstreamURL },
          { name: 'sim-b', baseURL: upstreamURL },
        ],
        aliases: { bench: aliasOf(true), 'bench-nocache': aliasOf(false) },
      },
      null,
      2,
    ),
  );
  const env = {
    AXON_DATA_DIR: dataDir,
    AXON_CONFIG: configFile,
    PORT: String(PORTS.axon),
    NODE_ENV: 'production',
    AXON_USER_RPM: '0',
    AXON_USER_TPM: '0',
    AXON_USER_STREAMS: '0',
    AXON_PROMPT_LOG: 'off',
    // Stops at once when asked, so that a CPU profile is written before the stop turns into a kill.
    AXON_SHUTDOWN_GRACE_MS: '100',
  };
  const cli = (args: string[]) => execFileSync('node', [AXON, ...args], { env: { ...process.env, ...env } }).toString();
  cli(['user', 'create', '--email', 'bench@example.com', '--password', 'bench password', '--role', 'admin']);
  const key = cli(['keys', 'create', '--user', 'bench@example.com', '--name', 'bench', '--rpm', '1000000000', '--tpm', '1000000000'])
    .trim()
    .split('\n')
    .at(-1) as string;

  const children = [];
  try {
    children.push(
      await startProcess(
        'upstream',
        TSX,
        [join(ROOT, 'bench/src/serve-upstream.ts'), '--port', String(PORTS.upstream), '--tokens', '256', '--delay', '0'],
        { readyUrl: `${upstreamURL}/models` },
      ),
    );
    if (cpuProf) mkdirSync(profDir, { recursive: true });
    children.push(
      await startProcess('axon', 'node', [...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), AXON, 'serve'], {
        env,
        readyUrl: `http://127.0.0.1:${PORTS.axon}/readyz`,
      }),
    );

    // Distinct requests: a counter per target in the question, so no answer is ever a cache hit.
    let serial = 0;
    const target = (name: string, model: string, stream: boolean): LoadTarget => {
      const bodyOf = () =>
        JSON.stringify({
          model,
          messages: [{ role: 'user', content: `Write 256 tokens. Request ${serial++}.` }],
          ...(stream ? { stream } : {}),
        });
      return {
        name,
        url: `http://127.0.0.1:${PORTS.axon}/v1/chat/completions`,
        headers: { authorization: `Bearer ${key}` },
        body: bodyOf(),
        stream,
        request: () => ({ url: `http://127.0.0.1:${PORTS.axon}/v1/chat/completions`, body: bodyOf() }),
      };
    };
    const pairs = [
      { mode: 'json', plain: target('plain (json)', 'sim/sim-1', false), alias: target('alias (json)', 'bench', false) },
      { mode: 'stream', plain: target('plain (stream)', 'sim/sim-1', true), alias: target('alias (stream)', 'bench', true) },
      { mode: 'json, no cache', plain: undefined, alias: target('alias, no cache (json)', 'bench-nocache', false) },
      { mode: 'stream, no cache', plain: undefined, alias: target('alias, no cache (stream)', 'bench-nocache', true) },
    ];
    const targets = pairs.flatMap((p) => (p.plain ? [p.plain, p.alias] : [p.alias]));

    // Warm up every path (JIT, sockets, the alias cache, the pools).
    for (const t of targets) {
      const warm = await runLoad(t, { concurrency: 4, count: 300, maxMs: 15_000 });
      if (warm.errors > 0) throw new Error(`${t.name}: ${warm.errors} errors while warming up, first: ${warm.firstError}`);
    }

    const results = new Map<string, LoadResult[]>();
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order, so that neither side of a pair always runs first.
      for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
        const r = await runLoad(t, { concurrency: 1, count: PER_ROUND, maxMs: 30_000 });
        results.set(t.name, [...(results.get(t.name) ?? []), r]);
      }
    }
    const merged = new Map([...results].map(([name, rs]) => [name, mergeResults(rs)]));
    const row = (t: LoadTarget, baseline: LoadTarget | undefined) => {
      const r = merged.get(t.name) as LoadResult;
      const b = baseline ? (merged.get(baseline.name) as LoadResult) : undefined;
      if (r.firstError) console.error(`${t.name}: first error: ${r.firstError}`);
      const p = (values: number[], q: number) => percentile(values, q);
      return {
        target: t.name,
        requests: r.requests,
        errors: r.errors,
        // Non-streaming: the whole answer; streaming: the first token.
        [t.stream ? 'TTFT p50 ms' : 'latency p50 ms']: p(r.ttft, 50),
        [t.stream ? 'TTFT p90 ms' : 'latency p90 ms']: p(r.ttft, 90),
        'added p50 ms': b ? p(r.ttft, 50) - p(b.ttft, 50) : '',
        'added p90 ms': b ? p(r.ttft, 90) - p(b.ttft, 90) : '',
      };
    };
    const plainOf = (mode: string) => pairs.find((p) => p.mode === mode.replace(', no cache', ''))?.plain;
    const json = pairs
      .filter((p) => !p.alias.stream)
      .flatMap((p) => [...(p.plain ? [row(p.plain, undefined)] : []), row(p.alias, plainOf(p.mode))]);
    const stream = pairs
      .filter((p) => p.alias.stream)
      .flatMap((p) => [...(p.plain ? [row(p.plain, undefined)] : []), row(p.alias, plainOf(p.mode))]);

    console.log(
      '\n## Model-ops overhead at concurrency 1: an alias of three weighted versions (two endpoints each, breakers and health checks), exact cache on (all misses), vs the plain model id\n',
    );
    printTable(json);
    console.log('');
    printTable(stream);
    const added = (name: string, baseline: string) =>
      percentile((merged.get(name) as LoadResult).ttft, 50) - percentile((merged.get(baseline) as LoadResult).ttft, 50);
    const goals = [
      { measure: 'alias added latency p50 (json)', value: added('alias (json)', 'plain (json)') },
      { measure: 'alias added TTFT p50 (stream)', value: added('alias (stream)', 'plain (stream)') },
    ].map((g) => ({
      ...g,
      value: `${g.value.toFixed(3)} ms`,
      target: '< 0.5 ms',
      result: Number.parseFloat(g.value.toFixed(3)) < 0.5 ? 'met' : 'MISSED',
    }));
    console.log('\n## Targets\n');
    printTable(goals);
  } finally {
    for (const child of children.reverse()) await stopProcess(child);
    if (cpuProf) console.error(`CPU profile of Axon in ${profDir}`);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runModelOpsOverhead();
