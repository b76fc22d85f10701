import { describe, expect, it } from 'vitest';
import { fillUsageDays, niceAxis, type UsageDay } from './fill-usage-days';

const day = (key: string, requests: number): UsageDay => ({
  key,
  requests,
  errors: 0,
  inputTokens: requests * 10,
  outputTokens: 0,
  costUsd: 0,
});

describe('fillUsageDays', () => {
  it('gives every UTC day of the range, zeros where the API has no row', () => {
    const days = fillUsageDays('2030-01-30T15:00:00.000Z', '2030-02-02T09:00:00.000Z', [day('2030-01-31', 3), day('2030-02-02', 1)]);
    expect(days.map((d) => [d.key, d.requests])).toEqual([
      ['2030-01-30', 0],
      ['2030-01-31', 3],
      ['2030-02-01', 0],
      ['2030-02-02', 1],
    ]);
    expect(days[1]?.inputTokens).toBe(30);
  });

  it('ends before a `to` at midnight, which is exclusive', () => {
    expect(fillUsageDays('2030-01-01T00:00:00.000Z', '2030-01-03T00:00:00.000Z', []).map((d) => d.key)).toEqual([
      '2030-01-01',
      '2030-01-02',
    ]);
  });
});

describe('niceAxis', () => {
  it('steps in round numbers past the largest value, whole ones for counts', () => {
    expect(niceAxis(7, { whole: true })).toEqual([0, 2, 4, 6, 8]);
    expect(niceAxis(3, { whole: true })).toEqual([0, 1, 2, 3, 4]);
    expect(niceAxis(0, { whole: true })).toEqual([0, 1, 2, 3, 4]);
    expect(niceAxis(1234)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(niceAxis(0.0031)).toEqual([0, 0.001, 0.002, 0.003, 0.004]);
  });
});
