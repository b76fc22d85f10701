/**
 * Soak: a real Axon server process on loopback with the simulated upstream, under mixed traffic at a
 * bounded rate for a while (`--soak-minutes=N`, default 20): web chat streams, `/v1/chat/completions`
 * streamed and not, small uploads, conversation searches and questions over a collection, sign-ins
 * with right and wrong passwords, and clients that vanish mid-stream. Every minute it samples the
 * server's resident memory, open file descriptors and handles, event-loop lag p99 (from its
 * Prometheus `/metrics`) and the errors seen, by kind; at the end it gives a verdict on memory:
 * flat within 10 % from minute 3 on (the first two minutes are warm-up).
 *
 *   npm run bench -- --only=soak --soak-minutes=20
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printTable, rssMb, startProcess, stopProcess } from '../src/processes';
import { startSimulatedUpstream } from '../src/simulated-upstream';

const ROOT = join(import.meta.dirname, '../..');
const AXON = join(ROOT, 'server/bin/axon.mjs');
const METRICS_TOKEN = 'soak-metrics-token-0123456789';
const ADMIN = { email: 'soak@example.com', password: 'soak password 1' };
const OTHER = { email: 'wrong@example.com', password: 'other password 1' };
/** Requests in flight at most; a tick that would exceed it skips (and counts the skip). */
const MAX_IN_FLIGHT = 48;
const REQUEST_TIMEOUT_MS = 30_000;

/** Operations per second of each kind. */
const RATES = {
  'web chat': 1.5,
  'v1 stream': 2,
  'v1 json': 2,
  'v1 collection': 0.5,
  'vanish web': 0.3,
  'vanish v1': 0.3,
  upload: 0.2,
  'conversation search': 0.5,
  'sign-in': 0.2,
  // All traffic comes from one address, which may make 50 wrong sign-ins in 15 minutes before it is
  // throttled (a right password gives its attempt back): 2.4 a minute stays under that.
  'wrong sign-in': 0.04,
} as const;
type Op = keyof typeof RATES;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Reads one sample of the given metric names from Prometheus text. */
function readMetrics(text: string, names: string[]): Record<string, number> {
  const values: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const [key, value] = line.split(' ');
    if (key && names.includes(key)) values[key] = Number(value);
  }
  return values;
}

interface Session {
  cookie: string;
  csrf: string;
}

async function signIn(base: string, email: string, password: string): Promise<Session> {
  const response = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (response.status !== 200) throw new Error(`sign-in of ${email}: HTTP ${response.status} ${await response.text()}`);
  const cookie = (response.headers.getSetCookie().find((c) => c.startsWith('axon_session=')) ?? '').split(';')[0] ?? '';
  return { cookie, csrf: ((await response.json()) as { csrfToken: string }).csrfToken };
}

