import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentBudgets, TreasurySummary } from '@axon/contracts';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore, type Store } from '../../store';
import { createScriptedModel } from '../../testing/scripted-model';
import { sharedDataPath } from '../../testing/shared-data';
import { runAgent } from '../run-agent';
import { createDatasetFiles, type DatasetFiles } from '../tools/dataset-files';
import { loadCsvDataset } from '../tools/datasets';
import { createQueryDataTool } from '../tools/query-data';
import { createQueryRunner, type QueryRunner } from '../tools/query-runner';
import { checkGrounding, numbersIn } from './grounding-check';
import { TREASURY_DATASET, treasurySummaryPlan } from './treasury-plan';
import { asksForTreasurySummary, dateInQuestion, TREASURY_COLUMNS } from './treasury-summary';

const CSV = readFileSync(sharedDataPath('treasury', 'daily-treasury-par-yield-curve-2021-2025.csv'), 'utf8');
const rows = parse(CSV, { columns: true }) as Array<Record<string, string>>;

/** The expected figures, computed here straight from the CSV's text. */
function expected(date: string) {
  const i = rows.findIndex((r) => r.Date === date);
  const day = rows[i] as Record<string, string>;
  const previous = rows[i - 1] as Record<string, string>;
  const cutoff = new Date(Date.parse(`${date}T00:00:00Z`) - 7 * 86_400_000).toISOString().slice(0, 10);
  const week = [...rows].reverse().find((r) => (r.Date as string) <= cutoff) as Record<string, string>;
  const bp = (a?: string, b?: string) => (a && b ? Math.round((Number(a) - Number(b)) * 100) : null);
  return {
    previousDate: previous.Date,
    weekAgoDate: week.Date,
    tenors: Object.keys(day)
      .filter((k) => k !== 'Date' && day[k] !== '')
      .map((k) => ({ tenor: k, level: Number(day[k]), change1dBp: bp(day[k], previous[k]), change1wBp: bp(day[k], week[k]) })),
    s2s10s: bp(day['10 Yr'], day['2 Yr']) as number,
    s3m10y: bp(day['10 Yr'], day['3 Mo']) as number,
    s2s10sPrev: bp(previous['10 Yr'], previous['2 Yr']) as number,
    s2s10sWeek: bp(week['10 Yr'], week['2 Yr']) as number,
  };
}

