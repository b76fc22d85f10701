import { z } from 'zod';
import type { DatasetRecord } from '../../store';
import { type AgentTool, parseWith, ToolRefusal } from '../tool';
import { checkSelect } from './check-select';
import type { DatasetFiles } from './dataset-files';
import type { QueryRunner } from './query-runner';

export interface QueryDataCaps {
  /** Rows returned at most; the rest is cut and the result says so. */
  maxRows: number;
  /** Milliseconds a query may run. */
  timeoutMs: number;
}

export const DEFAULT_QUERY_CAPS: QueryDataCaps = { maxRows: 500, timeoutMs: 3000 };

const Input = z.strictObject({
  dataset: z.string().max(63).optional(),
  sql: z.string().trim().min(1).max(10_000),
});

const describeDataset = (d: DatasetRecord) =>
  `${d.name}${d.description ? ` (${d.description})` : ''}: ${d.tables
    .map((t) => `table ${t.name}(${t.columns.map((c) => `${c.name} ${c.type}`).join(', ')}), ${t.rows} rows`)
    .join('; ')}`;

/**
 * `query_data`: one read-only SELECT over the agent's datasets. The query is parser-checked
 * (`checkSelect`), then run on the dataset's own SQLite file opened read-only, with row and time caps
 * (on this replica's copy of it: `files.localPath`).
 */
export function createQueryDataTool(deps: {
  datasets: DatasetRecord[];
  files: DatasetFiles;
  runner: QueryRunner;
  caps?: QueryDataCaps | undefined;
}): AgentTool {
  const caps = deps.caps ?? DEFAULT_QUERY_CAPS;
  const byName = new Map(deps.datasets.map((d) => [d.name, d]));
  return {
    name: 'query_data',
    description: `Runs one read-only SQLite SELECT on a dataset and returns its rows (at most ${caps.maxRows}). Datasets: ${
      deps.datasets.map(describeDataset).join(' | ') || 'none'
    }.`,
    inputSchema: z.toJSONSchema(Input) as AgentTool['inputSchema'],
    parse: parseWith(Input),
    needsApproval: false,
    async execute(input, context) {
      const { dataset: name, sql } = input as z.infer<typeof Input>;
      const dataset = name ? byName.get(name) : deps.datasets.length === 1 ? deps.datasets[0] : undefined;
      if (!dataset && !name) throw new ToolRefusal(`Name the dataset: ${deps.datasets.map((d) => d.name).join(', ')}.`);
      if (!dataset || !context.datasets.includes(dataset.name))
        throw new ToolRefusal(`The dataset ${name ?? dataset?.name} is not one this agent may read.`);
      await checkSelect(
        sql,
        dataset.tables.map((t) => t.name),
      );
      const file = await deps.files.localPath(dataset.file).catch(() => {
        throw new ToolRefusal(`The dataset ${dataset.name} cannot be read here now; try again later.`);
      });
      const result = await deps.runner.run({
        file,
        sql,
        maxRows: caps.maxRows,
        timeoutMs: caps.timeoutMs,
        signal: context.signal,
      });
      return {
        value: {
          dataset: dataset.name,
          columns: result.columns,
          rows: result.rows,
          rowCount: result.rows.length,
          truncated: result.truncated,
        },
      };
    },
  };
}
