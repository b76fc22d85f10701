import { describe, expect, it } from 'vitest';
import { EVAL_SETS } from './eval-set/eval-sets';
import { evaluateRedaction, evaluateRedactionReport, type RedactionScore } from './evaluate-redaction';
import { HELD_OUT_TEXTS, labelledExamples } from './labelled-set';
import { findPersonNames } from './person-names';
import { createRedactor, ENTITY_TYPES } from './redact';
import { parseRedactionDataset } from './redaction-dataset';
import { findStreetAddresses } from './street-addresses';

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

  it('passes over what other detectors took: no house number and no name is read inside it', () => {
    const text = 'Ask Anna Berg at Main Street 12 Carl Jones today, or call 7 Rue de la Paix.';
    const covered = new Uint8Array(text.length);
    const at = text.indexOf('Main Street 12');
    covered.fill(1, at, at + 14);
    const taken = (start: number, end: number) => covered.subarray(start, end).includes(1);
    const slices = (found: Array<{ start: number; end: number }>) => found.map((m) => text.slice(m.start, m.end));
    expect(slices(findStreetAddresses(text))).toEqual(['Main Street 12', '7 Rue de la Paix']);
    expect(slices(findStreetAddresses(text, covered))).toEqual(['7 Rue de la Paix']);
    // The covered span ends the run of capitalised words around it, as a taken word does.
    const names = slices(findPersonNames(text, taken, covered));
    expect(names).toEqual(expect.arrayContaining(['Anna Berg', 'Carl Jones']));
    expect(names.filter((n) => n.includes('Main') || n.includes('Street'))).toEqual([]);
    expect(findPersonNames(text, taken, covered)).toEqual(findPersonNames(text, taken));
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

describe('detectors measured on the generated evaluation set', () => {
  const scoreOf = (scores: RedactionScore[], type: string) => scores.find((s) => s.type === type) as RedactionScore;
  const heldOut = evaluateRedactionReport(redactor, EVAL_SETS.heldOut, { types: ENTITY_TYPES });
  const tuning = evaluateRedactionReport(redactor, EVAL_SETS.tuning, { types: ENTITY_TYPES });

  it('holds at least 1,000 sentences in a tuning and a held-out part', () => {
    expect(EVAL_SETS.tuning.length + EVAL_SETS.heldOut.length).toBeGreaterThanOrEqual(1000);
    expect(EVAL_SETS.heldOut.length).toBeGreaterThanOrEqual(800);
  });

  it('finds numbers with precision and recall of at least 0.95 on the held-out part', () => {
    for (const type of ['PHONE', 'CARD', 'IBAN', 'SSN', 'IP', 'EMAIL', 'PASSPORT', 'DRIVER_LICENSE', 'ROUTING_NUMBER', 'BANK_ACCOUNT']) {
      const score = scoreOf(heldOut.scores, type);
      expect(score.expected, type).toBeGreaterThan(10);
      expect(score.recall, type).toBeGreaterThanOrEqual(0.95);
      expect(score.precision, type).toBeGreaterThanOrEqual(0.95);
    }
  });

  it('finds names with recall of at least 0.85 and street addresses with precision of at least 0.95', () => {
    expect(scoreOf(heldOut.scores, 'NAME').recall).toBeGreaterThanOrEqual(0.85);
    expect(scoreOf(heldOut.scores, 'NAME').precision).toBeGreaterThanOrEqual(0.9);
    expect(scoreOf(heldOut.scores, 'ADDRESS').precision).toBeGreaterThanOrEqual(0.95);
    expect(scoreOf(heldOut.scores, 'ADDRESS').recall).toBeGreaterThanOrEqual(0.95);
    expect(scoreOf(tuning.scores, 'ADDRESS').recall).toBeGreaterThanOrEqual(0.95);
    expect(scoreOf(tuning.scores, 'all').f2).toBeGreaterThanOrEqual(0.95);
  });

  it('takes no date, timestamp, amount, invoice or order number, version or coordinate for a phone or card', () => {
    const negatives = [
      '2024-03-14',
      '14.03.2024',
      '03/14/2024',
      '2024-03-14T10:30:00Z',
      '2024-03-14 10:30:00',
      '20240314T103000Z',
      'at 1710412200 seconds',
      '1,234,567.89 USD',
      '€ 12.345,67',
      '1 250 000 EUR',
      'Invoice INV-2024-00123',
      'invoice 20240314-0042',
      'Order #88231977',
      'order 4411-2290-13',
      'Order number 4111 1111 1111 1112',
      'version 10.2.3.4000',
      'v2.10.4',
      '48.8566, 2.3522',
      '-33.8688 151.2093',
      'lat 40.71277 lon -74.00597',
      'CVE-2024-3094',
      'ISBN 978-3-16-148410-0',
      'tracking SO-3314497',
      'Ticket 666-12-3456',
    ];
    for (const text of negatives) {
      const found = redactor.find(`Note: ${text} was recorded.`).filter((e) => e.type === 'PHONE' || e.type === 'CARD');
      expect(found, text).toEqual([]);
    }
    // And none of the held-out part's negative sentences (the templates with no marked value) gets a hit.
    const negativeHits = heldOut.falseHits.filter((h) => EVAL_SETS.heldOut.some((e) => e.text === h.text && e.spans.length === 0));
    expect(negativeHits.filter((h) => h.type !== 'NAME')).toEqual([]);
  });

  it('finds phone numbers as people write them in many countries', () => {
    const phones = [
      '+44 (0)20 7946 0958',
      '020 7946 0958',
      '(0)20 7946 0958',
      '01.42.68.53.00',
      '+33 1 42 68 53 00',
      '030 12345678',
      '0041 79 703 10 13',
      '+49 30 901820',
      '(212) 555-0199 x123',
      '415.555.2671 ext. 12',
      '+61 8 7031 0133',
      '06 12 34 56 78',
      '8 (954) 628-06-45',
      '+81 3-1234-5678',
      '+55 11 91234-5678',
    ];
    for (const phone of phones)
      expect(
        redactor.find(`Call me on ${phone} please.`).map((e) => [e.type, e.value]),
        phone,
      ).toEqual([['PHONE', phone]]);
  });

  it('finds cards of every scheme and length, Luhn-checked', () => {
    const cards = [
      '4111 1111 1111 1111',
      '5555-5555-5555-4444',
      '378282246310005',
      '6011 1111 1111 1117',
      '3056 930902 5904',
      '3530111333300000',
      '6200000000000005',
      '6759649826438453',
      '2200 0000 0000 0004',
      '5018 0000 0009',
    ];
    for (const card of cards)
      expect(
        redactor.find(`Card ${card} on file.`).map((e) => [e.type, e.value]),
        card,
      ).toEqual([['CARD', card]]);
    expect(redactor.find('Card 6200 0000 0000 0006 on file.').map((e) => e.type)).not.toContain('CARD');
  });

  it('finds names and street addresses, and leaves titles, places and companies alone', () => {
    const { text } = redactor.redact(
      'Dear Anna van der Berg, the parcel for 802 University Avenue Apt. 345 and Schellingstr. 797 left Berlin; Schmidt GmbH signed the Data Protection Act.',
    );
    expect(text).toBe(
      'Dear <NAME_1>, the parcel for <ADDRESS_1> and <ADDRESS_2> left Berlin; Schmidt GmbH signed the Data Protection Act.',
    );
  });

  it('finds street addresses in the orders and words of many languages, with units, postcodes and post-office boxes', () => {
    const addresses = [
      '802 University Avenue Apt. 345',
      '7103 N 6th Street',
      '14 Thiel Brae Apt. 888',
      '7 The Dell',
      '3494 van den Berg Crossroad',
      '816 Rue d’Orsel',
      '6 Rue du haut ou de la côte',
      '4 Place tendant à Bioley',
      'Kölner Str. 59',
      'Dürscheider Weg 88 1 OG',
      'Ahorngasse (St. Andrä) 80c',
      'Hermann von Gilmweg 68c',
      'Enzoplantsoen 316a 3 hoog',
      'Maurostraat 4 1e verdieping',
      'Östra Björkgränden 13 Lgh. 963',
      'Nedre Korssvingen 12 Oppgang B',
      'Banevænget 52B, 4. th',
      'Ainolinja 13 A 9',
      'Calle Mayor, 73',
      'Privada Melissa Zambrana Juárez s/n. Puerta 494',
      'Avenida Balcón de los Edecanes 6',
      'Cda. Francisco I. Madero 735',
      'Calçada Manel Simões 55-3C',
      'Via Roma 12, Appartamento 4',
      'ul. Długa 8 m. 12',
      'droga Janus 51',
      'Intrarea Nicolae G. Caranfil, Bloc 84, Ap. 56',
      'Jókai határút 7 4.em 26 ajtó',
      'Mēmeles gatve 442',
      'Ülkü Sokak 56c',
      'Свободная ул., 818 кв. 213',
      'площадь Свободная, 685',
      'проспект Молодіжна, 89',
      'Jln. Merdeka no 78',
      'Hauptstraße 5, 10115 Berlin',
      '555 Main Street, Springfield, IL 62704',
      '10 Downing Street, London SW1A 2AA',
      'P.O. Box 1234',
      'Postfach 10 12 34',
    ];
    for (const address of addresses)
      expect(
        redactor.find(`Please send it to ${address} by Friday.`).map((e) => [e.type, e.value]),
        address,
      ).toEqual([['ADDRESS', address]]);
    // Counts, ranks, titles, years and product names beside capitalised words are no addresses.
    const negatives = [
      'Top 10 Data Center Trends for 2025.',
      'We have 3 Park Rangers on duty today.',
      'Part 2 The Road Ahead starts now.',
      'Our 3 Data Centers run hot.',
      'In 2024 Apple Park opened a cafe.',
      'Web Summit Copenhagen 2025 was great.',
      'Monitoring 2 Servers costs little.',
      'Boarding at Gate 12, Terminal 2.',
      'The iPhone 15 Pro Max is expensive.',
      'Sprint 14 Review Meeting is on Friday.',
      'GB82 WEST 1234 5698 7654 32 is the account.',
    ];
    for (const text of negatives)
      expect(
        redactor.find(text).filter((e) => e.type === 'ADDRESS'),
        text,
      ).toEqual([]);
  });

  it('redacts only the configured types, and finds routing numbers by their checksum', () => {
    const emailsOnly = createRedactor({ types: ['EMAIL'] });
    expect(emailsOnly.redact('Mail a@example.com, call +44 20 7946 0958, Dear John Smith').text).toBe(
      'Mail <EMAIL_1>, call +44 20 7946 0958, Dear John Smith',
    );
    expect(redactor.find('routing number 021000021').map((e) => e.type)).toEqual(['ROUTING_NUMBER']);
    expect(redactor.find('routing number 021000022').map((e) => e.type)).not.toContain('ROUTING_NUMBER');
  });

  it("reads Presidio's format and scores F2 and false hits by span", () => {
    const records = [
      {
        full_text: 'Call Jane Doe at +1 415 555 0134.',
        spans: [
          { entity_type: 'PERSON', entity_value: 'Jane Doe', start_position: 5, end_position: 13 },
          { entity_type: 'PHONE_NUMBER', entity_value: '+1 415 555 0134', start_position: 17, end_position: 32 },
        ],
      },
      { full_text: 'Version 10.2.3.4000 shipped on 2024-03-14.', spans: [] },
    ];
    const examples = parseRedactionDataset(JSON.parse(JSON.stringify(records)));
    expect(examples[0]?.spans.map((s) => s.type)).toEqual(['NAME', 'PHONE']);
    const report = evaluateRedactionReport(redactor, examples);
    expect(scoreOf(report.scores, 'all')).toMatchObject({ expected: 2, correct: 2, precision: 1, recall: 1, f2: 1 });
    expect(report.falseHits).toEqual([]);
    expect(() => parseRedactionDataset([{ full_text: 'x', spans: [{ entity_type: 'PERSON' }] }])).toThrow(/record 0, span 0/);
  });
});
