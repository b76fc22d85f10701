// `npm run bench`: every benchmark, one after the other. `--quick` runs shorter rounds.
import { runCapacity } from '../capacity/run';
import { runGatewayOverhead } from '../gateway-overhead/run';
import { runModelOpsOverhead } from '../modelops/run';
import { runPgvectorBenchmark } from '../pgvector/run';
import { runRagBenchmark } from '../rag/run';
import { runRedactionBenchmark } from '../redaction/run';
import { checkScaleOutPrerequisites, runScaleOut } from '../scale-out/run';
import { runSoak } from '../soak/run';
import { runFleetRouting } from './fleet-routing/run';
import { runSemanticCacheBenchmark } from './semantic-cache/run';

const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
// The scale-out benchmark needs PostgreSQL, redis-server and haproxy: checked before anything runs.
if (!only || only === 'scaleout') await checkScaleOutPrerequisites();
if (!only || only === 'gateway') await runGatewayOverhead();
// An alias (three weighted versions, endpoint pools, the exact cache) vs the plain model id at concurrency 1 (about a minute).
if (!only || only === 'modelops') await runModelOpsOverhead();
if (!only || only === 'rag') await runRagBenchmark();
// Simulated vLLM replicas behind random, round-robin, least-outstanding and prefix-aware routing (3–4 minutes).
if (!only || only === 'fleet') await runFleetRouting();
// Loads 300 MB of word vectors first (about 6 s); `--embeddings-url=… --embeddings-model=…` uses an
// OpenAI-compatible embeddings endpoint instead.
if (!only || only === 'semantic-cache') await runSemanticCacheBenchmark();
if (!only || only === 'redaction') await runRedactionBenchmark({ quick: process.argv.includes('--quick') });
// PostgreSQL with pgvector (PGlite) beside SQLite at 10k and 100k chunks; loading 100k into PGlite
// takes many minutes: only when asked for.
if (only === 'pgvector') await runPgvectorBenchmark();
// Four replica setups (SQLite, SQLite with Redis, PostgreSQL with Redis, two replicas behind HAProxy),
// and 1,000 streams across two replicas (8–9 minutes).
if (!only || only === 'scaleout') await runScaleOut();
// One replica's CPU and a new answer's time to first token with 0 to 800 streams open (about 2 minutes).
if (!only || only === 'capacity') await runCapacity();
// Long-running (20 minutes by default, `--soak-minutes=N`): only when asked for.
if (only === 'soak') await runSoak();
