/**
 * Redaction benchmark: time to redact about 100 KB of adversarial text (long runs of what the
 * detectors look for) and of ordinary prose, median of several runs after warm-up, beside a floor
 * measured in the same run: one pass of a single trivial pattern over the same text. Target:
 * at most 5 ms per 100 KB on every input.
 */
import { createRedactor } from '../../server/src/redaction/redact';
import { printTable } from '../src/processes';
import { ADVERSARIAL_INPUTS, ADVERSARIAL_SIZE } from './adversarial-inputs';

const TARGET_MS = 5;

function medianMs(run: () => unknown, rounds: number): number {
  for (let i = 0; i < 3; i++) run();
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
  const redactor = createRedactor();
  const floorPattern = /\d{3}-\d{2}-\d{4}/g;
  const rows: Array<Record<string, string | number>> = [];
  let worst = 0;
  for (const { name, text } of ADVERSARIAL_INPUTS) {
    const ms = medianMs(() => redactor.redact(text), rounds);
    const floor = medianMs(() => text.match(floorPattern), rounds);
    const perHundredKb = (ms * 100_000) / ADVERSARIAL_SIZE;
    worst = Math.max(worst, perHundredKb);
    rows.push({
      input: name,
      'ms / 100 KB': perHundredKb.toFixed(2),
      'one-pattern floor (ms)': floor.toFixed(2),
      'x floor': (ms / Math.max(floor, 0.001)).toFixed(1),
      entities: redactor.find(text).length,
      target: perHundredKb <= TARGET_MS ? 'met' : 'MISSED',
    });
  }
  console.log(`\nRedaction of ${ADVERSARIAL_SIZE / 1000} KB texts (median of ${rounds} runs)`);
  printTable(rows);
  console.log(`worst: ${worst.toFixed(2)} ms per 100 KB (target ≤ ${TARGET_MS} ms)`);
}

if (import.meta.url === `file://${process.argv[1]}`) await runRedactionBenchmark({ quick: process.argv.includes('--quick') });
