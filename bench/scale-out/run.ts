/**
 * Scale-out: what the state replicas share costs, and whether two replicas hold 1,000 open streams.
 * Four setups run side by side on loopback, all from `server/dist`:
 *
 *   1. one replica on SQLite, no Redis (limits, stream log and bus in memory);
 *   2. one replica on the same SQLite file with `REDIS_URL` (limits, the stream log, the cancel
 *      channel and the bus in a Redis of its own): 2 vs 1 is what the shared-state features cost;
 *   3. one replica on PostgreSQL (a fresh database) and Redis;
 *   4. two replicas on PostgreSQL and Redis behind HAProxy sending requests round-robin.
 *
 * Each is driven through `/v1/chat/completions` (API key, a `connections[]` model on the simulated
 * upstream, 256 tokens streamed as fast as it can) and through the web chat route (session cookie
 * and CSRF header, one conversation per question made before timing, so that every answer goes
 * through the stream log), beside "direct" calls to the upstream as the baseline, in interleaved
 * rounds at concurrency 1 and 64. Rate limits are on (per user and per key) but too high to refuse.
 * Then: Redis commands and bytes per answer (`INFO` deltas on setup 2's Redis), memory per open
 * stream on each setup (web chat on a slow upstream), and 1,000 streams at once through the proxy
 * to the two replicas of setup 4.
 *
 *   npm run bench -- --only=scaleout [--quick]
 *
 * Needs PostgreSQL (`AXON_TEST_POSTGRES_URL`, 127.0.0.1:5432 by default), redis-server and haproxy
 * (and psql, for the connections the replicas use during the big run).
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WebClient } from '../../server/src/testing/http-client';
import { createTestDatabase, type TestDatabase } from '../../server/src/testing/postgres';
import { type ChildService, freePort, requireProgram, startRedisServer, waitForPort } from '../../server/src/testing/processes';
import { type LoadResult, type LoadTarget, mergeResults, percentile, runLoad } from '../src/load';
import { printTable, rssMb, startProcess, stopProcess } from '../src/processes';

const ROOT = join(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const AXON = join(ROOT, 'server/bin/axon.mjs');
const ADMIN = { email: 'bench@example.com', password: 'bench password 1' };
const QUESTION = 'Write 256 tokens.';
const METRICS_TOKEN = 'scale-out-bench-metrics-token';
const MESSAGES = [{ role: 'user', content: QUESTION }];
/**
 * A token of the web chat's UI message stream, where the text deltas that come while the stream log
 * is busy are merged into one event: `{"type":"text-delta","id":"text-0","delta":"tok0 tok1 "}`
 * (nothing else in the stream holds `tok`).
 */
const UI_TOKEN_MARK = 'tok';
const TOKENS = 256;
const quick = process.argv.includes('--quick');

const PLAN: Array<{ concurrency: number; count: number; rounds: number; maxMs: number }> = quick
  ? [
      { concurrency: 1, count: 60, rounds: 2, maxMs: 20_000 },
      { concurrency: 64, count: 640, rounds: 2, maxMs: 40_000 },
    ]
  : [
      { concurrency: 1, count: 300, rounds: 3, maxMs: 60_000 },
      { concurrency: 64, count: 3000, rounds: 3, maxMs: 120_000 },
    ];
/** Requests per target before any is timed: V8 optimises a path only after many calls (see the gateway benchmark). */
const WARMUP = quick ? 40 : 500;
/** Answers whose Redis commands are counted. */
const REDIS_SAMPLE = quick ? 30 : 100;
/** Streams held open at once on each setup for its memory per stream. */
const HELD = quick ? 128 : 256;
/** Streams open at once across the two replicas of setup 4. */
const BIG = quick ? 300 : 1000;
/** Commands of the Redis stream log and its cancel channel (the limits use EVALSHA, SET, PTTL, INCRBY). */
const STREAM_LOG_COMMANDS = new Set([
  'xadd',
  'xrevrange',
  'xrange',
  'xread',
  'xtrim',
  'expire',
  'eval',
  'exists',
  'mget',
  'publish',
  'subscribe',
]);
/**
 * The slow upstream: 400 tokens, one every 50 ms (20 s an answer), so that every stream is open at
 * once while the last of 1,000 are still being set up.
 */
const SLOW = { tokens: 400, delayMs: 50 };
/**
 * The paced upstream: 256 tokens, one every 2 ms. Its answers arrive as a model's do, a token at a
 * time, where the fast upstream's arrive at once and every event of the answer queues for the stream
 * log before the first reaches the client. Answers one at a time, on setups 1 and 2 only.
 */
const PACED = { tokens: 256, delayMs: 2, count: quick ? 20 : 60, rounds: 2 };

/**
 * The simulated upstreams: as fast as it can, at a model's pace, and slow enough to hold every stream
 * open at once; each a `connections[]` entry of that name.
 */
