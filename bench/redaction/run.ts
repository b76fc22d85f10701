/**
 * Redaction benchmark: time to redact about 100 KB of adversarial text (long runs of what the
 * detectors look for) and of ordinary prose, median of several runs after warm-up, beside a floor
 * measured in the same run: one pass of a single trivial pattern over the same text. Target:
 * at most 5 ms per 100 KB on every input.
 */
import { createRedactor, ENTITY_TYPES } from '../../server/src/redaction/redact';
import { printTable } from '../src/processes';
import { ADVERSARIAL_INPUTS, ADVERSARIAL_SIZE } from './adversarial-inputs';

const TARGET_MS = 5;

function medianMs(run: () => unknown, rounds: number): number {
  // A serving process redacts all day: the figures are of code the engine has optimised, after ten warm-up runs.
  for (let i = 0; i < 10; i++) run();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    run();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

export async function runRedactionBenchmark(options: { quick?: boolean } = {}): Promise<void> {
  const rounds = options.quick ? 5 : 15;
  // Every type (the prompt log, in its own thread), and log lines' default (all but names and addresses).
  const redactor = createRedactor();
  const lines = createRedactor({ types: ENTITY_TYPES.filter((t) => t !== 'NAME' && t !== 'ADDRESS') });
  const floorPattern = /\d{3}-\d{2}-\d{4}/g;
  const rows: Array<Record<string, string | number>> = [];
  let worst = 0;
  let worstLines = 0;
  const per100Kb = (ms: number) => (ms * 100_000) / ADVERSARIAL_SIZE;
  for (const { name, text } of ADVERSARIAL_INPUTS) {
    const all = per100Kb(medianMs(() => redactor.redact(text), rounds));
    const logLines = per100Kb(medianMs(() => lines.redact(text), rounds));
    const floor = medianMs(() => text.match(floorPattern), rounds);
    worst = Math.max(worst, all);
    worstLines = Math.max(worstLines, logLines);
    rows.push({
      input: name,
      'all types ms / 100 KB': all.toFixed(2),
      'log lines ms / 100 KB': logLines.toFixed(2),
      'one-pattern floor (ms)': floor.toFixed(2),
      entities: redactor.find(text).length,
      target: all <= TARGET_MS ? 'met' : logLines <= TARGET_MS ? 'log lines only' : 'MISSED',
    });
  }
  console.log(`\nRedaction of ${ADVERSARIAL_SIZE / 1000} KB texts (median of ${rounds} runs)`);
  printTable(rows);
  console.log(
    `worst: ${worst.toFixed(2)} ms per 100 KB with every type, ${worstLines.toFixed(2)} ms for log lines (target ≤ ${TARGET_MS} ms)`,
  );
  runPerRequestCost(rounds * 20);
}

/**
 * What redaction costs one request: a typical 2 KB prompt (a support conversation with a name, an
 * address, a phone number, an email and ordinary sentences), redacted as the prompt log and the
 * guardrail do, in µs; each round redacts a new variant (fresh names and numbers), so no cache helps.
 */
function runPerRequestCost(rounds: number): void {
  const prompt = (i: number) =>
    [
      `Hi, my name is Maria Hoffmann${i} and I need help with order ${88_000 + i}.`,
      `I moved to Schellingstr. ${i % 200} in Munich last month, so please update the delivery address.`,
      `You can call me on +49 30 901${String(820 + i).padStart(4, '0')} or write to maria${i}@example.org.`,
      'The parcel was due on 2025-03-14 but the tracking page still shows it in the warehouse in Leipzig.',
      'I paid 129.90 EUR with my card and the invoice number is INV-2025-00417.',
      'Could you check whether the courier tried to deliver it while I was away, and if so when?',
      'Last time a neighbour took the parcel for me, but this time nobody told me anything about it.',
      'The app says version 4.12.1 and I already reinstalled it twice, which did not help at all.',
      'Please summarise what happened with my order and what the options are for a refund or a new delivery.',
      'If the parcel is lost I would like a refund to the same card rather than a voucher, thank you.',
      'For reference, my customer number on the account page is shown as 55-102-44 and my postcode is 80331.',
      'Thanks in advance for looking into this, I have been waiting for more than two weeks now.',
    ]
      .join(' ')
      .repeat(2)
      .slice(0, 2048);
  const rows: Array<Record<string, string | number>> = [];
  for (const [name, redactor] of [
    ['all types (prompt log default)', createRedactor()],
    [
      'numbers and secrets only (guardrail default)',
      createRedactor({ types: ENTITY_TYPES.filter((t) => t !== 'NAME' && t !== 'ADDRESS') }),
    ],
  ] as const) {
    for (let i = 0; i < 20; i++) redactor.redact(prompt(i));
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const text = prompt(1000 + i);
      const started = performance.now();
      redactor.redact(text);
      times.push((performance.now() - started) * 1000);
    }
    times.sort((a, b) => a - b);
    rows.push({
      redactor: name,
      'median µs': (times[Math.floor(times.length / 2)] as number).toFixed(0),
      'p95 µs': (times[Math.floor(times.length * 0.95)] as number).toFixed(0),
      entities: redactor.find(prompt(1)).length,
    });
  }
  console.log(`\nRedaction of one 2 KB prompt (${rounds} prompts, each new)`);
  printTable(rows);
}

if (import.meta.url === `file://${process.argv[1]}`) await runRedactionBenchmark({ quick: process.argv.includes('--quick') });
