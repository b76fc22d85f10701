import { getCountryCallingCode, Metadata, parsePhoneNumberFromString } from 'libphonenumber-js';

const m = new Metadata();
for (const c of ['FR', 'US', 'DE', 'RU', 'IT', 'ES', 'GB']) {
  m.selectNumberingPlan(c);
  const p = m.numberingPlan;
  console.log(c, getCountryCallingCode(c), p.possibleLengths(), p.nationalPrefix(), p.nationalPrefixForParsing?.());
}
const p = parsePhoneNumberFromString('+44 (0)20 7946 0958 ext. 12');
console.log(p?.number, p?.ext, p?.isValid());
const q = parsePhoneNumberFromString('0044 20 7946 0958', 'FR');
console.log(q?.number, q?.isValid());
const r = parsePhoneNumberFromString('703.301.3354 x6280', 'US');
console.log(r?.number, r?.ext, r?.isPossible());
