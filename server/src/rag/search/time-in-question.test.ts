import { describe, expect, it } from 'vitest';
import { readTimeInQuestion } from './time-in-question';

const now = new Date('2024-03-20T12:00:00Z');
const read = (q: string) => readTimeInQuestion(q, now);

describe('readTimeInQuestion', () => {
  it('reads a month and year as that month, and leaves it out of the text', () => {
    expect(read('What target range did the Committee set in December 2023?')).toEqual({
      range: { dateFrom: '2023-12-01', dateTo: '2023-12-31' },
      recency: false,
      text: 'What target range did the Committee set?',
    });
  });

  it('reads days, day ranges, ISO dates and quarters', () => {
    expect(read('What happened on March 15, 2020?').range).toEqual({ dateFrom: '2020-03-15', dateTo: '2020-03-15' });
    expect(read('Where was the meeting of November 2-3, 2021 held?').range).toEqual({ dateFrom: '2021-11-02', dateTo: '2021-11-03' });
    expect(read('the statement of 13 December 2023').range).toEqual({ dateFrom: '2023-12-13', dateTo: '2023-12-13' });
    expect(read('notes from 2022-06-15 please').range).toEqual({ dateFrom: '2022-06-15' });
    expect(read('reports for 2022-06-15').range).toEqual({ dateFrom: '2022-06-15', dateTo: '2022-06-15' });
    expect(read('growth in the third quarter of 2023').range).toEqual({ dateFrom: '2023-07-01', dateTo: '2023-09-30' });
  });

  it('reads open ranges and ranges between two dates', () => {
    expect(read('What changed since 2022?').range).toEqual({ dateFrom: '2022-01-01' });
    expect(read('decisions after June 2022').range).toEqual({ dateFrom: '2022-07-01' });
    expect(read('statements before March 2020').range).toEqual({ dateTo: '2020-02-29' });
    expect(read('rates until 2019').range).toEqual({ dateTo: '2019-12-31' });
    expect(read('between 2019 and 2021, how often did it cut?').range).toEqual({ dateFrom: '2019-01-01', dateTo: '2021-12-31' });
    expect(read('from March 2020 to June 2020').range).toEqual({ dateFrom: '2020-03-01', dateTo: '2020-06-30' });
  });

  it('reads times relative to today', () => {
    expect(read('What was published today?').range).toEqual({ dateFrom: '2024-03-20', dateTo: '2024-03-20' });
    expect(read('news from yesterday').range).toEqual({ dateFrom: '2024-03-19' });
    expect(read('reports of last month').range).toEqual({ dateFrom: '2024-02-01', dateTo: '2024-02-29' });
    expect(read('what happened last year').range).toEqual({ dateFrom: '2023-01-01', dateTo: '2023-12-31' });
    expect(read('in the past 30 days').range).toEqual({ dateFrom: '2024-02-19', dateTo: '2024-03-20' });
    expect(read('this year so far').range).toEqual({ dateFrom: '2024-01-01', dateTo: '2024-03-20' });
  });

  it('asks for the newest on "latest", "most recent", "last meeting" and "current"', () => {
    expect(read('What is the latest target range?')).toMatchObject({ recency: true, text: 'What is the target range?' });
    expect(read('What did the Committee decide at its last meeting?')).toMatchObject({ recency: true });
    expect(read('the most recent market report')).toMatchObject({ recency: true, text: 'the market report' });
    expect(read('What is the current policy rate?').recency).toBe(true);
    expect(read('What happened last year?').recency).toBe(false);
  });

  it('takes numbers that are not dates as they are', () => {
    expect(read('inflation at the rate of 2 percent over the longer run')).toEqual({
      recency: false,
      text: 'inflation at the rate of 2 percent over the longer run',
    });
    expect(read('the 2023 forecast').range).toBeUndefined();
    expect(read('a target of 2000 units in total').range).toBeUndefined();
    expect(read('What is it about?').range).toBeUndefined();
  });

  it('keeps the question when nothing but time is left', () => {
    expect(read('latest?')).toEqual({ recency: true, text: 'latest?' });
  });
});
