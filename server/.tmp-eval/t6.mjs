const t = performance.now();
const nlp = (await import('compromise')).default;
const lex = nlp.model().one.lexicon;
console.log('compromise load', performance.now() - t, Object.keys(lex).length);
const tags = {};
for (const v of Object.values(lex)) {
  for (const x of [].concat(v)) tags[x] = (tags[x] || 0) + 1;
}
console.log(
  Object.entries(tags)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 60)
    .map((e) => e.join(':'))
    .join(' '),
);

import { allFakers } from '@faker-js/faker';

for (const l of ['en_US', 'de', 'fr', 'es', 'it', 'nl', 'pl', 'pt_BR', 'sv']) {
  const f = allFakers[l];
  f.seed(5);
  let fn = 0,
    ln = 0,
    city = 0;
  for (let i = 0; i < 200; i++) {
    if (lex[f.person.firstName().toLowerCase()]) fn++;
    if (lex[f.person.lastName().toLowerCase()]) ln++;
    if (lex[f.location.city().toLowerCase()]) city++;
  }
  console.log(l, 'first', fn / 200, 'last', ln / 200, 'city', city / 200);
}
