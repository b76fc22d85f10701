// Runs a simulated OpenAI-compatible upstream in its own process:
//   tsx bench/src/serve-upstream.ts --port 8787 --tokens 256 --delay 0
// Handy for trying the web app against a "real" streaming model, and used by the benchmarks.
import { parseArgs } from 'node:util';
import { startSimulatedUpstream } from './simulated-upstream';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8787' },
    tokens: { type: 'string', default: '64' },
    delay: { type: 'string', default: '30' },
    'chunks-per-write': { type: 'string', default: '8' },
  },
});
const upstream = await startSimulatedUpstream({
  port: Number(values.port),
  record: false,
  models: ['sim-1', 'sim-2'],
  behaviour: { tokens: Number(values.tokens), tokenDelayMs: Number(values.delay), chunksPerWrite: Number(values['chunks-per-write']) },
});
console.log(`simulated upstream on ${upstream.url}`);
