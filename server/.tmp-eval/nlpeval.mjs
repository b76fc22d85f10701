import { createRequire } from 'node:module';
import { fakerDE, fakerEN_GB, fakerEN_US, fakerES, fakerFR, fakerIT, fakerNL, fakerPL, fakerPT_BR } from '@faker-js/faker';
import nlp from 'compromise';

const require = createRequire('/tmp/winkeval/x.js');
const winkNLP = require('wink-nlp');
const model = require('wink-eng-lite-web-model');
const wink = winkNLP(model);
const its = wink.its;
const fakers = [fakerEN_US, fakerEN_GB, fakerDE, fakerFR, fakerES, fakerIT, fakerNL, fakerPL, fakerPT_BR];
const tpl = [
  (n) => `Please forward the contract to ${n} before Monday.`,
  (n) => `My name is ${n} and I need help with my account.`,
  (n) => `${n} called about the delayed shipment.`,
  (n) => `The ticket was opened by ${n} yesterday.`,
];
let hitC = 0,
  hitW = 0,
  total = 0,
  tC = 0,
  tW = 0;
for (let i = 0; i < 200; i++) {
  const f = fakers[i % fakers.length];
  f.seed(i);
  const name = `${f.person.firstName()} ${f.person.lastName()}`;
  const s = tpl[i % tpl.length](name);
  let t = performance.now();
  const people = nlp(s).people().out('array');
  tC += performance.now() - t;
  t = performance.now();
  const doc = wink.readDoc(s);
  const props = [];
  let cur = [];
  doc.tokens().each((tk) => {
    if (tk.out(its.pos) === 'PROPN') {
      cur.push(tk.out());
    } else {
      if (cur.length) props.push(cur.join(' '));
      cur = [];
    }
  });
  if (cur.length) props.push(cur.join(' '));
  tW += performance.now() - t;
  total++;
  if (people.some((p) => p.replace(/[.,]$/, '').includes(name))) hitC++;
  if (props.some((p) => p.includes(name))) hitW++;
  if (i < 18) console.log(s, '| C:', people, '| W:', props);
}
console.log({ total, hitC, hitW, msPerSentC: tC / total, msPerSentW: tW / total });
