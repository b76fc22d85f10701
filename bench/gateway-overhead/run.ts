/**
 * Gateway overhead: the same client calls a simulated upstream (256 tokens, streamed as fast as it
 * can) directly, through a bare byte-piping relay (the floor for any process in the middle),
 * through Axon's /v1/chat/completions with an API key, and through the Portkey gateway
 * (non-streaming: its streaming through a custom host fails here). Targets are interleaved
 * in rounds, each round in its own order, so that machine noise hits them alike; the targets
 * table gives each ratio's range over the rounds as well. Prints one table per concurrency and Axon's memory.
 *
 * "axon" runs with the enterprise controls off (no rate limits, no prompt log); "axon, all on" runs
 * the same with rate limits (per user and per key, in memory or in a Redis on loopback; limits set
 * high enough never to refuse), the redacted prompt log, redacted log lines and metrics: the
 * difference is what those controls cost per request.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LoadResult, type LoadTarget, mergeResults, percentile, runLoad } from '../src/load';
import { printTable, rssMb, startProcess, stopProcess } from '../src/processes';

const ROOT = join(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const AXON = join(ROOT, 'server/bin/axon.mjs');
const PORTKEY = join(ROOT, 'node_modules/@portkey-ai/gateway/build/start-server.js');
const PORTS = {
  upstream: 18701,
  slowUpstream: 18702,
  axon: 18703,
  portkey: 18704,
  relay: 18705,
  axonOn: 18706,
  axonRedis: 18707,
  redis: 18708,
};
const quick = process.argv.includes('--quick');

/** A function tool sent with some requests (agent frameworks send one with every call). */
const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

const PLAN: Array<{ concurrency: number; count: number; rounds: number; maxMs: number }> = quick
  ? [
      { concurrency: 1, count: 100, rounds: 2, maxMs: 10_000 },
      { concurrency: 64, count: 500, rounds: 2, maxMs: 15_000 },
      { concurrency: 512, count: 1024, rounds: 1, maxMs: 30_000 },
    ]
  : [
      { concurrency: 1, count: 400, rounds: 3, maxMs: 20_000 },
      { concurrency: 64, count: 6000, rounds: 3, maxMs: 60_000 },
      { concurrency: 512, count: 4096, rounds: 2, maxMs: 60_000 },
    ];

