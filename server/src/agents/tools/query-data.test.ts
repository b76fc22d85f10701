import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatasetRecord, openSqliteStore, type Store } from '../../store';
import { sharedDataPath } from '../../testing/shared-data';
import { TREASURY_COLUMNS } from '../finance/treasury-summary';
import type { AgentTool, ToolContext } from '../tool';
import { createDatasetFiles } from './dataset-files';
import { loadCsvDataset } from './datasets';
import { createQueryDataTool } from './query-data';
import { createQueryRunner, type QueryRunner } from './query-runner';

let dir: string;
let store: Store;
let runner: QueryRunner;
let dataset: DatasetRecord;
let tool: AgentTool;

const context: ToolContext = {
  user: { id: 'u1', email: 'u@example.com', role: 'member', orgId: 'org_default' },
  agent: { id: 'a1', slug: 'finance' },
  collectionIds: [],
  datasets: ['treasury_yields'],
  signal: new AbortController().signal,
};

const run = (sql: string, ctx: Partial<ToolContext> = {}) => tool.execute(tool.parse({ sql }), { ...context, ...ctx });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'axon-query-'));
  store = openSqliteStore({ path: join(dir, 'axon.db') });
  runner = createQueryRunner();
  const csv = readFileSync(sharedDataPath('treasury', 'daily-treasury-par-yield-curve-2021-2025.csv'), 'utf8');
  dataset = await loadCsvDataset(store.datasets, createDatasetFiles({ dir: join(dir, 'datasets') }), {
    orgId: 'org_default',
    name: 'treasury_yields',
    description: 'US Treasury par yield curve',
    csv,
    columns: TREASURY_COLUMNS,
  });
  // A second dataset the agent is not granted.
  await loadCsvDataset(store.datasets, createDatasetFiles({ dir: join(dir, 'datasets') }), {
    orgId: 'org_default',
    name: 'salaries',
    description: '',
    csv: 'name,pay\nann,100\n',
  });
  tool = createQueryDataTool({
    datasets: [dataset],
    files: createDatasetFiles({ dir: join(dir, 'datasets') }),
    runner,
    caps: { maxRows: 100, timeoutMs: 1500 },
  });
});
afterAll(async () => {
  await runner.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('query_data', () => {
  it('loads the CSV with typed columns and answers a SELECT', async () => {
    expect(dataset.tables[0]?.rows).toBe(1131);
    expect(dataset.tables[0]?.columns.slice(0, 3)).toEqual([
      { name: 'date', type: 'TEXT' },
      { name: 'm1', type: 'REAL' },
      { name: 'm1_5', type: 'REAL' },
    ]);
    const { value } = await run("SELECT date, y2, y10 FROM treasury_yields WHERE date = '2023-03-13'");
    expect(value).toMatchObject({ columns: ['date', 'y2', 'y10'], rows: [['2023-03-13', 4.03, 3.55]], truncated: false });
  });

  it('caps the rows', async () => {
    const { value } = await run('SELECT date FROM treasury_yields');
    expect(value).toMatchObject({ rowCount: 100, truncated: true });
  });

  const abuse: Array<[string, string, RegExp]> = [
    ['DROP', 'DROP TABLE treasury_yields', /Only SELECT/],
    ['DELETE', 'DELETE FROM treasury_yields', /Only SELECT/],
    ['UPDATE', 'UPDATE treasury_yields SET y10 = 0', /Only SELECT/],
    ['INSERT', "INSERT INTO treasury_yields (date) VALUES ('x')", /Only SELECT/],
    ['ATTACH', "ATTACH DATABASE '/tmp/x.db' AS x", /Only SELECT/],
    ['PRAGMA', 'PRAGMA table_info(treasury_yields)', /not one SQLite SELECT/],
    ['several statements', 'SELECT 1; DROP TABLE treasury_yields', /exactly one statement/],
    ['two SELECTs', 'SELECT 1; SELECT 2', /exactly one statement/],
    ['UNION into the schema table', 'SELECT date FROM treasury_yields UNION SELECT sql FROM sqlite_master', /sqlite_master is not one/],
    ['UNION into another dataset', 'SELECT date, y10 FROM treasury_yields UNION SELECT name, pay FROM salaries', /salaries is not one/],
    ['a subquery outside the allow-list', 'SELECT * FROM (SELECT * FROM sqlite_schema)', /sqlite_schema is not one/],
    ['a schema prefix', 'SELECT * FROM main.treasury_yields', /schema prefix/],
    ['a table-valued pragma', "SELECT * FROM pragma_table_info('treasury_yields')", /Table-valued functions/],
    ['load_extension', "SELECT load_extension('/tmp/evil.so')", /load_extension is not allowed/],
    ['a large blob', 'SELECT randomblob(1000000000)', /randomblob is not allowed/],
    ['a large string', "SELECT printf('%.*c', 1000000000, 'x')", /printf is not allowed/],
  ];
  for (const [name, sql, message] of abuse) {
    it(`refuses ${name}`, async () => {
      await expect(run(sql)).rejects.toThrow(message);
    });
  }

  it('a cartesian join hits the row cap', async () => {
    const { value } = await run('SELECT a.date, b.date FROM treasury_yields a, treasury_yields b');
    expect(value).toMatchObject({ rowCount: 100, truncated: true });
  });

  it('a cartesian join that must be counted hits the time cap, and the next query still runs', async () => {
    const started = performance.now();
    await expect(run('SELECT count(*) FROM treasury_yields a, treasury_yields b, treasury_yields c')).rejects.toThrow(
      /time cap of 1500 ms/,
    );
    expect(performance.now() - started).toBeLessThan(3000);
    const { value } = await run('SELECT count(*) AS n FROM treasury_yields');
    expect(value).toMatchObject({ rows: [[1131]] });
  });

  it('Stop ends a running query', async () => {
    const stop = new AbortController();
    const pending = run('SELECT count(*) FROM treasury_yields a, treasury_yields b, treasury_yields c', { signal: stop.signal });
    setTimeout(() => stop.abort(), 100);
    const started = performance.now();
    await expect(pending).rejects.toThrow(/stopped/);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('refuses a dataset the agent was not granted', async () => {
    await expect(tool.execute({ dataset: 'salaries', sql: 'SELECT * FROM salaries' }, context)).rejects.toThrow(
      /not one this agent may read/,
    );
    await expect(run('SELECT 1', { datasets: [] })).rejects.toThrow(/not one this agent may read/);
  });

  it('opens the dataset read-only, even for a statement the parser let through', async () => {
    const file = join(dir, 'datasets', dataset.file);
    await expect(
      runner.run({ file, sql: 'DELETE FROM treasury_yields', maxRows: 1, timeoutMs: 1000, signal: new AbortController().signal }),
    ).rejects.toThrow(/returns no rows|readonly|read-only/);
    const { value } = await run('SELECT count(*) FROM treasury_yields');
    expect(value).toMatchObject({ rows: [[1131]] });
  });
});