const BUDGETS: AgentBudgets = { maxSteps: 8, maxSeconds: 30, maxTokens: 100_000 };
let dir: string;
let store: Store;
let runner: QueryRunner;
let datasetFiles: DatasetFiles;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'axon-finance-'));
  datasetFiles = createDatasetFiles({ dir: join(dir, 'datasets') });
  store = openSqliteStore({ path: join(dir, 'axon.db') });
  runner = createQueryRunner();
  await loadCsvDataset(store.datasets, datasetFiles, {
    orgId: 'org_default',
    name: TREASURY_DATASET,
    description: '',
    csv: CSV,
    columns: TREASURY_COLUMNS,
  });
});
afterAll(async () => {
  await runner.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function summarise(question: string, narrator?: ReturnType<typeof createScriptedModel>) {
  const dataset = await store.datasets.get('org_default', TREASURY_DATASET);
  const result = await runAgent({
    model: createScriptedModel([{ text: 'the plan does not ask the planner to plan' }]),
    prompt: [{ role: 'user', content: [{ type: 'text', text: question }] }],
    tools: [createQueryDataTool({ datasets: dataset ? [dataset] : [], files: datasetFiles, runner })],
    context: {
      user: { id: 'u1', email: 'u@example.com', role: 'member', orgId: 'org_default' },
      agent: { id: 'a1', slug: 'finance' },
      collectionIds: [],
      datasets: [TREASURY_DATASET],
    },
    budgets: BUDGETS,
    signal: new AbortController().signal,
    plan: treasurySummaryPlan({ question, narrator, json: false }),
  });
  return result;
}

describe('the treasury summary', () => {
  const cases: Array<[string, string, TreasurySummary['shape']['curve']]> = [
    ['Summarize today’s treasury yield movement.', '2025-07-11', 'normal'],
    ['Summarize the treasury yield movement on March 13, 2023.', '2023-03-13', 'inverted'],
    ['Summarize the treasury yield movement on 2022-06-13', '2022-06-13', 'flat'],
  ];
  for (const [question, date, curve] of cases) {
    it(`matches the CSV for ${date} (${curve})`, async () => {
      const result = await summarise(question);
      const summary = result.summary as TreasurySummary;
      const want = expected(date);
      expect(summary.date).toBe(date);
      expect(summary.previousDate).toBe(want.previousDate);
      expect(summary.weekAgoDate).toBe(want.weekAgoDate);
      expect(summary.tenors.map(({ tenor, level, change1dBp, change1wBp }) => ({ tenor, level, change1dBp, change1wBp }))).toEqual(
        want.tenors,
      );
      expect(summary.spreads['2s10s']).toEqual({
        levelBp: want.s2s10s,
        change1dBp: want.s2s10s - want.s2s10sPrev,
        change1wBp: want.s2s10s - want.s2s10sWeek,
      });
      expect(summary.spreads['3m10y'].levelBp).toBe(want.s3m10y);
      expect(summary.shape.curve).toBe(curve);
      const biggest = [...want.tenors]
        .filter((t) => t.change1dBp !== null)
        .sort((a, b) => Math.abs(b.change1dBp ?? 0) - Math.abs(a.change1dBp ?? 0))[0];
      expect(Math.abs(summary.largestMoves[0]?.change1dBp ?? 0)).toBe(Math.abs(biggest?.change1dBp ?? -1));
      // The numbers came from query_data calls, visible as steps; the second step ran two calls in parallel.
      expect(result.steps.filter((s) => s.tool === 'query_data').map((s) => s.status)).toEqual(['ok', 'ok']);
      expect(result.steps.map((s) => s.step)).toEqual([1, 2, 2]);
      expect(summary.narrativeSource).toBe('composed');
      expect(checkGrounding(summary.narrative, summary).ok).toBe(true);
      expect(result.text).toContain(`**US Treasury yields on ${date}**`);
    });
  }

  it('on March 13, 2023 the curve was deeply inverted (2s10s −48 bp) and the 2-year fell 57 bp', async () => {
    const summary = (await summarise('What happened to treasury yields on March 13, 2023?')).summary as TreasurySummary;
    expect(summary.spreads['2s10s'].levelBp).toBe(-48);
    expect(summary.tenors.find((t) => t.tenor === '2 Yr')).toMatchObject({ level: 4.03, change1dBp: -57 });
    expect(summary.shape.trend1d).toBe('steepening');
  });

  it('recognises the question and the date it names', () => {
    expect(asksForTreasurySummary('Summarize today’s treasury yield movement.')).toBe(true);
    expect(asksForTreasurySummary('What is the capital of France?')).toBe(false);
    expect(dateInQuestion('on March 13, 2023')).toBe('2023-03-13');
    expect(dateInQuestion('on 13 Mar 2023')).toBe('2023-03-13');
    expect(dateInQuestion('3/13/2023')).toBe('2023-03-13');
    expect(dateInQuestion('on February 30, 2023')).toBeUndefined();
    expect(dateInQuestion('today')).toBeUndefined();
  });
});

describe('the grounding check', () => {
  let figures: TreasurySummary;
  beforeAll(async () => {
    figures = (await summarise('Summarize the treasury yield movement on March 13, 2023.')).summary as TreasurySummary;
  });

  it('passes a narrative whose numbers are all computed ones, and catches a planted wrong number', () => {
    const good = 'On March 13, 2023 the 10-year yield fell 15 bp to 3.55% while the 2-year dropped 57 bp; 2s10s stood at -48 bp [1].';
    expect(checkGrounding(good, figures)).toEqual({ ok: true, unsupported: [] });
    const planted = 'On March 13, 2023 the 10-year yield fell 15 bp to 3.45% while the 2-year dropped 57 bp.';
    expect(checkGrounding(planted, figures)).toEqual({ ok: false, unsupported: ['3.45'] });
    expect(numbersIn('The 2-year and 10 Yr on 2023-03-13, 2s10s [2]')).toEqual([]);
  });

  it('retries a model narrative with a wrong number once and keeps the corrected one', async () => {
    const narrator = createScriptedModel([
      { text: JSON.stringify({ narrative: 'The 10-year fell to 3.45% as the 2-year dropped 57 bp.' }) },
      { text: JSON.stringify({ narrative: 'The 10-year fell to 3.55% as the 2-year dropped 57 bp.' }) },
    ]);
    const summary = (await summarise('Summarize the treasury yield movement on March 13, 2023.', narrator)).summary as TreasurySummary;
    expect(narrator.calls).toHaveLength(2);
    expect(narrator.calls[0]?.responseFormat).toMatchObject({ type: 'json' });
    expect(JSON.stringify(narrator.calls[1]?.prompt)).toContain('not in the figures: 3.45');
    expect(summary).toMatchObject({
      narrativeSource: 'model',
      narrative: 'The 10-year fell to 3.55% as the 2-year dropped 57 bp.',
      grounding: { ok: true, attempts: 2 },
    });
  });

  it('flags a narrative that is still wrong after the retry', async () => {
    const narrator = createScriptedModel([{ text: JSON.stringify({ narrative: 'Yields fell 99 bp to 2.10%.' }) }]);
    const result = await summarise('Summarize the treasury yield movement on March 13, 2023.', narrator);
    const summary = result.summary as TreasurySummary;
    expect(narrator.calls).toHaveLength(2);
    expect(summary.grounding).toEqual({ ok: false, unsupported: ['99', '2.10'], attempts: 2 });
    expect(result.text).toContain('Flagged: the narrative states numbers that are not in the data (99, 2.10)');
  });
});