export async function runSoak(): Promise<void> {
  const minutes = Number(process.argv.find((a) => a.startsWith('--soak-minutes='))?.slice(15) ?? 20);
  if (!(minutes >= 1 && minutes <= 24 * 60)) throw new Error('--soak-minutes: a number of minutes from 1 to 1440');
  const dataDir = mkdtempSync(join(tmpdir(), 'axon-soak-'));
  const upstream = await startSimulatedUpstream({ record: false, models: ['sim-1'], behaviour: { tokens: 48, tokenDelayMs: 4 } });
  const configFile = join(dataDir, 'axon.config.yaml');
  writeFileSync(configFile, ['connections:', '  - name: sim', `    baseURL: ${upstream.url}`].join('\n'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const axon = await startProcess('axon', process.execPath, [AXON, 'serve'], {
    env: {
      AXON_DATA_DIR: dataDir,
      AXON_CONFIG: configFile,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      AXON_ADMIN_EMAIL: ADMIN.email,
      AXON_ADMIN_PASSWORD: ADMIN.password,
      AXON_METRICS_TOKEN: METRICS_TOKEN,
      AXON_LOCAL_MODEL_DELAY_MS: '0',
      AXON_USER_RPM: '1000000',
      AXON_USER_STREAMS: '100000',
    },
    readyUrl: `${base}/readyz`,
    timeoutMs: 60_000,
  });
  const pid = axon.pid as number;

  const stats = {
    ok: new Map<Op, number>(),
    errors: new Map<string, number>(),
    skipped: 0,
    inFlight: 0,
  };
  const count = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);

  try {
    const admin = await signIn(base, ADMIN.email, ADMIN.password);
    const write = (s: Session) => ({ cookie: s.cookie, 'x-csrf-token': s.csrf });
    const json = (s: Session) => ({ ...write(s), 'content-type': 'application/json' });
    const created = await fetch(`${base}/api/admin/users`, {
      method: 'POST',
      headers: json(admin),
      body: JSON.stringify({ ...OTHER, role: 'member' }),
    });
    if (created.status !== 201) throw new Error(`creating the second account: HTTP ${created.status}`);
    const keyResponse = await fetch(`${base}/api/keys`, { method: 'POST', headers: json(admin), body: JSON.stringify({ name: 'soak' }) });
    const key = ((await keyResponse.json()) as { key: string }).key;
    const collection = (await (
      await fetch(`${base}/api/collections`, { method: 'POST', headers: json(admin), body: JSON.stringify({ name: 'Soak notes' }) })
    ).json()) as { id: string };

    let conversation = '';
    let turns = 0;
    let uploads = 0;
    const newConversation = async () => {
      const response = await fetch(`${base}/api/conversations`, {
        method: 'POST',
        headers: json(admin),
        body: JSON.stringify({ model: 'sim/sim-1' }),
      });
      conversation = ((await response.json()) as { id: string }).id;
    };
    await newConversation();

    const v1 = (body: Record<string, unknown>, signal: AbortSignal) =>
      fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        signal,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sim/sim-1', messages: [{ role: 'user', content: `question ${Math.random()}` }], ...body }),
      });
    const webChat = async (signal: AbortSignal) => {
      // A conversation takes 10 turns, then a new one starts: histories stay short, the store grows.
      if (++turns % 10 === 0) await newConversation();
      return fetch(`${base}/api/conversations/${conversation}/chat`, {
        method: 'POST',
        signal,
        headers: json(admin),
        body: JSON.stringify({ trigger: 'submit-message', message: { id: `m${turns}`, text: `Tell me about yields, turn ${turns}` } }),
      });
    };
    /** Reads the first chunk of a stream, then goes away. */
    const vanish = async (response: Response, controller: AbortController) => {
      if (response.status !== 200) throw new Error(`http ${response.status}`);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      controller.abort();
      await reader.cancel().catch(() => undefined);
    };
    const expectBody = async (response: Response, status: number, mark?: string) => {
      const text = await response.text();
      if (response.status !== status) throw new Error(`http ${response.status}`);
      if (mark && !text.includes(mark)) throw new Error('stream ended early');
    };

    const operations: Record<Op, (signal: AbortSignal, controller: AbortController) => Promise<unknown>> = {
      'web chat': async (signal) => expectBody(await webChat(signal), 200, '"status":"complete"'),
      'v1 stream': async (signal) => expectBody(await v1({ stream: true }, signal), 200, 'data: [DONE]'),
      'v1 json': async (signal) => expectBody(await v1({}, signal), 200),
      'v1 collection': async (signal) => expectBody(await v1({ collections: [collection.id] }, signal), 200),
      'vanish web': async (signal, controller) => vanish(await webChat(signal), controller),
      'vanish v1': async (signal, controller) => vanish(await v1({ stream: true }, signal), controller),
      upload: async (signal) => {
        // Ten names in turn: a new upload under a name replaces the old document, so the index stays bounded.
        const n = uploads++;
        const form = new FormData();
        const text = `# Note ${n}\n\nTreasury yields moved ${n % 50} basis points. Liquidity was ${n % 2 ? 'thin' : 'ample'}.\n`;
        form.append('file', new Blob([text], { type: 'text/markdown' }), `note-${n % 10}.md`);
        const response = await fetch(`${base}/api/collections/${collection.id}/documents`, {
          method: 'POST',
          signal,
          headers: write(admin),
          body: form,
        });
        await expectBody(response, 202);
      },
      'conversation search': async (signal) =>
        expectBody(await fetch(`${base}/api/conversations?q=yields`, { signal, headers: { cookie: admin.cookie } }), 200),
      'sign-in': async (signal) => {
        const response = await fetch(`${base}/api/auth/login`, {
          method: 'POST',
          signal,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(ADMIN),
        });
        await expectBody(response, 200);
      },
      'wrong sign-in': async (signal) => {
        const response = await fetch(`${base}/api/auth/login`, {
          method: 'POST',
          signal,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: OTHER.email, password: 'not the password' }),
        });
        await response.text();
        // Refused (401), or throttled after repeated failures (429): both are the right answer.
        if (response.status !== 401 && response.status !== 429) throw new Error(`http ${response.status}`);
      },
    };

    const fire = (op: Op) => {
      if (stats.inFlight >= MAX_IN_FLIGHT) {
        stats.skipped++;
        return;
      }
      stats.inFlight++;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error('client timeout')), REQUEST_TIMEOUT_MS);
      operations[op](controller.signal, controller)
        .then(
          () => count(stats.ok, op),
          (error: Error) => {
            if (op.startsWith('vanish') && controller.signal.aborted && error.name === 'AbortError') return count(stats.ok, op);
            const reason = controller.signal.reason instanceof Error && controller.signal.aborted ? 'client timeout' : error.message;
            count(stats.errors, `${op}: ${reason.replace(/\s+/g, ' ').slice(0, 60)}`);
          },
        )
        .finally(() => {
          clearTimeout(timer);
          stats.inFlight--;
        });
    };

    const credit = new Map<Op, number>();
    const tickMs = 100;
    const ticker = setInterval(() => {
      for (const [op, rate] of Object.entries(RATES) as Array<[Op, number]>) {
        let c = (credit.get(op) ?? 0) + (rate * tickMs) / 1000;
        while (c >= 1) {
          fire(op);
          c--;
        }
        credit.set(op, c);
      }
    }, tickMs);

    const rows: Array<Record<string, string | number>> = [];
    const rssByMinute: number[] = [];
    let lastOk = 0;
    let lastErrors = 0;
    const total = (map: Map<unknown, number>) => [...map.values()].reduce((a, b) => a + b, 0);
    console.error(`soak: ${minutes} minute(s) against pid ${pid}, about ${Object.values(RATES).reduce((a, b) => a + b, 0)} requests/s`);
    for (let minute = 1; minute <= minutes; minute++) {
      await new Promise((r) => setTimeout(r, 60_000));
      const metrics = readMetrics(
        await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text(),
        [
          'axon_nodejs_eventloop_lag_p99_seconds',
          'axon_nodejs_active_handles_total',
          'axon_nodejs_heap_size_used_bytes',
          'axon_active_streams',
        ],
      );
      const rss = rssMb(pid);
      rssByMinute.push(rss);
      const ok = total(stats.ok);
      const errors = total(stats.errors);
      rows.push({
        minute,
        'ok requests': ok - lastOk,
        errors: errors - lastErrors,
        skipped: stats.skipped,
        'in flight': stats.inFlight,
        'rss MB': rss,
        'heap MB': (metrics.axon_nodejs_heap_size_used_bytes ?? Number.NaN) / 1_048_576,
        'open fds': readdirSync(`/proc/${pid}/fd`).length,
        handles: metrics.axon_nodejs_active_handles_total ?? Number.NaN,
        'event-loop lag p99 ms': (metrics.axon_nodejs_eventloop_lag_p99_seconds ?? Number.NaN) * 1000,
        'streams now': metrics.axon_active_streams ?? Number.NaN,
      });
      lastOk = ok;
      lastErrors = errors;
      console.error(`soak: minute ${minute}: rss ${rss.toFixed(1)} MB, ${rows.at(-1)?.['ok requests']} ok, ${rows.at(-1)?.errors} errors`);
    }
    clearInterval(ticker);
    // Let the requests in flight finish (each is bounded by the client timeout).
    const drainUntil = Date.now() + REQUEST_TIMEOUT_MS + 1000;
    while (stats.inFlight > 0 && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 100));

    console.log(`\n## Soak: ${minutes} minute(s) of mixed traffic, sampled every minute\n`);
    printTable(rows);
    console.log('\n## Requests by kind\n');
    printTable(
      (Object.keys(RATES) as Op[]).map((op) => ({
        kind: op,
        'rate /s': RATES[op],
        ok: stats.ok.get(op) ?? 0,
        errors: [...stats.errors].filter(([k]) => k.startsWith(`${op}:`)).reduce((n, [, v]) => n + v, 0),
      })),
    );
    console.log('\n## Errors by kind\n');
    if (stats.errors.size === 0) console.log('(none)');
    else printTable([...stats.errors].map(([kind, n]) => ({ kind, count: n })));

    console.log('\n## Verdict\n');
    const settled = rssByMinute.slice(2);
    if (settled.length < 2) {
      console.log(`RSS: not judged: the verdict compares minute 3 onward, so it needs at least 4 minutes (ran ${minutes}).`);
    } else {
      const reference = settled[0] as number;
      const spread = (Math.max(...settled) - Math.min(...settled)) / reference;
      const verdict = spread <= 0.1 ? 'FLAT' : 'GROWING';
      console.log(
        `RSS ${verdict}: from minute 3 on it stayed within ${(spread * 100).toFixed(1)} % of ${reference.toFixed(1)} MB (limit 10 %); ` +
          `end ${(settled.at(-1) as number).toFixed(1)} MB.`,
      );
    }
    console.log(
      `Errors: ${total(stats.errors)} of ${total(stats.ok) + total(stats.errors)} requests; ${stats.skipped} ticks skipped at the in-flight cap.`,
    );
  } finally {
    await stopProcess(axon);
    await upstream.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runSoak();
