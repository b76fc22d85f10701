// Bundles the server's TypeScript into dist/cli.js so that production runs plain Node: no loader
// thread, faster start, less memory. Dependencies stay external; @axon/contracts (TypeScript
// source shared with the web app) is bundled in.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((name) => name !== '@axon/contracts');

// Chunk names change with their content: start from an empty folder so that stale ones do not pile up.
rmSync(join(root, 'dist'), { recursive: true, force: true });

await build({
  entryPoints: {
    cli: join(root, 'src/cli/cli.ts'),
    'parse-worker': join(root, 'src/rag/ingest/parse-worker.ts'),
    'prompt-log-worker': join(root, 'src/store/sqlite/sqlite-prompt-log-worker.ts'),
    'query-data-worker': join(root, 'src/agents/tools/query-data-worker.mjs'),
  },
  outdir: join(root, 'dist'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  // Dynamic imports become chunks of their own, so a command loads only the packages it uses.
  splitting: true,
  target: 'node20',
  sourcemap: true,
  external: [...external, ...external.map((name) => `${name}/*`)],
  logLevel: 'warning',
});
