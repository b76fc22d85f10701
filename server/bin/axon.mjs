#!/usr/bin/env node
// The `axon` command. Runs the bundled server (dist/, made by `npm run build`), or the TypeScript
// sources through tsx when there is no bundle yet or AXON_FROM_SOURCE=1.
import { existsSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';

// npm runs a workspace's script in the workspace's folder (`npm start` at the repository root runs
// `serve` in server/). Relative paths (the data directory, axon.config.yaml, AXON_CONFIG) belong to
// the folder the person ran npm in, which npm passes as INIT_CWD, so that the server and
// `npx axon …` from the same folder read the same configuration and the same data.
const { INIT_CWD, npm_package_json } = process.env;
if (INIT_CWD && npm_package_json && existsSync(npm_package_json) && existsSync(INIT_CWD)) {
  if (realpathSync(dirname(npm_package_json)) === realpathSync(process.cwd())) process.chdir(INIT_CWD);
}

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
