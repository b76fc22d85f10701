import { describe, expect, it } from 'vitest';
import { extractQuestionSlots, findSlotConflict } from './question-slots';

const conflict = (a: string, b: string) => findSlotConflict(extractQuestionSlots(a), extractQuestionSlots(b));

describe('the slot check of semantic matches', () => {
  it('lets paraphrases through: the same date, tenor and subject in other words', () => {
    expect(
      conflict('What was the 10-year Treasury yield on 2023-10-19?', 'What was the 10 year par yield on October 19, 2023?'),
    ).toBeUndefined();
    expect(
      conflict('What was the highest 10-year yield in 2023?', 'What was the peak 10-year Treasury yield during 2023?'),
    ).toBeUndefined();
    expect(
      conflict('How did the FOMC describe household spending in May 2022?', 'What did the May 2022 statement say about consumer spending?'),
    ).toBeUndefined();
    expect(conflict('How much did the Fed raise rates in July 2023?', 'What was the size of the July 2023 rate hike?')).toBeUndefined();
    expect(
      conflict(
        'What did participants in the November 2021 minutes say about tapering?',
        'What do the minutes of the November 2021 meeting say about reducing asset purchases?',
      ),
    ).toBeUndefined();
  });

  it('stops a question that differs in a date, a tenor, a number or a rank', () => {
    expect(conflict('What was the 10-year Treasury yield on 2023-10-19?', 'What was the 10-year Treasury yield on 2023-10-20?')).toBe(
      'date',
    );
    expect(conflict('What did the FOMC decide in March 2018?', 'What did the FOMC decide in March 2020?')).toBe('date');
    // A month alone is not the same question as a day of that month.
    expect(conflict('What did the Fed announce in March 2020?', 'What did the Fed announce on March 15, 2020?')).toBe('date');
    expect(conflict('What was the 2-year Treasury yield on March 8, 2023?', 'What was the 3-month Treasury yield on March 8, 2023?')).toBe(
      'tenor',
    );
    expect(
      conflict('What was the spread between the 10-year and 2-year yields?', 'What was the spread between the 10-year and 3-month yields?'),
    ).toBe('tenor');
    expect(conflict('Did participants discuss 50 basis point increases?', 'Did participants discuss 75 basis point increases?')).toBe(
      'number',
    );
    expect(conflict('What was the highest 10-year yield in 2023?', 'What was the lowest 10-year yield in 2023?')).toBe('rank');
  });

  it('stops a question about another subject, another document, a negated one or one asking for something else', () => {
    expect(
      conflict(
        'What did the minutes of the July 2021 meeting say about the housing market?',
        'What did the minutes of the July 2021 meeting say about the labor market?',
      ),
    ).toBe('subject');
    expect(
      conflict(
        'How did the FOMC describe job gains in the November 2023 statement?',
        'How did the FOMC describe the unemployment rate in the November 2023 statement?',
      ),
    ).toBe('subject');
    expect(
      conflict(
        'What did the May 2022 statement say about reducing holdings of Treasury securities?',
        'What did the May 2022 statement say about reducing holdings of agency mortgage-backed securities?',
      ),
    ).toBe('subject');
    expect(
      conflict(
        'What did the Committee say about inflation expectations in June 2022?',
        'What did the Committee say about inflation in June 2022?',
      ),
    ).toBe('subject');
    expect(conflict('What did the June 2022 statement say about inflation?', 'What did the June 2022 minutes say about inflation?')).toBe(
      'document',
    );
    // Naming no document reads as the statement, never as the minutes.
    expect(
      conflict('What did the FOMC say about inflation in June 2022?', 'What did the June 2022 statement say about inflation?'),
    ).toBeUndefined();
    expect(conflict('What did the FOMC say about inflation in June 2022?', 'What did the June 2022 minutes say about inflation?')).toBe(
      'document',
    );
    expect(conflict('Did the FOMC raise rates in June 2022?', "Didn't the FOMC raise rates in June 2022?")).toBe('negation');
    expect(conflict('Why did the Committee raise rates in June 2022?', 'How much did the Committee raise rates in June 2022?')).toBe('ask');
  });

  it('reads the slots of a question', () => {
    expect(extractQuestionSlots('What was the 10-year minus 3-month spread on 2023-05-04?')).toEqual({
      date: ['2023-5-4'],
      tenor: ['10y', '3m'],
      number: [],
      rank: [],
      negation: [],
      ask: [],
      document: ['statement'],
      subject: ['spread'],
    });
    // COVID-19 is a name, not a number.
    expect(extractQuestionSlots('How did the September 2021 statement refer to COVID-19 cases?').number).toEqual([]);
  });
});