type Pool = 'fast' | 'paced' | 'slow';
const MODEL: Record<Pool, string> = { fast: 'sim/sim-1', paced: 'paced/sim-1', slow: 'slow/sim-1' };

/** A replica set as clients see it: one address (a replica, or the proxy before two). */
interface Setup {
  name: string;
  base: string;
  replicas: ChildProcess[];
  /** Each replica's own address, for its `/metrics`. */
  replicaUrls: string[];
  redis?: ChildService;
  key: string;
  cookie: string;
  csrf: string;
  /** Conversations made beforehand, on the fast and on the slow model; each web question takes the next. */
  pools: Record<Pool, string[]>;
  used: Record<Pool, number>;
}

interface Proxy {
  port: number;
  statsPort: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * HAProxy before `backends`, round-robin, one request per backend connection, with connection limits
 * well above the 1,000 streams (a frontend's default maxconn is lower than that), and a CSV stats page.
 */
async function startProxy(backends: number[]): Promise<Proxy> {
  const [port, statsPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'axon-bench-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    [
      'global',
      '  maxconn 8192',
      'defaults',
      '  mode http',
      '  maxconn 8000',
      '  timeout connect 5s',
      '  timeout client 120s',
      '  timeout server 120s',
      '  timeout http-keep-alive 1s',
      '  option http-server-close',
      'frontend axon',
      `  bind 127.0.0.1:${port}`,
      '  default_backend replicas',
      'frontend stats',
      `  bind 127.0.0.1:${statsPort}`,
      '  stats enable',
      '  stats uri /stats',
      'backend replicas',
      '  balance roundrobin',
      ...backends.map((backend, i) => `  server r${i + 1} 127.0.0.1:${backend}`),
      '',
    ].join('\n'),
  );
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-4000);
  });
  // A spawn that fails (no haproxy) is reported below, not thrown from an event with the benchmark's children left running.
  child.once('error', (error) => {
    stderr += error.message;
  });
  try {
    await waitForPort(port);
  } catch (error) {
    throw new Error(`haproxy did not start (apt-get install -y haproxy): ${stderr || (error as Error).message}`);
  }
  return {
    port,
    statsPort,
    child,
    stop: async () => {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** HAProxy's counters: sessions now and in all, per frontend, backend and server. */
async function proxyStats(proxy: Proxy): Promise<Array<{ name: string; current: number; total: number }>> {
  const csv = await (await fetch(`http://127.0.0.1:${proxy.statsPort}/stats;csv`)).text();
  const [header, ...lines] = csv.trim().split('\n');
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const at = (name: string) => columns.indexOf(name);
  return lines
    .map((line) => line.split(','))
    .filter((cells) => cells[0] !== 'stats')
    .map((cells) => ({
      name: `${cells[at('pxname')]}/${cells[at('svname')]}`,
      current: Number(cells[at('scur')]),
      total: Number(cells[at('stot')]),
    }));
}

/** `INFO` of a Redis as numbers: every `field:value`, and each command's calls as `calls.<command>`. */
function redisInfo(port: number): Map<string, number> {
  const text = execFileSync('redis-cli', ['-p', String(port), 'INFO', 'all']).toString();
  const info = new Map<string, number>();
  for (const line of text.split(/\r?\n/)) {
    const command = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (command) info.set(`calls.${command[1]}`, Number(command[2]));
    const field = /^([a-z_]+):(\d+)$/.exec(line);
    if (field) info.set(field[1] as string, Number(field[2]));
  }
  return info;
}

/** The average `MEMORY USAGE` of the answers' streams in a Redis (the stream log's `axon:stream:<message id>` keys). */
function streamLogMemory(port: number): number {
  const keys = execFileSync('redis-cli', ['-p', String(port), '--scan', '--pattern', 'axon:stream:*'])
    .toString()
    .trim()
    .split('\n')
    .filter(Boolean);
  if (keys.length === 0) return Number.NaN;
  const sizes = execFileSync('redis-cli', ['-p', String(port)], { input: keys.map((key) => `MEMORY USAGE ${key}\n`).join('') })
    .toString()
    .trim()
    .split('\n')
    .map(Number);
  return sizes.reduce((a, b) => a + b, 0) / sizes.length;
}

const delta = (after: Map<string, number>, before: Map<string, number>) =>
  new Map([...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const));

/** The V8 heap in use of each of `urls` (their `/metrics`), summed, in MB. */
async function heapUsedMb(urls: string[]): Promise<number> {
  const sizes = await Promise.all(
    urls.map(async (url) => {
      const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
      return Number(/^axon_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1]) / 2 ** 20;
    }),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/** Open file descriptors of a process (Linux). */
const openFds = (pid: number | undefined) => (pid ? readdirSync(`/proc/${pid}/fd`).length : Number.NaN);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function signIn(
  name: string,
  base: string,
  replicas: Array<{ child: ChildProcess; url: string }>,
  redis?: ChildService,
): Promise<Setup> {
  const web = new WebClient(base);
  await web.login(ADMIN.email, ADMIN.password);
  const created = await web.json<{ key: string }>('POST', '/api/keys', { name: 'bench', rpm: 1_000_000, tpm: 1_000_000_000 });
  if (created.status !== 201)
    throw new Error(`${name}: creating an API key failed: HTTP ${created.status} ${JSON.stringify(created.body)}`);
  return {
    name,
    base,
    replicas: replicas.map((r) => r.child),
    replicaUrls: replicas.map((r) => r.url),
    ...(redis ? { redis } : {}),
    key: created.body.key,
    cookie: web.cookie,
    csrf: web.csrfToken ?? '',
    pools: { fast: [], slow: [], paced: [] },
    used: { fast: 0, slow: 0, paced: 0 },
  };
}

/** Makes `count` conversations on `model`, 16 at a time. */
async function makeConversations(setup: Setup, model: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  let issued = 0;
  const headers = { cookie: setup.cookie, 'x-csrf-token': setup.csrf, 'content-type': 'application/json' };
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (issued < count) {
        issued++;
        const post = () => fetch(`${setup.base}/api/conversations`, { method: 'POST', headers, body: JSON.stringify({ model }) });
        // A kept-alive connection the proxy closed as it was reused fails at once: tried once more.
        const response = await post().catch(post);
        const body = (await response.json()) as { id?: string };
        if (response.status !== 201 || !body.id)
          throw new Error(`${setup.name}: making a conversation failed: HTTP ${response.status} ${JSON.stringify(body)}`);
        ids.push(body.id);
      }
    }),
  );
  return ids;
}

