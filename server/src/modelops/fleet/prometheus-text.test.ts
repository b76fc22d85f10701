import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from './prometheus-text';

describe('parsePrometheusText', () => {
  it('reads samples with and without labels, skipping HELP, TYPE and comments', () => {
    const text = [
      '# HELP vllm:num_requests_running Number of requests in model execution batches.',
      '# TYPE vllm:num_requests_running gauge',
      'vllm:num_requests_running{engine="0",model_name="llama"} 3.0',
      '# a free comment',
      'process_open_fds 27',
      '',
    ].join('\n');
    expect(parsePrometheusText(text)).toEqual([
      { name: 'vllm:num_requests_running', labels: { engine: '0', model_name: 'llama' }, value: 3 },
      { name: 'process_open_fds', labels: {}, value: 27 },
    ]);
  });

  it('unescapes label values and keeps commas, braces and spaces inside quotes', () => {
    const [sample] = parsePrometheusText('m{path="C:\\\\models\\\\x",note="a \\"quoted\\", {b}",multi="1\\n2"} 1\n');
    expect(sample?.labels).toEqual({ path: 'C:\\models\\x', note: 'a "quoted", {b}', multi: '1\n2' });
  });

  it('reads NaN, infinities, exponents, a trailing timestamp, an OpenMetrics exemplar and CRLF line ends', () => {
    const text = 'a NaN\r\nb +Inf\r\nc -Inf\r\nd 1.5e3 1712345678000\r\ne_total 7 # {trace_id="x"} 1.0\r\nf{le="0.5",} 2\r\n# EOF\r\n';
    const values = Object.fromEntries(parsePrometheusText(text).map((s) => [s.name, s.value]));
    expect(values.a).toBeNaN();
    expect(values).toMatchObject({ b: Number.POSITIVE_INFINITY, c: Number.NEGATIVE_INFINITY, d: 1500, e_total: 7, f: 2 });
  });

  it('skips lines that do not parse and keeps the rest', () => {
    const text = ['good 1', 'no_value', 'bad{unclosed="x 2', 'bad2{=""} 3', 'worse abc', '9starts_with_digit 1', 'also_good{x="y"} 4'].join(
      '\n',
    );
    expect(parsePrometheusText(text).map((s) => s.name)).toEqual(['good', 'also_good']);
  });

  it('keeps only the asked-for names', () => {
    const text = 'vllm:num_requests_waiting 2\nvllm:num_requests_waiting_by_reason{reason="x"} 9\nother 1\n';
    expect(parsePrometheusText(text, new Set(['vllm:num_requests_waiting']))).toEqual([
      { name: 'vllm:num_requests_waiting', labels: {}, value: 2 },
    ]);
  });
});
