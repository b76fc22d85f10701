import { evaluateRedactionReport } from '../src/redaction/evaluate-redaction';
import { HELD_OUT_TEXTS, LABELLED_TEXTS } from '../src/redaction/labelled-set';
import { createRedactor } from '../src/redaction/redact';
import { markedToSpans } from '../src/redaction/redaction-dataset';

const r = createRedactor();
for (const set of [LABELLED_TEXTS, HELD_OUT_TEXTS]) {
  const rep = evaluateRedactionReport(r, set.map(markedToSpans), {
    types: ['EMAIL', 'PHONE', 'CARD', 'IBAN', 'SSN', 'IP', 'SECRET', 'NAME', 'ADDRESS'],
  });
  console.table(rep.scores);
  console.log(rep.falseHits, rep.misses);
}