let questions = 0;

function v1Target(setup: Setup, pool: Pool = 'fast'): LoadTarget {
  return {
    name: `${setup.name} /v1`,
    url: `${setup.base}/v1/chat/completions`,
    headers: { authorization: `Bearer ${setup.key}` },
    body: JSON.stringify({ model: MODEL[pool], messages: MESSAGES, stream: true }),
    stream: true,
  };
}

/** The web chat route, each question in the next conversation of the pool (they wrap round if the pool runs out). */
function webTarget(setup: Setup, pool: Pool = 'fast'): LoadTarget {
  return {
    name: `${setup.name} web chat`,
    url: `${setup.base}/api/conversations`,
    headers: { cookie: setup.cookie, 'x-csrf-token': setup.csrf },
    body: '',
    stream: true,
    tokenMark: UI_TOKEN_MARK,
    request: () => {
      const ids = setup.pools[pool];
      const id = ids[setup.used[pool]++ % ids.length] as string;
      if (setup.used[pool] === ids.length + 1)
        console.error(`${setup.name}: the ${pool} conversations ran out; questions go on in used ones`);
      return {
        url: `${setup.base}/api/conversations/${id}/chat`,
        body: JSON.stringify({ trigger: 'submit-message', message: { id: `q${++questions}`, text: QUESTION }, resumable: true }),
      };
    },
  };
}

