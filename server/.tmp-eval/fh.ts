import { evaluateRedactionReport } from '../src/redaction/evaluate-redaction';
import { LABELLED_TEXTS, HELD_OUT_TEXTS } from '../src/redaction/labelled-set';
import { markedToSpans } from '../src/redaction/redaction-dataset';
import { createRedactor } from '../src/redaction/redact';
const r = createRedactor();
for (const set of [LABELLED_TEXTS, HELD_OUT_TEXTS]) { const rep = evaluateRedactionReport(r, set.map(markedToSpans), { types: ['EMAIL','PHONE','CARD','IBAN','SSN','IP','SECRET','NAME','ADDRESS'] }); console.table(rep.scores); console.log(rep.falseHits, rep.misses); }
