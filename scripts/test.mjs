#!/usr/bin/env node
// `npm test`: the programs the tests need (installed with apt on Debian as root) → format and lint →
// typecheck → build the web app → unit and API tests → browser tests, in that order, stopping at the
// first failing step. Ends with one summary line, "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { ensureServices, ensureSystemRequirements } from './system-requirements.mjs';

process.stdout.write('── system: chromium, redis-server, postgresql, haproxy; PostgreSQL and Redis on loopback\n');
if (!ensureSystemRequirements() || !ensureServices()) {
  process.stdout.write('\nThe system step failed.\n\n0 passed, 0 failed\n');
  process.exit(1);
}

const steps = [
  ['lint', 'npx', ['biome', 'check', '.']],
  ['typecheck', 'npm', ['run', 'typecheck']],
  ['build', 'npm', ['run', 'build']],
  ['unit', 'npx', ['vitest', 'run', '--project', 'unit', '--reporter=default', '--reporter=json', '--outputFile.json=.vitest-unit.json']],
  ['e2e', 'npx', ['vitest', 'run', '--project', 'e2e', '--reporter=default', '--reporter=json', '--outputFile.json=.vitest-e2e.json']],
];

let passed = 0;
let failed = 0;
let skipped = 0;
let failedStep;
for (const [name, command, args] of steps) {
  process.stdout.write(`\n── ${name}: ${command} ${args.join(' ')}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit' });
  const report = `.vitest-${name}.json`;
  if (existsSync(report)) {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    passed += json.numPassedTests;
    failed += json.numFailedTests;
    skipped += json.numPendingTests + json.numTodoTests;
    rmSync(report);
  }
  if (result.status !== 0) {
    failedStep = name;
    break;
  }
}
if (failedStep) process.stdout.write(`\nThe ${failedStep} step failed.\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failedStep ? 1 : 0);
