/**
 * A labelled set for measuring redaction: each text marks what must be found as [[TYPE:value]];
 * everything else must be left alone (numbers that fail their checksum, versions, hashes, ids…).
 */
export const LABELLED_TEXTS: string[] = [
  'Contact [[EMAIL:jane.doe@example.com]] for the quarterly numbers.',
  'Send it to [[EMAIL:ops+alerts@mail.example.co.uk]] and cc [[EMAIL:j_smith@example.org]].',
  'My card is [[CARD:4111 1111 1111 1111]], expiry 12/28.',
  'Charge [[CARD:5500-0000-0000-0004]] for the renewal.',
  'Amex on file: [[CARD:378282246310005]].',
  'Order number 4111 1111 1111 1112 was shipped.',
  'Invoice 1234567812345678 is overdue.',
  'Wire to [[IBAN:GB82 WEST 1234 5698 7654 32]] by Friday.',
  'Our IBAN is [[IBAN:DE89370400440532013000]].',
  'Payee account [[IBAN:FR1420041010050500013M02606]].',
  'The reference GB00 WEST 1234 5698 7654 32 is not an account.',
  'Her SSN is [[SSN:123-45-6789]].',
  'Old record: [[SSN:078-05-1120]].',
  'Ticket 666-12-3456 and form 000-12-3456 are not SSNs.',
  'Call me at [[PHONE:+1 415-555-0134]] tomorrow.',
  'The office line is [[PHONE:(212) 555-0199]].',
  'London desk: [[PHONE:+44 20 7946 0958]].',
  'From the UK dial [[PHONE:020 7946 0958]].',
  'Extension 5550 is the help desk.',
  'The request came from [[IP:203.0.113.42]] at noon.',
  'Gateway [[IP:10.0.0.1]] forwarded it to [[IP:192.168.1.20]].',
  'IPv6 client [[IP:2001:0db8:85a3:0000:0000:8a2e:0370:7334]] connected.',
  'Version 10.2.3.4000 is not an address, neither is 999.1.1.1.',
  'export OPENAI_API_KEY=[[SECRET:sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z]]',
  'Anthropic key [[SECRET:sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789]] leaked.',
  'AWS access key [[SECRET:AKIAIOSFODNN7EXAMPLE]] in the config.',
  'Token [[SECRET:ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8]] for CI.',
  'Slack bot [[SECRET:xoxb-1234567890-0987654321-AbCdEfGhIjKl]] posts alerts.',
  'Maps key [[SECRET:AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q]] in the page.',
  'Stripe [[SECRET:sk_live_4eC39HqLyjWDarjtT1zdp7dc]] must rotate.',
  'Bearer [[SECRET:eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U]] expired.',
  'password=[[SECRET:hunter2hunter2!]] in the old script.',
  'The session token [[SECRET:Zx9Qw3Er7Ty1Ui5Op8As2Df6Gh4Jk0Lm]] was reused.',
  'Axon key [[SECRET:axn_9fK2mQ7xL4pW8zR1vT6yB3nC5hJ0sD2a]] is for the batch job.',
  'Commit 3f786850e387550fdab836ed7e6dc881de23001b fixed it.',
  'Request id 6f1c2a9e-5b7d-4c3e-9a8f-1d2e3f4a5b6c is in the log.',
  'The build took 12.5 seconds on 2026-03-14.',
  'Rates rose 0.25 percentage point to 5.25-5.50 percent.',
  'Email [[EMAIL:a.b@c-d.io]], phone [[PHONE:+33 1 42 68 53 00]], card [[CARD:4012888888881881]].',
  'Both [[EMAIL:alice@example.com]] and [[EMAIL:alice@example.com]] refer to one person.',
  'No personal data in this sentence at all.',
  'The meeting is in room 1204, building 7.',
  'Call 911 in an emergency.',
  'Customer [[EMAIL:MARK.LEE@EXAMPLE.COM]] asked about [[IBAN:NL91ABNA0417164300]].',
  'Server [[IP:172.16.254.1]] rejected key [[SECRET:sk-1234567890abcdefABCDEF1234567890]].',
  'SSN [[SSN:219-09-9999]] and card [[CARD:6011 1111 1111 1117]] on one form.',
  'Dial [[PHONE:+49 30 901820]] for Berlin.',
  'ISBN 978-3-16-148410-0 is a book.',
  'The ZIP code 94105 is in San Francisco.',
  'Use port 8080 on host [[IP:127.0.0.1]] only in tests.',
];

/**
 * Written after the detectors were tuned on the texts above and not used to tune them: the figures
 * on these are the honest ones.
 */
export const HELD_OUT_TEXTS: string[] = [
  'Reach [[EMAIL:li.wei@example.cn]] or call [[PHONE:+86 10 6552 9988]].',
  'Reimburse to [[IBAN:ES9121000418450200051332]] please.',
  'Visa [[CARD:4242424242424242]] was declined; 4242424242424241 is a typo.',
  'Her number changed to [[PHONE:415.555.2671]].',
  'Token: [[SECRET:glpat-xY7zA1bC2dE3fG4hI5jK]] (GitLab).',
  'Login from [[IP:198.51.100.7]] failed twice.',
  'SSN on the W-2: [[SSN:536-22-8871]].',
  'Mastercard [[CARD:2223 0031 2200 3222]] expires soon.',
  'Write to [[EMAIL:support@example-shop.com]] with order 88231.',
  'Our DB password: [[SECRET:Tr0ub4dor&3xyz]] — rotate it.',
  'The 2024 budget was 1,250,000 dollars across 14 teams.',
  'Flight LH 400 departs at 13:05 from gate B44.',
  'HF token [[SECRET:hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567]] gives read access.',
  'Version 2.10.4 fixed CVE-2024-3094 on 2024-03-29.',
  'Call [[PHONE:(646) 555-0143]] ext. 12 or fax the form.',
];

export interface LabelledExample {
  text: string;
  entities: Array<{ type: string; value: string }>;
}

/** The texts with their markers resolved: plain text and the entities it holds. */
export function labelledExamples(texts: string[] = LABELLED_TEXTS): LabelledExample[] {
  return texts.map((marked) => {
    const entities: LabelledExample['entities'] = [];
    const text = marked.replace(/\[\[([A-Z]+):(.+?)\]\]/g, (_, type: string, value: string) => {
      entities.push({ type, value });
      return value;
    });
    return { text, entities };
  });
}
