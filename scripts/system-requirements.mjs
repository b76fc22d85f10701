// What the tests need outside npm: Debian's Chromium (browser tests), redis-server, PostgreSQL and
// HAProxy (the scale-out tests). `npm test` checks them first; on Debian, run as root, it installs what
// is missing with apt (as .ci/run does) and starts PostgreSQL and Redis on loopback when they are not
// running; elsewhere it says exactly what to install and start.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The programs the test suite runs, the Debian package of each, and how to get it elsewhere. */
export const REQUIREMENTS = [
  {
    name: 'chromium',
    apt: 'chromium',
    neededFor: 'the browser tests (e2e/)',
    present: (env) => existsSync(env.chromiumPath ?? '/usr/bin/chromium'),
    elsewhere: 'install Chromium and make /usr/bin/chromium start it (a symlink to chromium or google-chrome works)',
  },
  {
    name: 'redis-server',
    apt: 'redis-server',
    neededFor: 'the tests of rate limits shared through Redis',
    present: (env) => onPath('redis-server', env.path) && onPath('redis-cli', env.path),
    elsewhere: 'install Redis so that redis-server and redis-cli are on PATH (macOS: brew install redis)',
  },
  {
    name: 'postgresql',
    apt: 'postgresql',
    neededFor: 'the PostgreSQL store tests',
    present: (env) => onPath('psql', env.path) && (existsSync('/etc/postgresql') || onPath('pg_ctl', env.path)),
    elsewhere: 'install PostgreSQL 15 or later and run it on 127.0.0.1:5432 with trust auth for user postgres',
  },
  {
    name: 'haproxy',
    apt: 'haproxy',
    neededFor: 'the multi-replica tests (a round-robin proxy in front of three replicas)',
    present: (env) => onPath('haproxy', env.path),
    elsewhere: 'install HAProxy so that haproxy is on PATH (macOS: brew install haproxy)',
  },
];

