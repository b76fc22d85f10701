import type { LanguageModelV3 } from '@ai-sdk/provider';
import { type AgentStep, type TreasurySummary, TreasurySummarySchema } from '@axon/contracts';
import { z } from 'zod';
import type { PlanApi } from '../run-agent';
import { documentDateOf } from '../tools/document-dates';
import { checkGrounding } from './grounding-check';
import { type CurveRow, computeTreasuryFigures, dateInQuestion } from './treasury-summary';

export const TREASURY_DATASET = 'treasury_yields';

/** What the FOMC passages are searched for: the parts of a statement that bear on rates. */
const CONTEXT_QUERY = 'inflation economic activity labor market federal funds rate target range policy outlook balance sheet';

type Figures = ReturnType<typeof computeTreasuryFigures>;

const signed = (n: number) => (n > 0 ? `+${n}` : n < 0 ? `−${Math.abs(n)}` : '0');

function rowsOf(step: AgentStep | undefined): CurveRow[] {
  if (!step || step.status !== 'ok') throw new Error(`query_data did not answer: ${step?.error ?? 'no result'}`);
  const value = step.output as { columns: string[]; rows: unknown[][] };
  return value.rows.map((row) => Object.fromEntries(value.columns.map((c, i) => [c, row[i] as string | number | null])));
}

/** Up to two sentences of a passage that speak to the query's terms, in their order. */
export function extractSentences(text: string, max = 2): string {
  const sentences = text
    .replace(/\s+/g, ' ')
    .split(/(?<=[.!?])\s+(?=[A-Z])/)
    .map((s) => s.trim())
    .filter((s) => s.length > 30 && s.length < 500);
  const terms = CONTEXT_QUERY.split(' ');
  const scored = sentences.map((s, i) => ({ s, i, score: terms.filter((t) => s.toLowerCase().includes(t)).length }));
  const best = scored
    .filter((x) => x.score > 0)
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, max)
    .sort((a, b) => a.i - b.i);
  return (best.length > 0 ? best : scored.slice(0, 1)).map((x) => x.s).join(' ');
}

const tenorOf = (figures: Figures, name: string) => figures.tenors.find((t) => t.tenor === name);

/** The narrative without a model: sentences assembled from the computed fields and extracted FOMC sentences. */
export function composeNarrative(figures: Figures, context: TreasurySummary['context']): string {
  const parts: string[] = [];
  const ten = tenorOf(figures, '10 Yr');
  const two = tenorOf(figures, '2 Yr');
  if (ten && two)
    parts.push(
      `On ${figures.date} the 10-year yield was ${ten.level.toFixed(2)}% (${signed(ten.change1dBp ?? 0)} bp on the day, ${signed(ten.change1wBp ?? 0)} bp on the week) and the 2-year ${two.level.toFixed(2)}% (${signed(two.change1dBp ?? 0)} bp, ${signed(two.change1wBp ?? 0)} bp).`,
    );
  const s = figures.spreads;
  parts.push(
    `The 2s10s spread stood at ${signed(s['2s10s'].levelBp)} bp (${signed(s['2s10s'].change1dBp)} bp on the day) and 3m10y at ${signed(s['3m10y'].levelBp)} bp (${signed(s['3m10y'].change1dBp)} bp): the curve is ${figures.shape.curve}, ${figures.shape.trend1d === 'unchanged' ? 'unchanged in slope on the day' : `${figures.shape.trend1d} on the day`} and ${figures.shape.trend1w === 'unchanged' ? 'unchanged in slope over the week' : `${figures.shape.trend1w} over the week`}.`,
  );
  if (figures.largestMoves.length > 0)
    parts.push(`The largest moves were ${figures.largestMoves.map((m) => `${m.tenor} (${signed(m.change1dBp)} bp)`).join(', ')}.`);
  for (const c of context.slice(0, 2))
    parts.push(
      `From ${c.documentName.includes('minutes') ? 'the FOMC minutes' : 'the FOMC statement'} released ${c.date ?? 'earlier'}: “${c.text}” [${c.n}]`,
    );
  return parts.join(' ');
}

const NarrativeSchema = z.object({ narrative: z.string().min(1).max(4000) });

/** Asks the planner model for the narrative as structured output, checked against the schema. */
async function modelNarrative(
  model: LanguageModelV3,
  figures: Figures,
  context: TreasurySummary['context'],
  feedback: string | undefined,
  api: PlanApi,
): Promise<string | undefined> {
  const result = await model.doGenerate({
    abortSignal: api.signal,
    temperature: 0,
    maxOutputTokens: 600,
    responseFormat: {
      type: 'json',
      name: 'treasury_narrative',
      schema: { type: 'object', properties: { narrative: { type: 'string' } }, required: ['narrative'], additionalProperties: false },
    },
    prompt: [
      {
        role: 'system',
        content:
          'You write the narrative of a daily US Treasury yield summary: three to five sentences on the level and movement of the curve and its context. Use only numbers that appear in the figures given (levels in percent, changes and spreads in basis points); never compute or invent one. Cite the FOMC passages you use as [n]. Answer as JSON: {"narrative": "..."}.',
      },
      {
        role: 'user',
        content: [
          {
            type: 'text',
            text: `Figures:\n${JSON.stringify(figures)}\n\nFOMC passages:\n${context.map((c) => `[${c.n}] (${c.documentName}, ${c.date ?? 'undated'}) ${c.text}`).join('\n')}${feedback ? `\n\n${feedback}` : ''}`,
          },
        ],
      },
    ],
  });
  api.addUsage({ inputTokens: result.usage.inputTokens.total ?? 0, outputTokens: result.usage.outputTokens.total ?? 0 });
  const text = result.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
  try {
    const parsed = NarrativeSchema.safeParse(JSON.parse(text.replace(/^```(?:json)?\s*|\s*```$/g, '')));
    return parsed.success ? parsed.data.narrative : undefined;
  } catch {
    return undefined;
  }
}

