import { describe, expect, it } from 'vitest';
import { dateFromMetadata, dateFromName, detectDocumentDate, firstDateInText } from './detect-document-date';

describe('document dates', () => {
  it('reads a date from a file name, not from longer numbers or impossible days', () => {
    expect(dateFromName('20231213.txt')).toBe('2023-12-13');
    expect(dateFromName('report-2022-06-15-final.pdf')).toBe('2022-06-15');
    expect(dateFromName('minutes_2021_01_27.docx')).toBe('2021-01-27');
    expect(dateFromName('invoice-120231213.pdf')).toBeUndefined();
    expect(dateFromName('20231345.txt')).toBeUndefined();
    expect(dateFromName('20230229.txt')).toBeUndefined();
    expect(dateFromName('notes.txt')).toBeUndefined();
  });

  it('takes the first full date of the text, the last day of a range', () => {
    expect(firstDateInText('Minutes of the Federal Open Market Committee\n\nJanuary 26-27, 2021\nA joint meeting...')).toBe('2021-01-27');
    expect(firstDateInText('Issued 13 December 2023, revised on January 5, 2024')).toBe('2023-12-13');
    expect(firstDateInText('Released on January 5, 2024 (first draft 2023-11-30)')).toBe('2024-01-05');
    expect(firstDateInText('As of 2023-11-30 the figures were final.')).toBe('2023-11-30');
    expect(firstDateInText('The rate was 2 percent in 2023.')).toBeUndefined();
  });

  it('reads PDF and ISO metadata dates', () => {
    expect(dateFromMetadata("D:20231213093000-05'00'")).toBe('2023-12-13');
    expect(dateFromMetadata('2022-06-15T18:00:00Z')).toBe('2022-06-15');
    expect(dateFromMetadata('yesterday')).toBeUndefined();
  });

  it('prefers the file metadata, then the name, then the text', () => {
    const text = 'Published March 3, 2020.';
    expect(detectDocumentDate({ name: '20231213.pdf', metadataDate: 'D:20231214', text })).toEqual({
      value: '2023-12-14',
      source: 'metadata',
    });
    expect(detectDocumentDate({ name: '20231213.pdf', text })).toEqual({ value: '2023-12-13', source: 'name' });
    expect(detectDocumentDate({ name: 'statement.txt', text })).toEqual({ value: '2020-03-03', source: 'text' });
    expect(detectDocumentDate({ name: 'statement.txt', text: 'no date here' })).toBeUndefined();
  });
});
