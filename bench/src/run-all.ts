// `npm run bench`: every benchmark, one after the other. `--quick` runs shorter rounds.
import { runGatewayOverhead } from '../gateway-overhead/run';
import { runRagBenchmark } from '../rag/run';
import { runRedactionBenchmark } from '../redaction/run';
import { runSoak } from '../soak/run';

const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
if (!only || only === 'gateway') await runGatewayOverhead();
if (!only || only === 'rag') await runRagBenchmark();
if (!only || only === 'redaction') await runRedactionBenchmark({ quick: process.argv.includes('--quick') });
// Long-running (20 minutes by default, `--soak-minutes=N`): only when asked for.
if (only === 'soak') await runSoak();
