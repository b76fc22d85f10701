// Development entry of the prompt-log writer: registers tsx in this thread, then runs the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./sqlite-prompt-log-worker.ts');
