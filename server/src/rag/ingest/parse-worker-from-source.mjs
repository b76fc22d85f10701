// Development entry of the parse worker: registers tsx in this thread, then runs the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./parse-worker.ts');
