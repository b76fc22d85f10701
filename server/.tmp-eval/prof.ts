import { ADVERSARIAL_INPUTS } from '../../bench/redaction/adversarial-inputs';
import { createRedactor, ENTITY_TYPES } from '../src/redaction/redact';
import { findStreetAddresses } from '../src/redaction/street-addresses';
import { findPersonNames } from '../src/redaction/person-names';
import { findPhoneNumbers, DEFAULT_PHONE_REGIONS } from '../src/redaction/phone-numbers';
const t = (f: () => unknown) => { for (let i=0;i<3;i++) f(); const s=performance.now(); for (let i=0;i<5;i++) f(); return ((performance.now()-s)/5).toFixed(2); };
for (const name of ['ordinary prose', 'numbers beside words', 'capitalised words', 'one long token', 'IBAN-like']) {
  const text = ADVERSARIAL_INPUTS.find(x => x.name === name)!.text;
  const row: Record<string,string> = { name };
  for (const ty of ['EMAIL','PHONE','CARD','IBAN','SSN','IP','SECRET','NAME','ADDRESS','PASSPORT']) row[ty] = t(() => createRedactor({ types: [ty] }).find(text));
  row.addr = t(() => findStreetAddresses(text)); row.names = t(() => findPersonNames(text)); row.phones = t(() => findPhoneNumbers(text, DEFAULT_PHONE_REGIONS));
  row.none = t(() => createRedactor({ types: [] }).find(text));
  console.log(JSON.stringify(row));
}
