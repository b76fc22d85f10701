import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const AXON = join(import.meta.dirname, '../../bin/axon.mjs');

/**
 * A repository laid out like Axon's: a root package with a server workspace whose scripts run the
 * `axon` command, as the root's `npm start` runs `npm run serve --workspace @axon/server`.
 */
function makeRepository(): string {
  const root = mkdtempSync(join(tmpdir(), 'axon-wd-'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'wd-root', private: true, workspaces: ['srv'] }));
  mkdirSync(join(root, 'srv'));
  writeFileSync(
    join(root, 'srv/package.json'),
    JSON.stringify({
      name: 'wd-srv',
      private: true,
      scripts: {
        migrate: `node ${JSON.stringify(AXON)} migrate`,
        users: `node ${JSON.stringify(AXON)} user list`,
      },
    }),
  );
  return root;
}

/** The environment of a person's shell: no Axon settings, nothing from an npm already running. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('AXON_') || k.startsWith('npm_') || k === 'INIT_CWD' || k === 'PORT') continue;
    env[k] = v;
  }
  return { ...env, AXON_FROM_SOURCE: '1', ...extra };
}

let root: string;
beforeEach(() => {
  root = makeRepository();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('one working directory for the server and the CLI', () => {
  it('puts the data in ./data of the folder npm ran in, not in the workspace folder', async () => {
    await run('npm', ['run', '--silent', 'migrate', '--workspace', 'wd-srv'], { cwd: root, env: cleanEnv() });
    expect(existsSync(join(root, 'data/axon.db'))).toBe(true);
    expect(existsSync(join(root, 'srv/data'))).toBe(false);
  });

  it('reads axon.config.yaml from that folder, and a relative AXON_CONFIG against it', async () => {
    writeFileSync(join(root, 'axon.config.yaml'), 'dataDir: ./from-root-yaml\n');
    await run('npm', ['run', '--silent', 'migrate', '--workspace', 'wd-srv'], { cwd: root, env: cleanEnv() });
    expect(existsSync(join(root, 'from-root-yaml/axon.db'))).toBe(true);

    mkdirSync(join(root, 'conf'));
    writeFileSync(join(root, 'conf/other.yaml'), 'dataDir: ./from-axon-config\n');
    await run('npm', ['run', '--silent', 'migrate', '--workspace', 'wd-srv'], {
      cwd: root,
      env: cleanEnv({ AXON_CONFIG: 'conf/other.yaml' }),
    });
    expect(existsSync(join(root, 'from-axon-config/axon.db'))).toBe(true);
    expect(existsSync(join(root, 'srv/from-axon-config'))).toBe(false);
  });

  it('lets the command line, run from the same folder, see the accounts the npm script sees', async () => {
    // `npx axon user create …` at the root runs the command with the root as its working directory.
    await run('node', [AXON, 'user', 'create', '--email', 'owner@example.com', '--password', 'owner password 1', '--role', 'admin'], {
      cwd: root,
      env: cleanEnv(),
    });
    const { stdout } = await run('npm', ['run', '--silent', 'users', '--workspace', 'wd-srv'], { cwd: root, env: cleanEnv() });
    expect(stdout).toContain('owner@example.com');
  });

  it('leaves a command started directly in another folder where it was started', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'axon-wd-direct-'));
    try {
      // As a test or a service manager runs it: npm's variables of an outer run are no reason to move.
      await run('node', [AXON, 'migrate'], {
        cwd: elsewhere,
        env: cleanEnv({ INIT_CWD: root, npm_package_json: join(root, 'package.json') }),
      });
      expect(existsSync(join(elsewhere, 'data/axon.db'))).toBe(true);
      expect(existsSync(join(root, 'data'))).toBe(false);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
