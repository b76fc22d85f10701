import { extractSpecifics } from '../../rag/embed/local-word-embedder';

/**
 * The verification stage of semantic matching: after the vector search has found a cached question
 * above the threshold, the two questions must also agree on their key slots, the few things in a
 * question that change its answer while barely moving its embedding. A slot is a kind of thing
 * (a date, a tenor, a subject…) and a set of normalised values; two questions agree when every slot
 * has the same values in both, so a question that names a date matches only one naming the same
 * date, and a question naming none matches only one naming none. Extraction is deterministic
 * (patterns and a small vocabulary, no model), so a refusal can always be explained.
 *
 * Slots:
 * - `date`, `tenor`, `number`, `rank`: dates however written (`2023-10-19`, `October 19, 2023`),
 *   maturities (`10-year`, `ten year`, `3-month`), other numbers and the words that pick one value
 *   of a series (`highest`/`peak`, `lowest`, `average`, `first`, `last`), read as the local word
 *   embedder reads them (`extractSpecifics`);
 * - `negation`: whether the question is negated (`not`, `no`, `never`, `without`, `n't`);
 * - `ask`: what kind of answer it wants, when that is said in so many words: a reason (`why`,
 *   `reasons`), a count (`how many times`), an amount (`how much`, `how large`, `size`), a time
 *   (`when`, `what date`), a person (`who`, `which member`);
 * - `document`: which publication it is about: the statement, the minutes, a press conference, the
 *   projections, the statement on longer-run goals, testimony or a speech. A question naming none
 *   is read as asking about the statement (what the Committee said or decided at a meeting), so it
 *   matches a question about the statement but never one about the minutes;
 * - `subject`: the economic or market quantity asked about, from a vocabulary of finance terms with
 *   their common synonyms folded together (`unemployment` and `unemployment rate` are one subject,
 *   `job gains` and `payrolls` another, the `labor market` as a whole a third; `household spending`
 *   and `consumer spending` are one; `yield`, `spread`,
 *   `yield curve`, the policy rate, interest on reserve balances, inflation, inflation expectations,
 *   asset purchases, the balance sheet, Treasury securities and agency MBS each their own…).
 *   Questions outside that vocabulary have no subject slot, and rely on the other slots and the
 *   threshold.
 */

/** A question's slots: kind → its values, sorted. */
export type QuestionSlots = Record<SlotKind, string[]>;

export type SlotKind = 'date' | 'tenor' | 'number' | 'rank' | 'negation' | 'ask' | 'document' | 'subject';

const SLOT_KINDS: SlotKind[] = ['date', 'tenor', 'number', 'rank', 'negation', 'ask', 'document', 'subject'];

const s = '(?:s|es)?';

/**
 * Phrases and the slot value each stands for, tried in this order on the question with its dates,
 * tenors and numbers already blanked; each match is blanked before the next phrase is tried, so
 * longer phrases come first (`interest rate on reserve balances` before `rate`, `inflation
 * expectations` before `inflation`, `quantitative tightening` before `tightening`).
 */
