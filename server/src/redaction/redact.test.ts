import { describe, expect, it } from 'vitest';
import { evaluateRedaction } from './evaluate-redaction';
import { HELD_OUT_TEXTS, labelledExamples } from './labelled-set';
import { createRedactor } from './redact';

const redactor = createRedactor();

describe('redaction', () => {
  it('replaces each value with a typed placeholder, the same value with the same one', () => {
    const { text } = redactor.redact('Mail alice@example.com or bob@example.com; alice@example.com again, card 4111 1111 1111 1111.');
    expect(text).toBe('Mail <EMAIL_1> or <EMAIL_2>; <EMAIL_1> again, card <CARD_1>.');
  });

  it('checks checksums: Luhn for cards, mod 97 for IBANs, issued ranges for SSNs', () => {
    expect(redactor.find('4111 1111 1111 1112').map((e) => e.type)).not.toContain('CARD');
    expect(redactor.find('GB00 WEST 1234 5698 7654 32').map((e) => e.type)).not.toContain('IBAN');
    expect(redactor.find('666-12-3456')).toEqual([]);
  });

  it('takes custom patterns', () => {
    const custom = createRedactor({ custom: [{ name: 'employee id', pattern: 'EMP-\\d{6}' }] });
    expect(custom.redact('Ask EMP-123456 about it').text).toBe('Ask <EMPLOYEE_ID_1> about it');
  });

  it('finds what the labelled set marks, with precision and recall of at least 0.95 overall', () => {
    const scores = evaluateRedaction(redactor);
    const all = scores.find((s) => s.type === 'all');
    expect(all?.expected).toBe(labelledExamples().reduce((n, e) => n + e.entities.length, 0));
    expect(all?.precision).toBeGreaterThanOrEqual(0.95);
    expect(all?.recall).toBeGreaterThanOrEqual(0.95);
    // Texts the detectors were not tuned on.
    const heldOut = evaluateRedaction(redactor, HELD_OUT_TEXTS).find((s) => s.type === 'all');
    expect(heldOut?.precision).toBeGreaterThanOrEqual(0.9);
    expect(heldOut?.recall).toBeGreaterThanOrEqual(0.9);
    for (const type of ['EMAIL', 'CARD', 'IBAN', 'SSN', 'IP', 'SECRET', 'PHONE']) {
      expect(scores.find((s) => s.type === type)?.recall, type).toBeGreaterThanOrEqual(0.8);
    }
  });
});