const label = (n: number | null) => (n === null ? '–' : signed(n));

/** The summary as Markdown, for clients that show text (the web app shows it as a card). */
export function renderTreasuryMarkdown(summary: TreasurySummary): string {
  const lines = [
    `**US Treasury yields on ${summary.date}** (against ${summary.previousDate} and ${summary.weekAgoDate})`,
    '',
    '| Tenor | Yield (%) | 1 day (bp) | 1 week (bp) |',
    '| --- | ---: | ---: | ---: |',
    ...summary.tenors.map((t) => `| ${t.tenor} | ${t.level.toFixed(2)} | ${label(t.change1dBp)} | ${label(t.change1wBp)} |`),
    '',
    `**Spreads:** 2s10s ${signed(summary.spreads['2s10s'].levelBp)} bp (${signed(summary.spreads['2s10s'].change1dBp)} bp on the day, ${signed(summary.spreads['2s10s'].change1wBp)} bp on the week); 3m10y ${signed(summary.spreads['3m10y'].levelBp)} bp (${signed(summary.spreads['3m10y'].change1dBp)}, ${signed(summary.spreads['3m10y'].change1wBp)}).`,
    `**Shape:** ${summary.shape.curve}; ${summary.shape.trend1d} on the day, ${summary.shape.trend1w} over the week.`,
    `**Largest moves:** ${summary.largestMoves.map((m) => `${m.tenor} ${signed(m.change1dBp)} bp`).join(', ')}.`,
    '',
    summary.narrative,
    '',
    summary.narrativeSource === 'composed'
      ? '_Narrative composed from the computed figures and extracted FOMC sentences (no model wrote it)._'
      : summary.grounding.ok
        ? '_Narrative written by the model; every number in it was checked against the computed figures._'
        : `_Flagged: the narrative states numbers that are not in the data (${summary.grounding.unsupported.join(', ')})._`,
  ];
  return lines.join('\n');
}

/**
 * The treasury summary as a fixed plan over the agent's tools: the day and the trading day before
 * (`query_data`), then the last trading day a week earlier and the FOMC texts released nearest
 * before the day (`query_data` and `search_documents`, in parallel). Every figure is computed from
 * those rows. The narrative comes from the planner model when it writes text (structured output,
 * checked by the grounding check, retried once, then flagged), else it is composed.
 */
export function treasurySummaryPlan(options: { question: string; narrator: LanguageModelV3 | undefined; json: boolean }) {
  return async (api: PlanApi): Promise<{ text: string; summary?: TreasurySummary }> => {
    const named = dateInQuestion(options.question);
    const bound = named ? `date <= '${named}'` : '1 = 1';
    const [days] = await api.callTools([
      {
        tool: 'query_data',
        input: { dataset: TREASURY_DATASET, sql: `SELECT * FROM ${TREASURY_DATASET} WHERE ${bound} ORDER BY date DESC LIMIT 2` },
      },
    ]);
    const recent = rowsOf(days);
    const [day, previous] = recent;
    if (!day || !previous) {
      const text = named ? `The dataset has no two trading days up to ${named}.` : 'The dataset holds fewer than two trading days.';
      api.emitText(text);
      return { text };
    }
    const [week] = await api.callTools([
      {
        tool: 'query_data',
        input: {
          dataset: TREASURY_DATASET,
          sql: `SELECT * FROM ${TREASURY_DATASET} WHERE date <= date('${String(day.date)}', '-7 days') ORDER BY date DESC LIMIT 1`,
        },
      },
      { tool: 'search_documents', input: { query: CONTEXT_QUERY, before: String(day.date), latest: 1, k: 3 } },
    ]);
    const weekAgo = rowsOf(week)[0] ?? previous;
    const figures = computeTreasuryFigures(day, previous, weekAgo);
    const context = api
      .citations()
      .slice(0, 3)
      .map((c) => ({ n: c.n, documentName: c.documentName, date: documentDateOf(c.documentName), text: extractSentences(c.text) }));

    let narrative = composeNarrative(figures, context);
    let narrativeSource: TreasurySummary['narrativeSource'] = 'composed';
    let grounding: TreasurySummary['grounding'] = { ok: true, unsupported: [], attempts: 0 };
    if (options.narrator) {
      let feedback: string | undefined;
      for (let attempt = 1; attempt <= 2; attempt++) {
        const written = await modelNarrative(options.narrator, figures, context, feedback, api);
        if (written === undefined) {
          grounding = { ok: false, unsupported: [], attempts: attempt };
          feedback = 'Your last answer was not the JSON object asked for. Answer with {"narrative": "..."} only.';
          continue;
        }
        const check = checkGrounding(written, { ...figures, context });
        narrative = written;
        narrativeSource = 'model';
        grounding = { ok: check.ok, unsupported: check.unsupported, attempts: attempt };
        if (check.ok) break;
        feedback = `Your last narrative stated numbers that are not in the figures: ${check.unsupported.join(', ')}. Write it again using only the figures given.`;
      }
      if (narrativeSource === 'composed') grounding = { ...grounding, ok: true };
    }
    const summary = TreasurySummarySchema.parse({ ...figures, context, narrative, narrativeSource, grounding });
    const text = options.json ? JSON.stringify(summary) : renderTreasuryMarkdown(summary);
    if (!options.json) api.emitText(text);
    return { text, summary };
  };
}