const PHRASES: Array<[SlotKind, string, string]> = [
  ['negation', 'not', "n't\\b|\\b(?:not|no|never|without|none|nor)\\b"],

  ['ask', 'reason', '\\b(?:why|reasons?|rationale)\\b'],
  ['ask', 'count', '\\bhow (?:many times|often)\\b|\\bnumber of times\\b'],
  ['ask', 'amount', '\\bhow (?:much|many|large|big)\\b|\\b(?:size|magnitude) of\\b'],
  ['ask', 'time', '\\bwhen\\b|\\b(?:what|which) (?:date|day)\\b'],
  ['ask', 'person', '\\bwho(?:m|se)?\\b|\\bwhich (?:\\w+ )?(?:members?|participants?|officials?|governors?|presidents?)\\b'],

  ['document', 'longer-run-goals', '\\b(?:statement on )?longer[- ]run goals(?: and monetary policy strategy)?(?: statement)?\\b'],
  ['document', 'minutes', '\\bminutes\\b'],
  ['document', 'press-conference', '\\bpress conferences?\\b'],
  ['document', 'projections', '\\b(?:summary of )?economic projections\\b|\\bdot plots?\\b|\\bsep\\b|\\bprojections\\b'],
  ['document', 'implementation-note', '\\bimplementation notes?\\b'],
  ['document', 'testimony', '\\btestimony\\b|\\btestif(?:y|ied)\\b'],
  ['document', 'speech', '\\bspeech(?:es)?\\b'],
  ['document', 'statement', '\\bstatements?\\b'],

  ['subject', 'iorb', '\\binterest (?:rate )?on (?:excess )?reserve(?:s| balances)\\b|\\bior[be]\\b'],
  ['subject', 'neutral-rate', '\\bneutral (?:rate|level)\\b|\\br-star\\b'],
  ['subject', 'inflation-expectations', '\\binflation expectations\\b|\\bexpectations (?:of|for) inflation\\b'],
  ['subject', 'inflation', `\\binflation\\b|\\bprices?\\b|\\bpce\\b|\\bcpi\\b`],
  ['subject', 'unemployment', `\\b(?:unemployment|jobless)(?: rate)?\\b`],
  ['subject', 'job-gains', `\\bjob(?:s| gains| growth)?\\b|\\bpayrolls?\\b|\\bhiring\\b|\\bemployment growth\\b`],
  ['subject', 'labor', `\\blabou?r markets?\\b|\\b(?:maximum )?employment\\b`],
  ['subject', 'housing', `\\bhousing(?: sector| market)?\\b|\\bresidential investment\\b|\\bhome sales\\b`],
  ['subject', 'investment', `\\bbusiness (?:fixed )?investment\\b|\\bcapital spending\\b|\\binvestment\\b`],
  ['subject', 'spending', `\\b(?:household|consumer|personal) spending\\b|\\bconsumption\\b|\\bspending\\b`],
  ['subject', 'activity', `\\beconomic activity\\b|\\bgdp\\b|\\boutput\\b|\\bproduction\\b|\\beconomic growth\\b`],
  ['subject', 'credit', `\\b(?:credit|financial|lending) conditions\\b|\\bcredit\\b|\\blending\\b`],
  ['subject', 'banking', `\\bbank(?:s|ing)?(?: system| sector)?\\b`],
  ['subject', 'financial-stability', `\\bfinancial stability\\b`],
  ['subject', 'supply', `\\bsupply(?: and demand)?(?: imbalances| chains?| constraints| disruptions)?\\b`],
  ['subject', 'mbs', `\\b(?:agency )?mortgage[- ]backed securities\\b|\\b(?:agency )?mbs\\b`],
  ['subject', 'treasury-securities', `\\btreasury (?:securities|holdings|notes|bonds)\\b|\\btreasuries\\b`],
  [
    'subject',
    'balance-sheet',
    `\\bbalance sheet(?: runoff| reduction)?\\b|\\brunoff\\b|\\bquantitative tightening\\b|\\bqt\\b|\\breduc\\w* (?:of )?holdings\\b`,
  ],
  ['subject', 'asset-purchases', `\\basset purchases\\b|\\bpurchases\\b|\\btaper\\w*\\b|\\bquantitative easing\\b|\\bqe\\b|\\bbuying\\b`],
  ['subject', 'yield-curve', `\\byield curves?\\b|\\binver(?:ted|sion)\\b|\\bcurve\\b`],
  ['subject', 'spread', `\\bspread${s}\\b|\\bdifference between\\b|\\bminus\\b|\\bapart\\b`],
  ['subject', 'yield', `\\byield${s}\\b|\\bbill rates?\\b`],
  [
    'subject',
    'policy-rate',
    `\\b(?:federal|fed) funds(?: rate)?\\b|\\btarget range\\b|\\bpolicy rate\\b|\\brates?\\b|\\bhik\\w*\\b|\\bcut(?:s|ting)?\\b|\\bfirming\\b|\\btightening\\b|\\beasing\\b`,
  ],
  ['subject', 'risks', `\\brisks?\\b`],
  ['subject', 'dissent', `\\bdissent\\w*\\b|\\bvot\\w* against\\b`],
  ['subject', 'pandemic', `\\bcoronavirus\\b|\\bcovid(?:-19)?\\b|\\bpandemic\\b|\\bvirus\\b|\\bdelta variant\\b`],
];

const COMPILED = PHRASES.map(([kind, value, pattern]) => [kind, value, new RegExp(pattern, 'g')] as const);

/** The slots of a question (see the module's comment for what each holds). */
export function extractQuestionSlots(question: string): QuestionSlots {
  const sets = Object.fromEntries(SLOT_KINDS.map((k) => [k, new Set<string>()])) as Record<SlotKind, Set<string>>;
  // COVID-19 names a disease, not a number.
  const { specifics, rest } = extractSpecifics(question.replace(/\bcovid-19\b/gi, 'covid'));
  for (const feature of specifics) {
    const at = feature.indexOf(':');
    const kind = feature.slice(0, at) as SlotKind;
    if (kind in sets) sets[kind].add(feature.slice(at + 1));
  }
  let text = rest.replace(/’/g, "'").replace(/\s+/g, ' ');
  for (const [kind, value, pattern] of COMPILED)
    text = text.replace(pattern, () => {
      sets[kind].add(value);
      return ' ';
    });
  if (sets.document.size === 0) sets.document.add('statement');
  return Object.fromEntries(SLOT_KINDS.map((k) => [k, [...sets[k]].sort()])) as QuestionSlots;
}

/** The first slot on which two questions' slots disagree, or undefined when they agree on all. */
export function findSlotConflict(a: QuestionSlots, b: QuestionSlots): SlotKind | undefined {
  return SLOT_KINDS.find((k) => a[k].length !== b[k].length || a[k].some((v, i) => v !== b[k][i]));
}
