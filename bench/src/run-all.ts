// `npm run bench`: every benchmark, one after the other. `--quick` runs shorter rounds.
import { runGatewayOverhead } from '../gateway-overhead/run';
import { runRagBenchmark } from '../rag/run';
import { runRedactionBenchmark } from '../redaction/run';

const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
if (!only || only === 'gateway') await runGatewayOverhead();
if (!only || only === 'rag') await runRagBenchmark();
if (!only || only === 'redaction') await runRedactionBenchmark({ quick: process.argv.includes('--quick') });
