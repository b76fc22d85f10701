let t = performance.now();
const winkNLP = (await import('wink-nlp')).default;
const model = (await import('wink-eng-lite-web-model')).default;
const wink = winkNLP(model, ['pos']);
const its = wink.its;
console.log('load ms', performance.now() - t);
const s = "Please forward the contract to Kian O'Connell before Monday, he lives at 12 Baker Street in London.";
for (let k = 0; k < 200; k++) wink.readDoc(s).tokens().out(its.pos);
t = performance.now();
for (let k = 0; k < 2000; k++) {
  const d = wink.readDoc(s);
  d.tokens().out(its.pos);
}
console.log('us/sentence', ((performance.now() - t) / 2000) * 1000, s.length);
const d = wink.readDoc(s);
console.log(d.tokens().out(), d.tokens().out(its.pos), d.tokens().out(its.type), d.tokens().out(its.shape));
const big = s.repeat(1000);
t = performance.now();
const d2 = wink.readDoc(big);
d2.tokens().out(its.pos);
console.log('100KB ms', performance.now() - t, big.length);
const nlp = (await import('compromise')).default;
const w = nlp.model().one.lexicon;
console.log(Object.keys(w).length, w['kian'], w['monday'], w['london'], w['john'], w['smith'], w['berlin'], w['google']);
