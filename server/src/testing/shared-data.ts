import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The shared data folder beside the repository (`../shared/data`); `AXON_SHARED_DATA` points elsewhere. */
export const SHARED_DATA = process.env.AXON_SHARED_DATA ?? join(import.meta.dirname, '../../../../shared/data');

/** A path inside the shared data; throws (never skips) when it is missing. */
export function sharedDataPath(...parts: string[]): string {
  const path = join(SHARED_DATA, ...parts);
  if (!existsSync(path)) throw new Error(`${path} is missing: these tests read the real data in ../shared/data (see its README).`);
  return path;
}