/** Holds `count` streams of `target` open at once, sampling the replicas' RSS and open descriptors. */
async function holdStreams(
  setup: Setup,
  target: LoadTarget,
  count: number,
  proxy?: Proxy,
  database?: TestDatabase,
): Promise<{
  result: LoadResult;
  idleMb: number;
  peakMb: number;
  perReplica: string;
  peakOpen: number;
  /** Requests HAProxy had with the replicas at once at most, in all and per replica (sampled). */
  inFlight: string;
  /** V8 heap in use while (nearly) as many streams as at most were open, less before, in MB (the median of samples). */
  heapMb: number;
  fds: string;
  /** The replicas' connections to `database` at most, open and running a query (sampled). */
  pgConnections: string;
  seconds: number;
}> {
  await sleep(1000);
  const idleHeap = await heapUsedMb(setup.replicaUrls);
  const idle = setup.replicas.map((r) => rssMb(r.pid));
  const peak = [...idle];
  const fds = setup.replicas.map(() => 0);
  let proxyFds = 0;
  let open = 0;
  let peakOpen = 0;
  const heapSamples: Array<{ open: number; mb: number }> = [];
  const heapSampler = setInterval(() => {
    const now = open;
    void heapUsedMb(setup.replicaUrls).then(
      (mb) => heapSamples.push({ open: now, mb }),
      () => undefined,
    );
  }, 250);
  const inFlight = new Map<string, number>();
  const proxySampler = setInterval(() => {
    if (!proxy) return;
    void proxyStats(proxy).then(
      (rows) => {
        for (const row of rows)
          if (row.name.startsWith('replicas/'))
            inFlight.set(row.name.slice(9), Math.max(inFlight.get(row.name.slice(9)) ?? 0, row.current));
      },
      () => undefined,
    );
  }, 250);
  const pgPeak = { open: 0, busy: 0 };
  let sampling = false;
  const pgSampler = setInterval(() => {
    if (!database || sampling) return;
    sampling = true;
    const sql =
      "SELECT count(*), count(*) FILTER (WHERE state <> 'idle') FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'axon'";
    promisify(execFile)('psql', [database.url, '-AF,', '-tc', sql])
      .then(
        ({ stdout }) => {
          const [open = 0, busy = 0] = stdout.trim().split(',').map(Number);
          pgPeak.open = Math.max(pgPeak.open, open);
          pgPeak.busy = Math.max(pgPeak.busy, busy);
        },
        () => undefined,
      )
      .finally(() => {
        sampling = false;
      });
  }, 250);
  let peakSum = idle.reduce((a, b) => a + b, 0);
  const sampler = setInterval(() => {
    const now = setup.replicas.map((r) => rssMb(r.pid));
    now.forEach((mb, i) => {
      peak[i] = Math.max(peak[i] as number, mb);
      fds[i] = Math.max(fds[i] as number, openFds(setup.replicas[i]?.pid));
    });
    if (proxy) proxyFds = Math.max(proxyFds, openFds(proxy.child.pid));
    peakSum = Math.max(
      peakSum,
      now.reduce((a, b) => a + b, 0),
    );
  }, 100);
  const started = performance.now();
  const result = await runLoad(target, {
    concurrency: count,
    count,
    maxMs: 120_000,
    timeoutMs: 60_000,
    onStream: (opened) => {
      open += opened ? 1 : -1;
      peakOpen = Math.max(peakOpen, open);
    },
  });
  clearInterval(sampler);
  clearInterval(heapSampler);
  clearInterval(proxySampler);
  clearInterval(pgSampler);
  const idleMb = idle.reduce((a, b) => a + b, 0);
  return {
    result,
    idleMb,
    peakMb: peakSum,
    perReplica: peak.map((mb, i) => `+${(mb - (idle[i] as number)).toFixed(0)}`).join(' / '),
    peakOpen,
    inFlight: `${inFlight.get('BACKEND') ?? '-'} (${[...inFlight]
      .filter(([name]) => name !== 'BACKEND')
      .map(([name, n]) => `${name} ${n}`)
      .join(', ')})`,
    heapMb:
      percentile(
        heapSamples.filter((sample) => sample.open >= 0.95 * peakOpen).map((sample) => sample.mb),
        50,
      ) - idleHeap,
    fds: [...fds.map((n, i) => `r${i + 1} ${n}`), ...(proxy ? [`haproxy ${proxyFds}`] : [])].join(', '),
    pgConnections: database ? `${pgPeak.open} open, ${pgPeak.busy} busy` : '-',
    seconds: (performance.now() - started) / 1000,
  };
}

const rps = (r: LoadResult) => (r.requests - r.errors) / (r.elapsedMs / 1000);
const perAnswer = (r: LoadResult) => (r.requests - r.errors > 0 ? r.tokens / (r.requests - r.errors) : 0);

/**
 * Fails at once, saying what to install or start, when something the scale-out benchmark needs is
 * missing: `npm run bench` checks before its first benchmark, not half an hour in.
 */
export async function checkScaleOutPrerequisites(): Promise<void> {
  requireProgram('haproxy', 'apt-get install -y haproxy');
  requireProgram('redis-server', 'apt-get install -y redis-server');
  requireProgram('psql', 'apt-get install -y postgresql-client');
  const database = await createTestDatabase('axon_bench_check');
  await database.drop();
}

