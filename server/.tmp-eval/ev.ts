import { readFileSync } from 'node:fs';
import { evaluateRedactionReport } from '../src/redaction/evaluate-redaction';
import { createRedactor, ENTITY_TYPES } from '../src/redaction/redact';
import { parseRedactionDataset } from '../src/redaction/redaction-dataset';

const r = createRedactor();
const which = process.argv[2] ?? 'tuning';
const set = parseRedactionDataset(JSON.parse(readFileSync(`src/redaction/eval-set/${which}.gen.json`, 'utf8')));
const t = performance.now();
const rep = evaluateRedactionReport(r, set, { types: ENTITY_TYPES });
console.log('ms', performance.now() - t);
console.table(rep.scores.map((s) => ({ ...s, precision: s.precision.toFixed(3), recall: s.recall.toFixed(3), f2: s.f2.toFixed(3) })));
const only = process.argv[3];
for (const f of rep.falseHits.filter((x) => !only || x.type === only).slice(0, 40))
  console.log('FH', f.type, JSON.stringify(f.value), '|', f.text);
for (const f of rep.misses.filter((x) => !only || x.type === only).slice(0, 40))
  console.log('MISS', f.type, JSON.stringify(f.value), '|', f.text);
