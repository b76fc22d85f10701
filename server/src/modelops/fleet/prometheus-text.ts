/**
 * A reader of Prometheus' text exposition format (0.0.4, and the OpenMetrics text that vLLM and
 * SGLang may serve instead), for the few gauges and counters the fleet picker reads. It keeps
 * samples only: `# HELP` / `# TYPE` lines, exemplars and timestamps are skipped. The npm parsers
 * for this format are unmaintained and untyped; the grammar needed here is small.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */

export interface PrometheusSample {
  /** The metric's name as written, suffix included (`vllm:prefix_cache_hits_total`). */
  name: string;
  labels: Record<string, string>;
  /** NaN and ±Inf as JavaScript's. */
  value: number;
}

/**
 * The samples of an exposition text. A line that does not parse is skipped, not thrown on: one
 * odd line from a newer server must not blind the picker to the rest. With `names`, only samples
 * of those metric names are kept (and the others are not parsed past their name).
 */
export function parsePrometheusText(text: string, names?: ReadonlySet<string>): PrometheusSample[] {
  const samples: PrometheusSample[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const sample = parseSampleLine(line, names);
    if (sample) samples.push(sample);
  }
  return samples;
}

const NAME_START = /[a-zA-Z_:]/;
const NAME_CHAR = /[a-zA-Z0-9_:]/;

function parseSampleLine(line: string, names: ReadonlySet<string> | undefined): PrometheusSample | undefined {
  let i = 0;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  if (i >= line.length || line[i] === '#' || !NAME_START.test(line[i] as string)) return undefined;
  const nameStart = i;
  while (i < line.length && NAME_CHAR.test(line[i] as string)) i++;
  const name = line.slice(nameStart, i);
  if (names && !names.has(name)) return undefined;

  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const labelStart = i;
      while (i < line.length && NAME_CHAR.test(line[i] as string)) i++;
      const label = line.slice(labelStart, i);
      while (line[i] === ' ') i++;
      if (label === '' || line[i] !== '=') return undefined;
      i++;
      while (line[i] === ' ') i++;
      if (line[i] !== '"') return undefined;
      i++;
      let value = '';
      let closed = false;
      while (i < line.length) {
        const ch = line[i] as string;
        if (ch === '\\') {
          const next = line[i + 1];
          value += next === 'n' ? '\n' : (next ?? '');
          i += 2;
          continue;
        }
        i++;
        if (ch === '"') {
          closed = true;
          break;
        }
        value += ch;
      }
      if (!closed) return undefined;
      labels[label] = value;
    }
  }

  // The value is the first field after the name and labels; a timestamp or an OpenMetrics
  // exemplar (`# {…} 1.0`) may follow it.
  const rest = line.slice(i).trim();
  const field = rest.split(/[ \t]/, 1)[0] ?? '';
  const value = parseSampleValue(field);
  if (value === undefined) return undefined;
  return { name, labels, value };
}

function parseSampleValue(field: string): number | undefined {
  switch (field) {
    case 'NaN':
      return Number.NaN;
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
    case '':
      return undefined;
  }
  const value = Number(field);
  return Number.isNaN(value) ? undefined : value;
}