/** The services the tests talk to on loopback, and how to start each on Debian when it is down. */
export const SERVICES = [
  {
    name: 'PostgreSQL',
    port: 5432,
    start: ['sh', ['-c', 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n 1) main start']],
  },
  {
    name: 'Redis',
    port: 6379,
    start: [
      'redis-server',
      ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', '6379', '--save', '', '--appendonly', 'no', '--dir', '/tmp'],
    ],
  },
];

function listening(port) {
  // A TCP connect from a child process, so this stays synchronous.
  const probe = `require('net').connect(${port},'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`;
  return spawnSync(process.execPath, ['-e', probe], { timeout: 5000 }).status === 0;
}

/** The lines that let user postgres sign in from loopback without a password (the tests' databases). */
const LOOPBACK_TRUST = ['host all postgres 127.0.0.1/32 trust', 'host all postgres ::1/128 trust'];
const TRUST_MARK = '# Axon test suite: user postgres from loopback without a password';

/**
 * `pg_hba.conf` with the loopback trust lines first (rules are read top down), once; the text as it
 * was when they are there already.
 */
export function withLoopbackTrust(hba) {
  if (hba.includes(TRUST_MARK)) return hba;
  return `${TRUST_MARK}\n${LOOPBACK_TRUST.join('\n')}\n${hba}`;
}

function postgresSignsIn() {
  const probe = spawnSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-w', '-d', 'postgres', '-Atc', 'select 1'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { ok: probe.status === 0, error: (probe.stderr ?? '').trim() };
}

/**
 * The tests sign in as user postgres on 127.0.0.1 without a password. Debian's package asks for one
 * on TCP: on Debian as root, the loopback trust lines are added to the cluster's pg_hba.conf (and
 * the cluster reloaded), saying so; elsewhere the error says what to set.
 */
function ensurePostgresLogin() {
  const first = postgresSignsIn();
  if (first.ok) return true;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
  const hbaFile = versions.length > 0 ? `/etc/postgresql/${versions[0]}/main/pg_hba.conf` : undefined;
  if (root && hbaFile && existsSync(hbaFile)) {
    process.stdout.write(
      `PostgreSQL refused user postgres on 127.0.0.1 (${first.error}); letting it sign in from loopback without a password in ${hbaFile}\n`,
    );
    writeFileSync(hbaFile, withLoopbackTrust(readFileSync(hbaFile, 'utf8')));
    spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', versions[0], 'main', 'reload'], { stdio: 'inherit' });
    if (postgresSignsIn().ok) return true;
  }
  process.stdout.write(
    `The tests sign in to PostgreSQL as user postgres on 127.0.0.1:5432 without a password, which it refused (${first.error}). Add "${LOOPBACK_TRUST[0]}" first in pg_hba.conf and reload, or set AXON_TEST_POSTGRES_URL to a URL that signs in.\n`,
  );
  return false;
}

/** Starts PostgreSQL and Redis on loopback when they are not listening; false (after saying why) if one cannot be. */
export function ensureServices() {
  for (const service of SERVICES) {
    if (listening(service.port)) continue;
    process.stdout.write(`${service.name} is not listening on 127.0.0.1:${service.port}; starting it\n`);
    const [command, args] = service.start;
    spawnSync(command, args, { stdio: 'inherit' });
    const deadline = Date.now() + 20_000;
    while (!listening(service.port) && Date.now() < deadline) spawnSync('sleep', ['0.5']);
    if (!listening(service.port)) {
      process.stdout.write(`${service.name} did not start; start it on 127.0.0.1:${service.port} (${[command, ...args].join(' ')}).\n`);
      return false;
    }
  }
  return process.env.AXON_TEST_POSTGRES_URL ? true : ensurePostgresLogin();
}

function onPath(program, path = process.env.PATH ?? '') {
  return path.split(delimiter).some((dir) => dir && existsSync(join(dir, program)));
}

/**
 * What to do about missing programs. `facts` describe the machine: which programs are there, whether
 * this is Debian with apt, and whether we run as root (apt needs it).
 */
export function planSystemRequirements(facts) {
  const missing = REQUIREMENTS.filter((r) => !facts.present(r));
  if (missing.length === 0) return { missing: [], install: undefined, message: undefined };
  const packages = missing.map((r) => r.apt);
  const aptCommand = `apt-get install -y ${packages.join(' ')}`;
  if (facts.debian && facts.apt && facts.root) {
    return { missing: missing.map((r) => r.name), install: packages, message: `installing with apt: ${packages.join(' ')}` };
  }
  const lines = [`The tests need programs that are not installed: ${missing.map((r) => `${r.name} (${r.neededFor})`).join(', ')}.`];
  if (facts.debian) lines.push(`Install them with: sudo ${aptCommand}   (or run npm test as root, or .ci/run, which install them)`);
  else for (const r of missing) lines.push(`  - ${r.name}: ${r.elsewhere}`);
  return { missing: missing.map((r) => r.name), install: undefined, message: lines.join('\n') };
}

/** The facts of this machine. */
export function machineFacts(env = {}) {
  return {
    present: (requirement) => requirement.present(env),
    debian: existsSync('/etc/debian_version'),
    apt: onPath('apt-get', env.path),
    root: typeof process.getuid === 'function' && process.getuid() === 0,
  };
}

/** Checks, and installs on Debian as root; returns false (after saying why) when the tests cannot run. */
export function ensureSystemRequirements() {
  const plan = planSystemRequirements(machineFacts());
  if (plan.missing.length === 0) return true;
  process.stdout.write(`${plan.message}\n`);
  if (!plan.install) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', ...plan.install],
  ]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0) {
      process.stdout.write(`apt-get ${args.join(' ')} failed; install ${plan.install.join(' ')} by hand.\n`);
      return false;
    }
  }
  const after = planSystemRequirements(machineFacts());
  if (after.missing.length > 0) process.stdout.write(`still missing after apt: ${after.missing.join(', ')}\n`);
  return after.missing.length === 0;
}
