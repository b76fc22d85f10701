// Imported first by main.tsx, before any module builds a zod schema (the AI SDK builds its own).
// The Content Security Policy allows no `eval`, and zod probes for `new Function` (to compile its
// parsers) when the first object schema is built: under the policy that probe is a violation report
// on every page load. Parsing without compiled parsers needs no `eval`.
import { config } from 'zod';

config({ jitless: true });