export async function runGatewayOverhead(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'axon-bench-'));
  const configFile = join(dataDir, 'axon.config.yaml');
  writeFileSync(
    configFile,
    [
      'connections:',
      `  - name: sim`,
      `    baseURL: http://127.0.0.1:${PORTS.upstream}/v1`,
      `  - name: slow`,
      `    baseURL: http://127.0.0.1:${PORTS.slowUpstream}/v1`,
    ].join('\n'),
  );
  // OPENAI_BASE_URL points at the same simulated server (no key: it wants none), so the `openai/`
  // path and a `connections[]` server are measured side by side.
  const env = {
    AXON_DATA_DIR: dataDir,
    AXON_CONFIG: configFile,
    PORT: String(PORTS.axon),
    NODE_ENV: 'production',
    OPENAI_BASE_URL: `http://127.0.0.1:${PORTS.upstream}/v1`,
  };
  const off = { AXON_USER_RPM: '0', AXON_USER_TPM: '0', AXON_USER_STREAMS: '0', AXON_PROMPT_LOG: 'off' };
  const on = { AXON_USER_RPM: '1000000000', AXON_USER_TPM: '1000000000000', AXON_USER_STREAMS: '1000000', AXON_PROMPT_LOG: 'redacted' };
  execFileSync('node', [AXON, 'user', 'create', '--email', 'bench@example.com', '--password', 'bench password', '--role', 'admin'], {
    env: { ...process.env, ...env },
  });
  const key = execFileSync(
    'node',
    [AXON, 'keys', 'create', '--user', 'bench@example.com', '--name', 'bench', '--rpm', '1000000000', '--tpm', '1000000000'],
    {
      env: { ...process.env, ...env },
    },
  )
    .toString()
    .trim()
    .split('\n')
    .at(-1) as string;

  const children = [];
  try {
    const upstream = await startProcess(
      'upstream',
      TSX,
      [join(ROOT, 'bench/src/serve-upstream.ts'), '--port', String(PORTS.upstream), '--tokens', '256', '--delay', '0'],
      {
        readyUrl: `http://127.0.0.1:${PORTS.upstream}/v1/models`,
      },
    );
    children.push(upstream);
    const slow = await startProcess(
      'slow upstream',
      TSX,
      [join(ROOT, 'bench/src/serve-upstream.ts'), '--port', String(PORTS.slowUpstream), '--tokens', '256', '--delay', '20'],
      {
        readyUrl: `http://127.0.0.1:${PORTS.slowUpstream}/v1/models`,
      },
    );
    children.push(slow);
    const axon = await startProcess('axon', 'node', [AXON, 'serve'], {
      env: { ...env, ...off },
      readyUrl: `http://127.0.0.1:${PORTS.axon}/readyz`,
    });
    children.push(axon);
    const axonOn = await startProcess('axon, all on', 'node', [AXON, 'serve'], {
      env: { ...env, ...on, PORT: String(PORTS.axonOn) },
      readyUrl: `http://127.0.0.1:${PORTS.axonOn}/readyz`,
    });
    children.push(axonOn);
    const redis = spawn('redis-server', ['--port', String(PORTS.redis), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    children.push(redis);
    const axonRedis = await startProcess('axon, all on, Redis limits', 'node', [AXON, 'serve'], {
      env: { ...env, ...on, PORT: String(PORTS.axonRedis), REDIS_URL: `redis://127.0.0.1:${PORTS.redis}` },
      readyUrl: `http://127.0.0.1:${PORTS.axonRedis}/readyz`,
    });
    children.push(axonRedis);
    const relay = await startProcess(
      'bare relay',
      TSX,
      [join(ROOT, 'bench/src/bare-relay.ts'), '--port', String(PORTS.relay), '--upstream', `http://127.0.0.1:${PORTS.upstream}`],
      {
        readyUrl: `http://127.0.0.1:${PORTS.relay}/v1/models`,
      },
    );
    children.push(relay);
    const portkey = await startProcess('portkey', 'node', [PORTKEY, `--port=${PORTS.portkey}`], {
      readyUrl: `http://127.0.0.1:${PORTS.portkey}/`,
    });
    children.push(portkey);

    const messages = [{ role: 'user', content: 'Write 256 tokens.' }];
    const streamBody = JSON.stringify({ model: 'sim-1', messages, stream: true });
    const targets: LoadTarget[] = [
      {
        name: 'direct (stream)',
        url: `http://127.0.0.1:${PORTS.upstream}/v1/chat/completions`,
        headers: {},
        body: streamBody,
        stream: true,
      },
      {
        name: 'bare relay (stream)',
        url: `http://127.0.0.1:${PORTS.relay}/v1/chat/completions`,
        headers: {},
        body: streamBody,
        stream: true,
      },
      {
        name: 'axon (stream)',
        url: `http://127.0.0.1:${PORTS.axon}/v1/chat/completions`,
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'sim/sim-1', messages, stream: true }),
        stream: true,
      },
      {
        name: 'axon, OPENAI_BASE_URL (stream)',
        url: `http://127.0.0.1:${PORTS.axon}/v1/chat/completions`,
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'openai/sim-1', messages, stream: true }),
        stream: true,
      },
      {
        name: 'axon, tools (stream)',
        url: `http://127.0.0.1:${PORTS.axon}/v1/chat/completions`,
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'sim/sim-1', messages, stream: true, tools: [WEATHER_TOOL], tool_choice: 'auto' }),
        stream: true,
      },
      {
        name: 'axon, OPENAI_BASE_URL, tools (stream)',
        url: `http://127.0.0.1:${PORTS.axon}/v1/chat/completions`,
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'openai/sim-1', messages, stream: true, tools: [WEATHER_TOOL], tool_choice: 'auto' }),
        stream: true,
      },
      {
        name: 'direct (json)',
        url: `http://127.0.0.1:${PORTS.upstream}/v1/chat/completions`,
        headers: {},
        body: JSON.stringify({ model: 'sim-1', messages }),
        stream: false,
      },
      {
        name: 'axon (json)',
        url: `http://127.0.0.1:${PORTS.axon}/v1/chat/completions`,
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'sim/sim-1', messages }),
        stream: false,
      },
      {
        name: 'axon, OPENAI_BASE_URL (json)',
        url: `http://127.0.0.1:${PORTS.axon}/v1/chat/completions`,
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'openai/sim-1', messages }),
        stream: false,
      },
      {
        name: 'axon, tools (json)',
        url: `http://127.0.0.1:${PORTS.axon}/v1/chat/completions`,
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'sim/sim-1', messages, tools: [WEATHER_TOOL] }),
        stream: false,
      },
      {
        name: 'axon, OPENAI_BASE_URL, tools (json)',
        url: `http://127.0.0.1:${PORTS.axon}/v1/chat/completions`,
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'openai/sim-1', messages, tools: [WEATHER_TOOL] }),
        stream: false,
      },
      {
        name: 'axon, all on (json)',
        url: `http://127.0.0.1:${PORTS.axonOn}/v1/chat/completions`,
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'sim/sim-1', messages }),
        stream: false,
      },
      {
        name: 'axon, all on, Redis (json)',
        url: `http://127.0.0.1:${PORTS.axonRedis}/v1/chat/completions`,
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'sim/sim-1', messages }),
        stream: false,
      },
      {
        name: 'portkey (json)',
        url: `http://127.0.0.1:${PORTS.portkey}/v1/chat/completions`,
        headers: {
          'x-portkey-config': JSON.stringify({
            provider: 'openai',
            api_key: 'unused',
            custom_host: `http://127.0.0.1:${PORTS.upstream}/v1`,
          }),
        },
        body: JSON.stringify({ model: 'sim-1', messages }),
        stream: false,
      },
    ];

    // Warm up every path (JIT, connection pools, the model list cache). V8 optimises a function only
    // after many calls: after 200 requests a target's path still ran partly unoptimised (Axon's added
    // ttft p50 at concurrency 1 was twice what it is warm); 2,000 (about 2 s a target) make it steady.
    for (const target of targets) await runLoad(target, { concurrency: 8, count: quick ? 500 : 2000, maxMs: 15_000 });
    const idleRss = rssMb(axon.pid);
    const idle = await settleRss(axon.pid);

    let peakRss = idleRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssMb(axon.pid));
    }, 50);
    const summary: Array<Record<string, string | number>> = [];
    const controls: Array<Record<string, string | number>> = [];
    const goals: Array<Record<string, string | number>> = [];
    for (const step of PLAN) {
      const results = new Map<string, LoadResult[]>();
      for (let round = 0; round < step.rounds; round++) {
        // Each round in its own order (shuffled with a fixed seed, so runs compare), so that no target
        // always runs after the same one (after its own process's pause, or on the heels of another's load).
        for (const target of shuffled(targets, step.concurrency * 1000 + round)) {
          const result = await runLoad(target, {
            concurrency: step.concurrency,
            count: Math.ceil(step.count / step.rounds),
            maxMs: step.maxMs / step.rounds,
          });
          results.set(target.name, [...(results.get(target.name) ?? []), result]);
        }
      }
      const merged = new Map([...results].map(([name, rs]) => [name, mergeResults(rs)]));
      const rps = (r: LoadResult) => (r.requests - r.errors) / (r.elapsedMs / 1000);
      for (const target of targets) {
        const r = merged.get(target.name) as LoadResult;
        const baseline = merged.get(target.stream ? 'direct (stream)' : 'direct (json)') as LoadResult;
        const isBaseline = target.name.startsWith('direct');
        summary.push({
          concurrency: step.concurrency,
          target: target.name,
          requests: r.requests,
          errors: r.errors,
          'req/s': rps(r),
          'tokens/s': r.tokens / (r.elapsedMs / 1000),
          'ttft p50 ms': percentile(r.ttft, 50),
          'ttft p99 ms': percentile(r.ttft, 99),
          'added p50 ms': isBaseline ? '' : percentile(r.ttft, 50) - percentile(baseline.ttft, 50),
          'added p99 ms': isBaseline ? '' : percentile(r.ttft, 99) - percentile(baseline.ttft, 99),
          'vs direct': isBaseline ? '' : `${(rps(r) / rps(baseline)).toFixed(2)}x`,
        });
        if (r.firstError) console.error(`${target.name} @${step.concurrency}: first error: ${r.firstError}`);
      }
      const axonJson = merged.get('axon (json)') as LoadResult;
      const portkeyJson = merged.get('portkey (json)') as LoadResult;
      for (const name of ['axon, all on (json)', 'axon, all on, Redis (json)']) {
        const r = merged.get(name) as LoadResult;
        controls.push({
          concurrency: step.concurrency,
          target: name,
          'added p50 ms vs axon': percentile(r.ttft, 50) - percentile(axonJson.ttft, 50),
          'added p99 ms vs axon': percentile(r.ttft, 99) - percentile(axonJson.ttft, 99),
          'throughput vs axon': `${((rps(r) / rps(axonJson)) * 100).toFixed(1)}%`,
          errors: r.errors,
        });
      }
      const ratio = (a: string, b: string) => rps(merged.get(a) as LoadResult) / rps(merged.get(b) as LoadResult);
      // The same ratio round by round: how far the machine's noise moves it within one run.
      const roundRatios = (a: string, b: string) => {
        const as = results.get(a) ?? [];
        const bs = results.get(b) ?? [];
        const each = as.map((r, i) => rps(r) / rps(bs[i] as LoadResult));
        return `${Math.min(...each).toFixed(2)}–${Math.max(...each).toFixed(2)}x`;
      };
      const goal = (measure: string, value: number, target: number, higher: boolean, unit = 'x', rounds = '') =>
        goals.push({
          concurrency: step.concurrency,
          measure,
          value: `${value.toFixed(2)}${unit}`,
          'by round': rounds,
          target: `${higher ? '≥' : '<'} ${target}${unit}`,
          result: (higher ? value >= target : value < target) ? 'met' : 'MISSED',
        });
      if (step.concurrency === 64) {
        const ratioGoal = (measure: string, a: string, b: string, target: number) =>
          goal(measure, ratio(a, b), target, true, 'x', roundRatios(a, b));
        ratioGoal('axon (stream) vs bare relay', 'axon (stream)', 'bare relay (stream)', 0.7);
        ratioGoal('axon, OPENAI_BASE_URL (stream) vs bare relay', 'axon, OPENAI_BASE_URL (stream)', 'bare relay (stream)', 0.7);
        ratioGoal('axon (json) vs portkey', 'axon (json)', 'portkey (json)', 3);
        ratioGoal('axon, OPENAI_BASE_URL (json) vs portkey', 'axon, OPENAI_BASE_URL (json)', 'portkey (json)', 3);
      }
      if (step.concurrency === 1) {
        const added = (name: string, p: number) =>
          percentile((merged.get(name) as LoadResult).ttft, p) - percentile((merged.get('direct (stream)') as LoadResult).ttft, p);
        goal('axon (stream) added ttft p50', added('axon (stream)', 50), 1, false, ' ms');
        goal('axon (stream) added ttft p99', added('axon (stream)', 99), 2, false, ' ms');
      }
      console.error(`concurrency ${step.concurrency} done: axon json ${(rps(axonJson) / rps(portkeyJson)).toFixed(2)}x portkey`);
    }
    clearInterval(sampler);

    // Memory per open stream: 512 streams held open on the slow upstream (about 5 s each), over the
    // RSS at rest once the heap the load above grew is given back (measured right after the load,
    // the streams would only reuse that heap and seem to cost nothing).
    const afterLoad = await settleRss(axon.pid);
    const before = afterLoad.rss;
    const slowTarget: LoadTarget = {
      name: 'axon (slow stream)',
      url: `http://127.0.0.1:${PORTS.axon}/v1/chat/completions`,
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'slow/sim-1', messages, stream: true }),
      stream: true,
    };
    let openRss = before;
    const heldSampler = setInterval(() => {
      openRss = Math.max(openRss, rssMb(axon.pid));
    }, 100);
    const held = await runLoad(slowTarget, { concurrency: 512, count: 512, maxMs: 30_000 });
    clearInterval(heldSampler);

    console.log('\n## Gateway overhead (256-token answers from a simulated upstream; Portkey compared non-streaming)\n');
    printTable(summary);
    console.log(
      '\n## Cost of the enterprise controls (auth, rate limits, redacted prompt log and log lines, metrics) over axon with them off\n',
    );
    printTable(controls);
    const perStream = (openRss - before) / 512;
    goals.push({
      concurrency: '',
      measure: 'RSS idle (warmed up, at rest)',
      value: `${idle.rss.toFixed(0)} MB`,
      'by round': '',
      target: '< 150 MB',
      result: idle.rss < 150 ? 'met' : 'MISSED',
    });
    goals.push({
      concurrency: 512,
      measure: 'RSS per open stream',
      value: `${perStream.toFixed(3)} MB`,
      'by round': '',
      target: '< 0.5 MB',
      result: perStream < 0.5 ? 'met' : 'MISSED',
    });
    console.log('\n## Targets\n');
    printTable(goals);
    console.log('\n## Axon memory\n');
    printTable([
      { measure: 'RSS just after the warm-up, before the heap settles (MB)', value: idleRss },
      { measure: `RSS idle, warmed up, ${idle.seconds} s after its last request (MB)`, value: idle.rss },
      { measure: 'RSS peak during the load above (MB)', value: peakRss },
      { measure: `RSS at rest after all of the load, ${afterLoad.seconds} s after it (MB)`, value: afterLoad.rss },
      { measure: 'RSS with 512 streams held open (MB)', value: openRss },
      { measure: 'added per open stream, over the RSS at rest (MB)', value: perStream },
      { measure: 'held streams completed / errors', value: `${held.requests - held.errors} / ${held.errors}` },
    ]);
  } finally {
    for (const child of children.reverse()) await stopProcess(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A copy of `items` in an order drawn from `seed` (Fisher–Yates with mulberry32): the same seed, the same order. */
function shuffled<T>(items: T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * A process's RSS once it has come to rest. V8 gives back the heap it grew for a load only when its
 * memory reducer runs, some tens of seconds after allocation stops (seen here from 10 s to 50 s
 * after the last request; until then the RSS does not move at all). So the RSS is sampled every
 * second until it has fallen by more than 5 MB from the first sample and then held still (within
 * 1 MB) for 10 s, or for 120 s when it never falls.
 */
async function settleRss(pid: number | undefined): Promise<{ rss: number; seconds: number }> {
  const started = performance.now();
  const samples: number[] = [];
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    samples.push(rssMb(pid));
    const last = samples.slice(-10);
    const fell = (samples[0] ?? 0) - Math.min(...samples) > 5;
    if (fell && last.length === 10 && Math.max(...last) - Math.min(...last) <= 1) break;
    if (performance.now() - started > 120_000) break;
  }
  return { rss: samples.at(-1) ?? Number.NaN, seconds: Math.round((performance.now() - started) / 1000) };
}

if (import.meta.url === `file://${process.argv[1]}`) await runGatewayOverhead();
