import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { describeShareStoreContract } from '../share-store-contract';
import { openSqliteStore } from './sqlite-store';

const dir = mkdtempSync(join(tmpdir(), 'axon-share-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeShareStoreContract('sqlite', async ({ now }) => {
  const store = openSqliteStore({ path: join(dir, 'axon.db'), now });
  return { store, close: () => store.close() };
});
