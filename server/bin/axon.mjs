#!/usr/bin/env node
// The `axon` command. Runs the bundled server (dist/, made by `npm run build`), or the TypeScript
// sources through tsx when there is no bundle yet or AXON_FROM_SOURCE=1.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli.js', import.meta.url);
if (existsSync(bundle) && process.env.AXON_FROM_SOURCE !== '1') {
  const { runCli } = await import(bundle.href);
  await runCli(process.argv);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { runCli } = await import('../src/cli/cli.ts');
  await runCli(process.argv);
}