export async function runScaleOut(): Promise<void> {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-bench-scale-'));
    dirs.push(dir);
    return dir;
  };
  const children: ChildProcess[] = [];
  const redises: ChildService[] = [];
  let proxy: Proxy | undefined;
  const databases: TestDatabase[] = [];
  const ports = { upstream: await freePort(), slow: await freePort(), paced: await freePort() };
  const configDir = tempDir();
  const configFile = join(configDir, 'axon.config.yaml');
  writeFileSync(
    configFile,
    [
      'connections:',
      '  - name: sim',
      `    baseURL: http://127.0.0.1:${ports.upstream}/v1`,
      '  - name: slow',
      `    baseURL: http://127.0.0.1:${ports.slow}/v1`,
      '  - name: paced',
      `    baseURL: http://127.0.0.1:${ports.paced}/v1`,
    ].join('\n'),
  );
  const common = {
    AXON_FROM_SOURCE: '0',
    AXON_CONFIG: configFile,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    AXON_ADMIN_EMAIL: ADMIN.email,
    AXON_ADMIN_PASSWORD: ADMIN.password,
    // On, but too high to refuse: their cost is measured.
    AXON_USER_RPM: '1000000000',
    AXON_USER_TPM: '1000000000000',
    AXON_USER_STREAMS: '1000000',
    // The prompt log's cost is the gateway benchmark's; here it would only add the same to every setup.
    AXON_PROMPT_LOG: 'off',
    // New conversations keep their first words as title: no second model call after the first answer.
    AXON_CONVERSATION_TITLES: 'first-message',
    AXON_METRICS_TOKEN: METRICS_TOKEN,
  };
  const startReplica = async (name: string, env: Record<string, string>) => {
    const port = await freePort();
    const child = await startProcess(name, 'node', [AXON, 'serve'], {
      env: { ...common, ...env, PORT: String(port) },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
      timeoutMs: 90_000,
    });
    children.push(child);
    let log = '';
    child.stderr?.on('data', (d) => {
      log = (log + String(d)).slice(-4000);
    });
    child.once('exit', (code, signal) => {
      if (!stopping) console.error(`${name} exited (${code ?? signal}) during the benchmark: ${log}`);
    });
    return { child, port, url: `http://127.0.0.1:${port}` };
  };

  let stopping = false;
  const ulimit = execFileSync('sh', ['-c', 'ulimit -n']).toString().trim();
  try {
    for (const [port, delay, tokens] of [
      [ports.upstream, 0, TOKENS],
      [ports.slow, SLOW.delayMs, SLOW.tokens],
      [ports.paced, PACED.delayMs, PACED.tokens],
    ] as const) {
      children.push(
        await startProcess(
          'upstream',
          TSX,
          [join(ROOT, 'bench/src/serve-upstream.ts'), '--port', String(port), '--tokens', String(tokens), '--delay', String(delay)],
          { readyUrl: `http://127.0.0.1:${port}/v1/models` },
        ),
      );
    }

    // 1 and 2: the same SQLite file; 2 with a Redis of its own.
    const sqliteDir = tempDir();
    const one = await startReplica('setup 1', { AXON_DATA_DIR: sqliteDir });
    const redis2 = await startRedisServer();
    redises.push(redis2);
    const two = await startReplica('setup 2', { AXON_DATA_DIR: sqliteDir, REDIS_URL: redis2.url });
    // 3: PostgreSQL and Redis.
    const db3 = await createTestDatabase('axon_bench_scale');
    databases.push(db3);
    const redis3 = await startRedisServer();
    redises.push(redis3);
    const three = await startReplica('setup 3', {
      AXON_DATA_DIR: tempDir(),
      AXON_DATABASE_URL: db3.url,
      REDIS_URL: redis3.url,
    });
    // 4: two replicas on one PostgreSQL database and one Redis, behind HAProxy.
    const db4 = await createTestDatabase('axon_bench_scale');
    databases.push(db4);
    const redis4 = await startRedisServer();
    redises.push(redis4);
    // Every replica keeps the default pool (`databasePoolSize`): setups 3 and 4 hold three pools, within
    // the server's 100 connections (`max_connections`); the big run below says how many they used.
    const replicaOf4 = () => ({
      AXON_DATA_DIR: tempDir(),
      AXON_DATABASE_URL: db4.url,
      REDIS_URL: redis4.url,
    });
    const fourA = await startReplica('setup 4a', replicaOf4());
    const fourB = await startReplica('setup 4b', replicaOf4());
    const haproxy = await startProxy([fourA.port, fourB.port]);
    proxy = haproxy;

    const setups = [
      await signIn('1 sqlite', one.url, [one]),
      await signIn('2 sqlite+redis', two.url, [two], redis2),
      await signIn('3 pg+redis', three.url, [three], redis3),
      await signIn('4 2×pg+redis', `http://127.0.0.1:${haproxy.port}`, [fourA, fourB], redis4),
    ] as const;
    const [s1, s2, s3, s4] = setups;
    const webQuestions = WARMUP + PLAN.reduce((n, step) => n + step.count, 0) + REDIS_SAMPLE;
    for (const setup of setups) {
      const started = performance.now();
      setup.pools.fast = await makeConversations(setup, MODEL.fast, webQuestions);
      setup.pools.slow = await makeConversations(setup, MODEL.slow, setup === s4 ? BIG : HELD);
      if (setup === s1 || setup === s2) setup.pools.paced = await makeConversations(setup, MODEL.paced, PACED.count + 5);
      const made = Object.values(setup.pools).reduce((n, ids) => n + ids.length, 0);
      console.error(`${setup.name}: ${made} conversations made in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }

    const direct: LoadTarget = {
      name: 'direct',
      url: `http://127.0.0.1:${ports.upstream}/v1/chat/completions`,
      headers: {},
      body: JSON.stringify({ model: 'sim-1', messages: MESSAGES, stream: true }),
      stream: true,
    };
    const routes = setups.map((setup) => ({ setup, v1: v1Target(setup), web: webTarget(setup) }));
    const targets: Array<{ setup: string; route: string; target: LoadTarget }> = [
      { setup: 'direct', route: 'upstream', target: direct },
      ...routes.flatMap(({ setup, v1, web }) => [
        { setup: setup.name, route: '/v1', target: v1 },
        { setup: setup.name, route: 'web chat', target: web },
      ]),
    ];

    // Warm up every path (JIT, connection pools, the model list cache).
    for (const { target } of targets) {
      const warm = await runLoad(target, { concurrency: 8, count: WARMUP, maxMs: 30_000 });
      if (warm.errors > 0) console.error(`warm-up ${target.name}: ${warm.errors} errors, first: ${warm.firstError}`);
    }

    // Redis per answer on setup 2: INFO deltas over answers one at a time, less an idle window as long;
    // soon after the warm-up, before the answers of the timed load (kept 300 s) start to expire.
    const redisRows: Array<Record<string, string | number>> = [];
    const redisPort = redis2.port;
    for (const [route, target] of [
      ['/v1 (limits)', v1Target(s2)],
      ['web chat (limits, stream log, cancel channel)', webTarget(s2)],
    ] as const) {
      const before = redisInfo(redisPort);
      const started = performance.now();
      const result = await runLoad(target, { concurrency: 1, count: REDIS_SAMPLE, maxMs: 60_000 });
      const elapsed = performance.now() - started;
      const busy = delta(redisInfo(redisPort), before);
      const idleBefore = redisInfo(redisPort);
      await sleep(elapsed);
      const idle = delta(redisInfo(redisPort), idleBefore);
      const answers = result.requests - result.errors;
      const net = (field: string) => ((busy.get(field) ?? 0) - (idle.get(field) ?? 0)) / answers;
      const commands: Array<readonly [string, number]> = [...busy]
        .filter(([k]) => k.startsWith('calls.') && k !== 'calls.info')
        .map(([k, v]) => [k.slice(6), (v - (idle.get(k) ?? 0)) / answers] as const)
        .filter(([, v]) => v >= 0.05)
        .sort((a, b) => b[1] - a[1]);
      redisRows.push({
        route,
        answers,
        'commands/answer': commands.reduce((n, [, v]) => n + v, 0),
        'of which stream log': commands.filter(([k]) => STREAM_LOG_COMMANDS.has(k)).reduce((n, [, v]) => n + v, 0),
        'by command': commands.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', '),
        'bytes to redis/answer': net('total_net_input_bytes'),
        'bytes from redis/answer': net('total_net_output_bytes'),
        'memory kept/answer (bytes)': route.startsWith('web') ? streamLogMemory(redisPort) : '-',
      });
    }

    // Memory per open stream on setups 1 to 3 (web chat answers held open on the slow upstream), and
    // on setup 4 with the big one below, before the timed load: that grows the heaps, which would then
    // hold the streams without growing.
    const memory: Array<Record<string, string | number>> = [];
    for (const setup of [s1, s2, s3]) {
      const held = await holdStreams(setup, webTarget(setup, 'slow'), HELD);
      memory.push({
        setup: setup.name,
        streams: HELD,
        'peak open': held.peakOpen,
        errors: held.result.errors,
        'tokens/answer': perAnswer(held.result),
        'rss idle MB': held.idleMb,
        'rss peak MB': held.peakMb,
        'per replica MB': held.perReplica,
        'MB per open stream': (held.peakMb - held.idleMb) / Math.max(1, held.peakOpen),
        'heap MB per open stream': held.heapMb / Math.max(1, held.peakOpen),
      });
      if (held.result.firstError) console.error(`${setup.name} held streams: first error: ${held.result.firstError}`);
    }

    // The big one: BIG streams at once through the proxy to setup 4's two replicas, on each route.
    const big: Array<Record<string, string | number>> = [];
    const goals: Array<Record<string, string | number>> = [];
    for (const [route, target] of [
      ['web chat', webTarget(s4, 'slow')],
      ['/v1', v1Target(s4, 'slow')],
    ] as const) {
      const before = await proxyStats(haproxy);
      const held = await holdStreams(s4, target, BIG, haproxy, db4);
      const after = await proxyStats(haproxy);
      const served = after
        .filter((row) => row.name.startsWith('replicas/r'))
        .map((row) => `${row.name.slice(9)} ${row.total - (before.find((b) => b.name === row.name)?.total ?? 0)}`)
        .join(', ');
      const perStream = (held.peakMb - held.idleMb) / Math.max(1, held.peakOpen);
      const r = held.result;
      big.push({
        route,
        streams: BIG,
        'in flight at once (proxy)': held.inFlight,
        'streaming at once (client)': held.peakOpen,
        completed: r.requests - r.errors,
        errors: r.errors,
        'tokens/answer': perAnswer(r),
        'ttft p50 ms': percentile(r.ttft, 50),
        'ttft p99 ms': percentile(r.ttft, 99),
        'answer p50 s': percentile(r.total, 50) / 1000,
        'answer p99 s': percentile(r.total, 99) / 1000,
        'rss idle MB (both)': held.idleMb,
        'rss peak MB (both)': held.peakMb,
        'per replica MB': held.perReplica,
        'MB per open stream': perStream,
        'heap MB per open stream': held.heapMb / Math.max(1, held.peakOpen),
        'requests per replica': served,
        'peak fds': held.fds,
        'PostgreSQL connections at most (both)': held.pgConnections,
      });
      if (r.firstError) console.error(`${BIG} streams, ${route}: first error: ${r.firstError}`);
      goals.push({
        measure: `${BIG} streams through HAProxy (${route}): errors`,
        value: r.errors,
        target: '0',
        result: r.errors === 0 ? 'met' : 'MISSED',
      });
      goals.push({
        measure: `${BIG} streams through HAProxy (${route}): all streaming at once`,
        value: held.peakOpen,
        target: String(BIG),
        result: held.peakOpen === BIG ? 'met' : 'MISSED',
      });
      goals.push({
        measure: `${BIG} streams through HAProxy (${route}): MB per open stream`,
        value: perStream.toFixed(3),
        target: '< 0.5',
        result: perStream < 0.5 ? 'met' : 'MISSED',
      });
    }

    const summary: Array<Record<string, string | number>> = [];
    const merged = new Map<string, LoadResult>();
    for (const step of PLAN) {
      const results = new Map<string, LoadResult[]>();
      for (let round = 0; round < step.rounds; round++) {
        for (const { target } of targets) {
          const result = await runLoad(target, {
            concurrency: step.concurrency,
            count: Math.ceil(step.count / step.rounds),
            maxMs: step.maxMs / step.rounds,
          });
          results.set(target.name, [...(results.get(target.name) ?? []), result]);
        }
      }
      const baseline = mergeResults(results.get(direct.name) ?? []);
      for (const { setup, route, target } of targets) {
        const r = mergeResults(results.get(target.name) ?? []);
        merged.set(`${target.name}@${step.concurrency}`, r);
        const isBaseline = target === direct;
        summary.push({
          setup,
          route,
          concurrency: step.concurrency,
          requests: r.requests,
          errors: r.errors,
          'req/s': rps(r),
          'tokens/answer': perAnswer(r),
          'ttft p50 ms': percentile(r.ttft, 50),
          'ttft p99 ms': percentile(r.ttft, 99),
          'added p50 ms': isBaseline ? '' : percentile(r.ttft, 50) - percentile(baseline.ttft, 50),
          'added p99 ms': isBaseline ? '' : percentile(r.ttft, 99) - percentile(baseline.ttft, 99),
        });
        if (r.firstError) console.error(`${target.name} @${step.concurrency}: first error: ${r.firstError}`);
      }
      console.error(`concurrency ${step.concurrency} done`);
    }

    // Answers at a model's pace, one at a time, on setups 1 and 2.
    const pacedDirect: LoadTarget = { ...direct, name: 'direct, paced', url: `http://127.0.0.1:${ports.paced}/v1/chat/completions` };
    const paced = [
      { setup: 'direct', route: 'upstream', target: pacedDirect },
      ...[s1, s2].flatMap((setup) => [
        { setup: setup.name, route: '/v1', target: { ...v1Target(setup, 'paced'), name: `${setup.name} /v1, paced` } },
        { setup: setup.name, route: 'web chat', target: { ...webTarget(setup, 'paced'), name: `${setup.name} web chat, paced` } },
      ]),
    ];
    const pacedResults = new Map<string, LoadResult[]>();
    for (let round = 0; round < PACED.rounds; round++) {
      for (const { target } of paced) {
        const result = await runLoad(target, { concurrency: 1, count: Math.ceil(PACED.count / PACED.rounds), maxMs: 60_000 });
        pacedResults.set(target.name, [...(pacedResults.get(target.name) ?? []), result]);
      }
    }
    const pacedBaseline = mergeResults(pacedResults.get(pacedDirect.name) ?? []);
    for (const { setup, route, target } of paced) {
      const r = mergeResults(pacedResults.get(target.name) ?? []);
      merged.set(target.name, r);
      const isBaseline = target === pacedDirect;
      summary.push({
        setup,
        route: `${route}, paced ${PACED.delayMs} ms/token`,
        concurrency: 1,
        requests: r.requests,
        errors: r.errors,
        'req/s': rps(r),
        'tokens/answer': perAnswer(r),
        'ttft p50 ms': percentile(r.ttft, 50),
        'ttft p99 ms': percentile(r.ttft, 99),
        'added p50 ms': isBaseline ? '' : percentile(r.ttft, 50) - percentile(pacedBaseline.ttft, 50),
        'added p99 ms': isBaseline ? '' : percentile(r.ttft, 99) - percentile(pacedBaseline.ttft, 99),
      });
      if (r.firstError) console.error(`${target.name}: first error: ${r.firstError}`);
    }

    // Shared-state cost: 2 (Redis) against 1 (memory) on the same SQLite file; then PostgreSQL, then two replicas.
    const shared: Array<Record<string, string | number>> = [];
    const at = (setup: Setup, route: 'v1' | 'web', concurrency: number) =>
      merged.get(`${route === 'v1' ? v1Target(setup).name : webTarget(setup).name}@${concurrency}`) as LoadResult;
    /** `b` against `a`: how much later its first token comes at c=1, and its throughput at c=64 over `a`'s. */
    const compare = (label: string, a: Setup, b: Setup, withTargets: boolean) => {
      for (const route of ['v1', 'web'] as const) {
        const name = route === 'v1' ? '/v1' : 'web chat';
        const added = percentile(at(b, route, 1).ttft, 50) - percentile(at(a, route, 1).ttft, 50);
        const ratio = rps(at(b, route, 64)) / rps(at(a, route, 64));
        shared.push({
          comparison: label,
          route: name,
          measure: 'added ttft p50 at c=1',
          value: `${added.toFixed(2)} ms`,
          target: withTargets ? '< 1 ms' : '',
          result: withTargets ? (added < 1 ? 'met' : 'MISSED') : '',
        });
        shared.push({
          comparison: label,
          route: name,
          measure: 'throughput at c=64',
          value: `${ratio.toFixed(2)}x (${((1 - ratio) * 100).toFixed(1)} % cost)`,
          target: withTargets ? '< 20 % cost' : '',
          result: withTargets ? (ratio > 0.8 ? 'met' : 'MISSED') : '',
        });
      }
    };
    compare('2 vs 1: Redis shared state', s1, s2, true);
    for (const route of ['/v1', 'web chat']) {
      const added =
        percentile((merged.get(`${s2.name} ${route}, paced`) as LoadResult).ttft, 50) -
        percentile((merged.get(`${s1.name} ${route}, paced`) as LoadResult).ttft, 50);
      shared.push({
        comparison: '2 vs 1: Redis shared state',
        route,
        measure: `added ttft p50 at c=1, paced ${PACED.delayMs} ms/token`,
        value: `${added.toFixed(2)} ms`,
        target: '< 1 ms',
        result: added < 1 ? 'met' : 'MISSED',
      });
    }
    compare('3 vs 2: PostgreSQL for SQLite', s2, s3, false);
    compare('4 vs 3: two replicas behind HAProxy', s3, s4, false);

    console.log(`\n## Scale-out: ${TOKENS}-token answers from a simulated upstream, streamed (ttft: to the first token)\n`);
    printTable(summary);
    console.log('\n## What sharing state costs\n');
    printTable(shared);
    console.log(
      `\n## Redis per answer (setup 2, ${REDIS_SAMPLE} answers one at a time, less an idle window as long; memory kept: MEMORY USAGE of an answer's stream, kept AXON_STREAM_KEEP_SECONDS (300 s) after it ends)\n`,
    );
    printTable(redisRows);
    console.log(
      `\n## Memory per open stream (web chat, ${HELD} answers held open, ${SLOW.tokens} tokens at ${SLOW.delayMs} ms; setup 4: the next table)\n`,
    );
    printTable(memory);
    console.log(
      `\n## ${BIG} streams at once through HAProxy to the two replicas of setup 4 (${SLOW.tokens} tokens at ${SLOW.delayMs} ms)\n`,
    );
    printTable(big);
    console.log('\n## Targets\n');
    printTable(goals);
    // Each stream holds a socket in the client, two in HAProxy, and one to the client and one to the
    // upstream in its replica (about half of them each).
    const needed = 2 * BIG + 100;
    console.log(
      `\nulimit -n: ${ulimit}; the busiest process (HAProxy) needs about ${needed} descriptors for ${BIG} streams: ${
        Number(ulimit) >= needed || ulimit === 'unlimited' ? 'not a constraint' : 'TOO LOW, raise it'
      }.`,
    );
  } finally {
    stopping = true;
    await proxy?.stop();
    // Replicas before the upstreams they call, and before the Redis they use.
    for (const child of children.reverse()) await stopProcess(child);
    for (const redis of redises) await redis.stop();
    for (const database of databases) await database.drop().catch((error: unknown) => console.error(`dropping ${database.name}:`, error));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runScaleOut();
