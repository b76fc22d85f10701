import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '@axon/contracts';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { AppError } from '../../errors';
import type { DatasetRecord, DatasetRepository } from '../../store';
import type { DatasetFiles } from './dataset-files';

/** A CSV header as an SQL identifier: lower case, letters, digits and `_`, not starting with a digit. */
export function columnNameOf(header: string): string {
  const name = header
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return /^[a-z]/.test(name) ? name : `c_${name || 'column'}`;
}

export interface LoadCsvDatasetInput {
  orgId: string;
  /** The dataset's name, and its one table's. */
  name: string;
  description: string;
  csv: string;
  /** Header → column name, for headers that deserve a better name than `columnNameOf` gives. */
  columns?: Record<string, string> | undefined;
}

/**
 * Loads a CSV into a SQLite database of its own (one table named after the dataset; a column is
 * REAL when every value in it is a number, TEXT otherwise; empty cells are NULL), written beside
 * and renamed into place, shared with the other replicas (`files.publish`), then registers it.
 * Loading the same name again replaces it.
 */
export async function loadCsvDataset(datasets: DatasetRepository, files: DatasetFiles, input: LoadCsvDatasetInput): Promise<DatasetRecord> {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(input.name))
    throw new AppError('validation_failed', { detail: 'A dataset name is lower-case letters, digits and _.' });
  const records = parse(input.csv, { bom: true, skip_empty_lines: true, relax_column_count: false }) as string[][];
  const [header, ...rows] = records;
  if (!header || header.length === 0) throw new AppError('validation_failed', { detail: 'The CSV has no header row.' });
  const names = header.map((h) => input.columns?.[h] ?? columnNameOf(h));
  if (new Set(names).size !== names.length)
    throw new AppError('validation_failed', { detail: `Two columns get the same name: ${names.join(', ')}` });
  const numeric = names.map((_, i) => rows.every((r) => (r[i] ?? '') === '' || Number.isFinite(Number(r[i]))));
  const types = numeric.map((n) => (n ? 'REAL' : 'TEXT'));

  const folder = join(files.dir, input.orgId);
  mkdirSync(folder, { recursive: true });
  const file = `${input.name}-${Date.now().toString(36)}${randomBytes(3).toString('hex')}.sqlite`;
  const building = join(folder, `${file}.partial`);
  const db = new Database(building);
  try {
    db.exec(`CREATE TABLE ${input.name} (${names.map((n, i) => `"${n}" ${types[i]}`).join(', ')})`);
    const insert = db.prepare(`INSERT INTO ${input.name} VALUES (${names.map(() => '?').join(', ')})`);
    db.transaction(() => {
      for (const row of rows) insert.run(...names.map((_, i) => ((row[i] ?? '') === '' ? null : numeric[i] ? Number(row[i]) : row[i])));
    })();
    const first = names[0];
    if (first) db.exec(`CREATE INDEX ${input.name}_${first} ON ${input.name}("${first}")`);
  } finally {
    db.close();
  }
  renameSync(building, join(folder, file));
  try {
    await files.publish(join(input.orgId, file));
  } catch (error) {
    rmSync(join(folder, file), { force: true });
    throw error;
  }
  const previous = await datasets.get(input.orgId, input.name);
  const tables: Dataset['tables'] = [
    { name: input.name, columns: names.map((n, i) => ({ name: n, type: types[i] as string })), rows: rows.length },
  ];
  const record = await datasets.put({
    orgId: input.orgId,
    name: input.name,
    description: input.description,
    file: join(input.orgId, file),
    tables,
  });
  if (previous && previous.file !== record.file) await files.remove(previous.file);
  return record;
}
