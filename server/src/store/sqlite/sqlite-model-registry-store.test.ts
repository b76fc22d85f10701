import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { describeModelRegistryContract } from '../model-registry-contract';
import { openSqliteStore } from './sqlite-store';

const dir = mkdtempSync(join(tmpdir(), 'axon-model-registry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeModelRegistryContract('sqlite', async ({ now }) => {
  const store = openSqliteStore({ path: join(dir, 'axon.db'), now });
  return { store, close: () => store.close() };
});
