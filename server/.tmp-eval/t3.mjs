import * as minLib from 'libphonenumber-js';
import { findPhoneNumbersInText, getCountries, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';

const cs = [
  'US',
  'GB',
  'DE',
  'FR',
  'ES',
  'IT',
  'NL',
  'BE',
  'CH',
  'AT',
  'SE',
  'NO',
  'DK',
  'FI',
  'PL',
  'CZ',
  'PT',
  'IE',
  'AU',
  'NZ',
  'CA',
  'IN',
  'BR',
  'MX',
  'AR',
  'JP',
  'CN',
  'KR',
  'SG',
  'ZA',
  'RU',
  'TR',
];
const nums = ['030 12345678', '01.42.68.53.00', '(0)20 7946 0958', '0612345678', '415.555.2671', '2024-03-14', '1,234.56'];
function bench(lib, label, fn) {
  for (let i = 0; i < 50; i++) fn();
  const t = performance.now();
  const N = 200;
  for (let i = 0; i < N; i++) fn();
  console.log(label, (((performance.now() - t) / N) * 1000).toFixed(1), 'us');
}
for (const n of nums) {
  bench(minLib, `min parse+valid all ${cs.length} regions ${n}`, () => {
    for (const c of cs) {
      const p = minLib.parsePhoneNumberFromString(n, c);
      p?.isValid();
    }
  });
  bench(null, `max parse+valid all regions ${n}`, () => {
    for (const c of cs) {
      const p = parsePhoneNumberFromString(n, c);
      p?.isValid();
    }
  });
  bench(minLib, `min parse+possible ${n}`, () => {
    for (const c of cs) {
      const p = minLib.parsePhoneNumberFromString(n, c);
      p?.isPossible();
    }
  });
}
console.log(
  cs
    .map((c) => {
      const p = minLib.parsePhoneNumberFromString('01.42.68.53.00', c);
      return c + ':' + (p?.isValid() ? 'V' : p?.isPossible() ? 'P' : '-');
    })
    .join(' '),
);
console.log(
  cs
    .map((c) => {
      const p = minLib.parsePhoneNumberFromString('2024-03-14', c);
      return c + ':' + (p?.isValid() ? 'V' : p?.isPossible() ? 'P' : '-');
    })
    .join(' '),
);
console.log(findPhoneNumbersInText('Call (0)20 7946 0958 ext. 12 or +44 (0)20 7946 0958 x123', 'GB'));
