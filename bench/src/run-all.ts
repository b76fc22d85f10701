// `npm run bench`: every benchmark, one after the other. `--quick` runs shorter rounds.
import { runGatewayOverhead } from '../gateway-overhead/run';

await runGatewayOverhead();
