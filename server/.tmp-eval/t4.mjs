import { allFakers } from '@faker-js/faker';

const locs = [
  'en_US',
  'en_GB',
  'en_AU',
  'en_IN',
  'en_CA',
  'de',
  'de_AT',
  'de_CH',
  'fr',
  'fr_BE',
  'fr_CH',
  'es',
  'es_MX',
  'it',
  'nl',
  'nl_BE',
  'pt_BR',
  'pt_PT',
  'pl',
  'sv',
  'nb_NO',
  'da',
  'fi',
  'cs_CZ',
  'sk',
  'hu',
  'ro',
  'el',
  'tr',
  'ru',
  'uk',
  'he',
  'ja',
  'ko',
  'zh_CN',
  'id_ID',
  'vi',
  'th',
  'en_ZA',
  'en_NG',
  'en_IE',
  'hr',
  'lv',
  'ar',
];
for (const l of locs) {
  const f = allFakers[l];
  if (!f) {
    console.log('no', l);
    continue;
  }
  f.seed(1);
  const out = [];
  for (const style of ['human', 'national', 'international']) {
    try {
      out.push(f.phone.number({ style }));
    } catch (e) {
      out.push('ERR');
    }
  }
  let addr = '',
    name = '',
    card = '';
  try {
    addr = f.location.streetAddress();
  } catch (e) {
    addr = 'ERR';
  }
  try {
    name = f.person.fullName();
  } catch (e) {
    name = 'ERR';
  }
  console.log(l.padEnd(6), out.join(' | '), ' || ', addr, ' || ', name);
}
const f = allFakers.en;
f.seed(3);
for (const i of [
  'visa',
  'mastercard',
  'discover',
  'american_express',
  'diners_club',
  'jcb',
  'maestro',
  'unionpay',
  'instapayment',
  'laser',
  'switch',
  'solo',
]) {
  try {
    console.log(i, f.finance.creditCardNumber(i));
  } catch (e) {
    console.log(i, 'ERR');
  }
}
console.log(f.location.streetAddress(true), '|', f.location.streetAddress({ useFullAddress: true }), '|', f.location.secondaryAddress());
