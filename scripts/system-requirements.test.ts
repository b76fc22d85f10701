import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain script without type declarations
import { machineFacts, planSystemRequirements, withLoopbackTrust } from './system-requirements.mjs';

const ROOT = join(import.meta.dirname, '..');
const nothing = { present: () => false };

describe('what npm test needs outside npm', () => {
  it("lets user postgres sign in from loopback without a password, first in Debian's pg_hba.conf, once", () => {
    const debian = [
      'local   all             postgres                                peer',
      'host    all             all             127.0.0.1/32            scram-sha-256',
      'host    all             all             ::1/128                 scram-sha-256',
    ].join('\n');
    const trusted = withLoopbackTrust(debian);
    const rules = trusted.split('\n').filter((line: string) => line && !line.startsWith('#'));
    // Rules are read top down: the trust lines must come before Debian's scram-sha-256 ones.
    expect(rules.slice(0, 2)).toEqual(['host all postgres 127.0.0.1/32 trust', 'host all postgres ::1/128 trust']);
    expect(trusted.endsWith(debian)).toBe(true);
    expect(withLoopbackTrust(trusted)).toBe(trusted);
  });

  it('installs the missing programs with apt on Debian as root', () => {
    const plan = planSystemRequirements({ ...nothing, debian: true, apt: true, root: true });
    expect(plan.install).toEqual(['chromium', 'redis-server', 'postgresql', 'haproxy']);
  });

  it('gives the exact apt command on Debian without root', () => {
    const plan = planSystemRequirements({ ...nothing, debian: true, apt: true, root: false });
    expect(plan.install).toBeUndefined();
    expect(plan.message).toContain('sudo apt-get install -y chromium redis-server postgresql haproxy');
  });

  it('says what to install, program by program, elsewhere', () => {
    const plan = planSystemRequirements({ ...nothing, debian: false, apt: false, root: false });
    expect(plan.install).toBeUndefined();
    expect(plan.message).toMatch(/chromium: install Chromium and make \/usr\/bin\/chromium start it/);
    expect(plan.message).toMatch(/redis-server: install Redis so that redis-server and redis-cli are on PATH/);
  });

  it('finds programs on this machine by their path', () => {
    const empty = mkdtempSync(join(tmpdir(), 'axon-path-'));
    try {
      const facts = machineFacts({ path: empty, chromiumPath: join(empty, 'chromium') });
      expect(planSystemRequirements({ ...facts, root: true, debian: true, apt: true }).install).toEqual([
        'chromium',
        'redis-server',
        'postgresql',
        'haproxy',
      ]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('stops npm test before its first step, saying what to install, when a program is missing and apt cannot run', () => {
    const bin = mkdtempSync(join(tmpdir(), 'axon-bin-'));
    try {
      // Only node on PATH: no redis-server, no apt-get.
      symlinkSync(process.execPath, join(bin, 'node'));
      const result = spawnSync(join(bin, 'node'), [join(ROOT, 'scripts/test.mjs')], {
        cwd: ROOT,
        env: { PATH: bin, HOME: process.env.HOME ?? '/tmp' },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status).toBe(1);
      expect(result.stdout).toContain('redis-server (the tests of rate limits shared through Redis)');
      expect(result.stdout).toMatch(/apt-get install -y [a-z -]*redis-server|redis-server: install Redis/);
      expect(result.stdout).toContain('The system step failed.');
      expect(result.stdout).not.toContain('── lint');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
