// What the tests need outside npm: Debian's Chromium (browser tests) and redis-server (limits
// shared through Redis). `npm test` checks them first; on Debian, run as root, it installs what is
// missing with apt (as .ci/run does); elsewhere it says exactly what to install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
];

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
