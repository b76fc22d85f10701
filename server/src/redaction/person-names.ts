import { createRequire } from 'node:module';

/**
 * People's names: runs of capitalised words (with particles such as `van der`, `de la`, initials
 * and hyphens), judged by
 * - wink-nlp's part-of-speech tagger (with the npm-installed `wink-eng-lite-web-model`, no
 *   download): a run whose words it tags as proper nouns is likely a name, one with common nouns,
 *   verbs or adjectives is not;
 * - compromise's lexicon: known first and last names and honorifics raise the confidence; places,
 *   organisations, months, weekdays and common words lower it;
 * - the words around: `Mr`, `Dr`, `Dear`, `my name is`, `signed by`, `called` raise it; a company
 *   suffix (`Ltd`, `GmbH`) after it makes it a company.
 *
 * The tagger costs about 80 µs per sentence, so it reads at most {@link nameChecksFor} sentences
 * per text (those holding a run of capitalised words); past that, runs are judged without it. The
 * time stays linear in the text. Scripts without letter case (Chinese, Japanese, Arabic, Hebrew,
 * Thai…) are not covered.
 */

/** How many sentences per text the tagger reads: 6, and one more per 20,000 characters. */
export const nameChecksFor = (text: string) => 6 + Math.floor(text.length / 20_000);

/** Least confidence for a run to be taken as a name. */
export const NAME_THRESHOLD = 0.5;

type Tagger = (sentence: string) => Array<{ text: string; pos: string }>;

interface Models {
  tag: Tagger;
  /** Which of `words` (lower case) are in the tagger's English vocabulary. */
  inVocabulary: (words: string[]) => boolean[];
  lexicon: Record<string, string | string[]>;
}

let models: Models | undefined;

/** The tagger and the lexicon, loaded on first need (about half a second), synchronously. */
function loadModels(): Models {
  if (models) return models;
  const require = createRequire(import.meta.url);
  const winkNLP = require('wink-nlp') as (model: unknown, pipe?: string[]) => WinkNlp;
  const nlp = winkNLP(require('wink-eng-lite-web-model'), ['pos']);
  const its = nlp.its;
  // Words the model knows get ids below this one; a word it has never seen gets a new, higher id.
  const unseen = (nlp.readDoc('qzxjvkw').tokens().out(its.uniqueId) as number[])[0] ?? 0;
  const compromise = require('compromise') as { model(): { one: { lexicon: Record<string, string | string[]> } } };
  models = {
    tag: (sentence) => {
      const tokens = nlp.readDoc(sentence).tokens();
      const texts = tokens.out() as string[];
      const pos = tokens.out(its.pos) as string[];
      return texts.map((text, i) => ({ text, pos: pos[i] ?? '' }));
    },
    inVocabulary: (words) => {
      const ids = nlp.readDoc(words.join(' ')).tokens().out(its.uniqueId) as number[];
      return ids.length === words.length ? ids.map((id) => id < unseen) : words.map(() => false);
    },
    lexicon: compromise.model().one.lexicon,
  };
  return models;
}

interface WinkNlp {
  its: { pos: unknown; uniqueId: unknown };
  readDoc(text: string): { tokens(): { out(as?: unknown): unknown } };
}

/** Starts the load ahead of the first text that needs it, so that text does not wait. */
export function warmNameModels(): void {
  loadModels();
}

const HONORIFICS = new Set(
  'mr mrs ms miss mx dr prof sir madam dame lord lady mister herr frau fr hr mme mlle monsieur madame sr sra srta señor señora don doña sig sig.ra signor signora dott dott.ssa ing avv pan pani dhr mevr'.split(
    ' ',
  ),
);
const PARTICLES = new Set([
  'de',
  'da',
  'del',
  'della',
  'di',
  'du',
  'van',
  'von',
  'der',
  'den',
  'la',
  'le',
  'dos',
  'das',
  'do',
  'ter',
  'ten',
  'y',
  'bin',
  'ibn',
  'al',
  'el',
  'zu',
  'af',
  'av',
  'e',
  "d'",
  'mac',
]);
const COMPANY_SUFFIXES = new Set(
  'inc inc. llc ltd ltd. limited gmbh ag sa sas sarl bv nv corp corp. co co. group plc spa s.p.a. srl oy ab as kg & and und et y e partners holdings'.split(
    ' ',
  ),
);
/** Whether a lower-case word is a common English word, remembered across texts (at most 50,000 words). */
const vocabulary = new Map<string, boolean>();

/** How many words per text are looked up in the vocabulary: 150, and 10 more per 10,000 characters. */
const vocabularyChecksFor = (text: string) => 150 + Math.floor(text.length / 1000);

const HONORIFIC_BEFORE = /\b(?:mr|mrs|ms|dr|prof)\.?\s$/i;

/** Words that introduce a name and are written with a capital at the start of a sentence. */
const INTRODUCERS = new Set(
  'dear hi hello hey thanks patient customer client employee user applicant tenant guest passenger contact person recipient colleague manager owner signed attn attention please ask call email tell'.split(
    ' ',
  ),
);

/** Words before a name. */
const BEFORE_WORDS = new Set(
  "named called dear hi hello hey thanks regards sincerely signed contact person recipient customer client patient employee user applicant tenant guest passenger attn attention cc ask tell met meet spoke forward owner manager colleague i'm appelle heiße llamo chiamo heet heter".split(
    ' ',
  ),
);
const BEFORE_PHRASES = new Set([
  'name is',
  'i am',
  'thank you',
  'signed by',
  'recipient is',
  'spoke to',
  'assigned to',
  'ich bin',
  'mi chiamo',
  'me llamo',
  'jag heter',
]);

/** ` ,:\t`: what comes between a word and the name after it. */
const isGap = (c: number) => c === 32 || c === 44 || c === 58 || c === 9;
/** What a word holds: anything up to ` \t\n`. */
const isInWord = (c: number) => c !== 32 && c !== 9 && c !== 10;
/** The longest word and phrase of {@link BEFORE_WORDS} and {@link BEFORE_PHRASES}: a longer one is none of them, unread. */
const LONGEST_BEFORE_WORD = Math.max(...[...BEFORE_WORDS].map((w) => w.length));
const LONGEST_BEFORE_PHRASE = Math.max(...[...BEFORE_PHRASES].map((w) => w.length));

/**
 * Whether the words just before `at` announce a name (`Dear`, `my name is`, `signed by`): the last
 * word and the last two words, read backwards over at most 40 characters, compared in lower case.
 */
function nameAnnouncedBefore(text: string, at: number): boolean {
  let i = at;
  const limit = Math.max(0, at - 40);
  while (i > limit && isGap(text.charCodeAt(i - 1))) i--;
  let end = i;
  while (i > limit && isInWord(text.charCodeAt(i - 1))) i--;
  const lastLength = end - i;
  if (lastLength > LONGEST_BEFORE_PHRASE) return false;
  const last = text.slice(i, end).toLowerCase();
  if (lastLength <= LONGEST_BEFORE_WORD && BEFORE_WORDS.has(last)) return true;
  while (i > limit && (text.charCodeAt(i - 1) === 32 || text.charCodeAt(i - 1) === 9)) i--;
  end = i;
  while (i > limit && isInWord(text.charCodeAt(i - 1))) i--;
  if (end - i + 1 + lastLength > LONGEST_BEFORE_PHRASE) return false;
  return BEFORE_PHRASES.has(`${text.slice(i, end).toLowerCase()} ${last}`);
}
/** Words before a name that say less: they count for runs of two words or more. */
const BEFORE_WEAK = /\b(?:by|from|with|to|for|and|or|at)\s$/i;

/** Words after a name. */
const AFTER =
  /^(?:'s\b|’s\b|,?\s(?:called|said|wrote|phoned|emailed|asked|replied|signed|is\s(?:our|my|the|a)|was|will|has|had|lives|works|joined|left|booked|paid|ordered|confirmed|requested|reported|sent|who)\b)/i;

const NAME_TAGS = new Set(['FirstName', 'MaleName', 'FemaleName', 'LastName', 'Person']);
/** Lexicon tags of words that are never part of a name. */
// biome-ignore format: a list
const OTHER_TAGS = new Set([
  'City', 'Country', 'Place', 'Region', 'SportsTeam', 'Month', 'WeekDay', 'Date', 'Holiday', 'Demonym', 'Language',
  'Currency', 'Unit', 'Determiner', 'Preposition', 'Pronoun', 'Conjunction', 'Expression', 'QuestionWord', 'Modal',
  'Copula', 'Negative', 'Cardinal', 'Ordinal', 'TextValue', 'Possessive', 'Imperative',
]);

/** Capitalised words: a capital letter, then letters, marks, apostrophes, hyphens or a closing dot. */
const CAPITALISED = /\p{Lu}[\p{L}\p{M}'’-]*\.?/gu;
const UPPER_CASE = /\p{Lu}/u;

interface Token {
  text: string;
  start: number;
  end: number;
}

export interface NameMatch {
  start: number;
  end: number;
  confidence: number;
}

/**
 * Whether a run is worth a closer look: not inside what another detector took, at most eight
 * words (a longer run is a heading or a list of capitalised words), and a run of one word only
 * with a word before or after it that announces a name.
 */
function worthALook(text: string, run: Token[], isTaken: (start: number, end: number) => boolean): boolean {
  if (run.length > 8 || isTaken((run[0] as Token).start, (run.at(-1) as Token).end)) return false;
  if (run.length > 1) return true;
  const only = run[0] as Token;
  // Acronyms and one letter alone are never a name.
  if (only.text.length < 2 || only.text === only.text.toUpperCase()) return false;
  return (
    HONORIFIC_BEFORE.test(text.slice(Math.max(0, only.start - 8), only.start)) ||
    nameAnnouncedBefore(text, only.start) ||
    AFTER.test(text.slice(only.end, only.end + 24))
  );
}

/** Whether `text[at]` begins a sentence: the text's start, or after `.`, `!`, `?`, `:`, a newline or a quote. */
function startsSentence(text: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '"' || text[i] === '“' || text[i] === '(' || text[i] === '\t')) i--;
  return i < 0 || '.!?:\n*-•>'.includes(text[i] as string);
}

/** The sentence around `[start, end)`, at most 200 characters either side. */
function sentenceAround(text: string, start: number, end: number): [number, number] {
  // `.`, `!`, `?` and a newline end a sentence.
  const ends = (c: number) => c === 46 || c === 33 || c === 63 || c === 10;
  let from = start;
  while (from > 0 && start - from < 200 && !ends(text.charCodeAt(from - 1))) from--;
  let to = end;
  while (to < text.length && to - end < 200) {
    const c = text.charCodeAt(to);
    if (c === 33 || c === 63 || c === 10 || (c === 46 && text.charCodeAt(to + 1) === 32)) break;
    to++;
  }
  return [from, Math.min(text.length, to + 1)];
}

/** Names in `text`. */
export function findPersonNames(
  text: string,
  isTaken: (start: number, end: number) => boolean = () => false,
  /** The characters other detectors took (1 for each), when known: they are passed over without a look. */
  covered?: Uint8Array,
): NameMatch[] {
  // Runs of capitalised words joined by single spaces, particles or initials.
  const runs: Token[][] = [];
  let current: Token[] = [];
  let previousEnd = -1;
  const length = text.length;
  let from = 0;
  for (;;) {
    // What other detectors took is passed over in one go, not word by word; a capital in it ends the run below.
    let passedTaken = false;
    if (covered) {
      for (; from < length && covered[from]; from++) {
        const c = text.charCodeAt(from);
        if ((c >= 65 && c <= 90) || (c >= 128 && UPPER_CASE.test(text[from] as string))) passedTaken = true;
      }
    }
    // A word another detector holds (a street's name) ends the run and is no name.
    if (passedTaken) {
      if (current.length > 0) runs.push(current);
      current = [];
      previousEnd = -1;
    }
    CAPITALISED.lastIndex = from;
    const m = from < length ? CAPITALISED.exec(text) : null;
    if (!m) break;
    const start = m.index;
    from = start + m[0].length;
    if (covered?.[start]) {
      from = start;
      continue;
    }
    if (isTaken(start, start + 1)) {
      if (current.length > 0) runs.push(current);
      current = [];
      previousEnd = -1;
      continue;
    }
    const before = start > 0 ? text.charCodeAt(start - 1) : 32;
    // Inside a word (`iPhone`, `McDonald`'s second capital is inside the same match): skip.
    if (before !== 32 && start > 0 && /[\p{L}\p{M}\d]/u.test(text[start - 1] as string)) continue;
    const token = { text: m[0], start, end: start + m[0].length };
    // The common case, one space between two words, is told without cutting the gap out.
    const oneSpace = previousEnd >= 0 && start === previousEnd + 1 && before === 32;
    const gap = oneSpace ? ' ' : previousEnd >= 0 ? text.slice(previousEnd, start) : '';
    const joined =
      current.length > 0 &&
      (oneSpace ||
        (gap.length <= 10 &&
          /^ (?:[\p{Ll}']{1,4} ){1,2}$/u.test(gap) &&
          gap
            .trim()
            .split(' ')
            .every((p) => PARTICLES.has(p))));
    if (!joined && current.length > 0) {
      runs.push(current);
      current = [];
    }
    if (joined && gap !== ' ') {
      // Keep particles in the run as tokens of their own.
      current.push({ text: gap.trim(), start: previousEnd + 1, end: start - 1 });
    }
    // A run longer than eight words is passed over below: its further words need not be kept.
    if (current.length <= 9) current.push(token);
    previousEnd = token.end;
  }
  if (current.length > 0) runs.push(current);
  // The runs worth a closer look, kept in place.
  let kept = 0;
  for (const run of runs) if (worthALook(text, run, isTaken)) runs[kept++] = run;
  runs.length = kept;
  if (runs.length === 0) return [];

  const { lexicon, tag, inVocabulary } = loadModels();
  // The runs' words not yet known to be common or not, looked up in one pass of the tagger's tokenizer.
  let lookups = vocabularyChecksFor(text);
  const unknown = new Set<string>();
  for (const run of runs) {
    for (const t of run) {
      const w = t.text.toLowerCase().replace(/[.'’]+$/, '');
      if (!vocabulary.has(w) && lookups > 0 && /^[\p{Ll}\p{M}]+$/u.test(w) && !unknown.has(w)) {
        unknown.add(w);
        lookups--;
      }
    }
  }
  if (unknown.size > 0) {
    const words = [...unknown];
    const known = inVocabulary(words);
    if (vocabulary.size > 50_000) vocabulary.clear();
    for (const [i, w] of words.entries()) vocabulary.set(w, known[i] ?? false);
  }
  const tagsOf = (word: string): string[] => {
    const entry = lexicon[word.toLowerCase().replace(/[.'’]+$/, '')];
    return entry === undefined ? [] : Array.isArray(entry) ? entry : [entry];
  };
  let checks = nameChecksFor(text);
  const tagged = new Map<number, Map<number, string>>();
  /** Part of speech of each word of the sentence around a run, by the word's start in `text`. */
  const posOf = (start: number, end: number): Map<number, string> | undefined => {
    const [from, to] = sentenceAround(text, start, end);
    let pos = tagged.get(from);
    if (pos) return pos;
    if (checks-- <= 0) return undefined;
    pos = new Map();
    const sentence = text.slice(from, to);
    let cursor = 0;
    for (const t of tag(sentence)) {
      const at = sentence.indexOf(t.text, cursor);
      if (at < 0) continue;
      pos.set(from + at, t.pos);
      cursor = at + t.text.length;
    }
    tagged.set(from, pos);
    return pos;
  };

  const found: NameMatch[] = [];
  // Past this many runs, a run of two words or more is taken unchecked, erring towards privacy.
  let fullChecks = 200 + Math.floor(text.length / 500);
  for (const run of runs) {
    if (fullChecks-- <= 0) {
      if (run.length >= 2) found.push({ start: (run[0] as Token).start, end: (run.at(-1) as Token).end, confidence: NAME_THRESHOLD });
      continue;
    }
    let tokens = run;
    // A company: the run ends in (or is followed by) a company suffix.
    const afterRun = text.slice((tokens.at(-1) as Token).end, (tokens.at(-1) as Token).end + 12);
    const lastWord = bare(tokens.at(-1)?.text ?? '');
    if (
      COMPANY_SUFFIXES.has(lastWord) ||
      /^,? (?:inc|llc|ltd|gmbh|ag|sa|corp|plc|bv|srl|spa)\b/i.test(afterRun) ||
      /^\p{Lu}\./u.test(afterRun)
    )
      continue;
    // An honorific opens the name and is not part of it.
    let honorific = false;
    while (tokens.length > 0 && HONORIFICS.has(bare((tokens[0] as Token).text))) {
      honorific = true;
      tokens = tokens.slice(1);
    }
    const preceding = text.slice(Math.max(0, (run[0] as Token).start - 24), (run[0] as Token).start);
    if (!honorific && HONORIFIC_BEFORE.test(preceding)) honorific = true;
    // Words that are plainly something else are cut from the ends (`Please`, `Monday`, `Street`).
    const other = (t: Token) => {
      const tags = tagsOf(t.text);
      return tags.some((x) => OTHER_TAGS.has(x)) && !tags.some((x) => NAME_TAGS.has(x));
    };
    // Acronyms (`LH`, `USD`) are no part of a name either.
    const edge = (t: Token) =>
      other(t) || PARTICLES.has(t.text) || (t.text.length > 1 && t.text === t.text.toUpperCase() && !/^\p{Lu}\.$/u.test(t.text));
    while (tokens.length > 0 && edge(tokens[0] as Token)) tokens = tokens.slice(1);
    while (tokens.length > 0 && edge(tokens.at(-1) as Token)) tokens = tokens.slice(0, -1);
    // A known place or organisation of several words (`San Francisco`, `New York`).
    if (tokens.length >= 2 && tagsOf(tokens.map((t) => t.text).join(' ')).some((x) => OTHER_TAGS.has(x))) continue;
    if (tokens.length === 0) continue;
    // Common English words that are not also names: a run of only these is a title (`Data Protection Act`).
    const common = (t: Token) =>
      vocabulary.get(t.text.toLowerCase().replace(/[.'’]+$/, '')) === true && !tagsOf(t.text).some((x) => NAME_TAGS.has(x));
    // Common words opening a run introduce the name (`Dear`, `Patient`, `Customer`): they are cut from it.
    while (tokens.length > 1 && common(tokens[0] as Token)) {
      const lead = tokens[0] as Token;
      if (!INTRODUCERS.has(bare(lead.text)) && posOf(lead.start, (tokens.at(-1) as Token).end)?.get(lead.start) === 'PROPN') break;
      tokens = tokens.slice(1);
    }
    if (tokens.length === 0) continue;
    const first = tokens[0] as Token;
    const last = tokens.at(-1) as Token;
    const words = tokens.filter((t) => !PARTICLES.has(t.text));
    if (words.some(other)) continue;
    const commonWords = words.filter(common).length;
    if (!honorific && commonWords === words.length) continue;
    // Initials alone, all-capital acronyms and one-letter words are no names.
    if (words.every((t) => /^\p{Lu}\.?$/u.test(t.text) || t.text === t.text.toUpperCase())) continue;
    const known = words.filter((t) => tagsOf(t.text).some((x) => NAME_TAGS.has(x))).length;
    const before = text.slice(Math.max(0, first.start - 30), first.start);
    const context =
      nameAnnouncedBefore(text, first.start) ||
      AFTER.test(text.slice(last.end, last.end + 24)) ||
      (words.length >= 2 && BEFORE_WEAK.test(before));
    const atSentenceStart = startsSentence(text, first.start);

    // One word alone is a name only with an honorific or a word around it that says so.
    if (words.length === 1 && !honorific && !context) continue;
    // Half or more common words and no known name: a product or a team (`Microsoft Teams`), unless the context says otherwise.
    if (commonWords * 2 >= words.length && known === 0 && !context && !honorific) continue;
    let confidence = words.length >= 2 ? 0.55 : 0.2;
    if (known > 0) confidence += words.length >= 2 ? 0.2 : 0.3;
    if (honorific) confidence += 0.4;
    if (context) confidence += 0.3;
    if (atSentenceStart && !honorific && known === 0) confidence -= 0.15;
    // The tagger, for runs that are not settled by the lexicon and the context.
    if (confidence > 0.2 && confidence < 0.85) {
      const pos = posOf(first.start, last.end);
      if (pos) {
        const tags = words.map((t) => pos.get(t.start));
        if (tags.every((p) => p === 'PROPN')) confidence += 0.2;
        else if (tags.some((p) => p === 'NOUN' || p === 'VERB' || p === 'ADJ' || p === 'ADV' || p === 'NUM' || p === 'AUX'))
          confidence -= context ? 0.15 : 0.3;
      } else if (words.length >= 2 || known > 0) confidence += 0.1; // Unchecked: err towards privacy.
    }
    if (confidence < NAME_THRESHOLD) continue;
    const end = last.text.endsWith('.') && last.text.length > 2 ? last.end - 1 : last.end;
    found.push({ start: first.start, end, confidence: Math.min(1, confidence) });
  }
  return found;
}

function bare(word: string): string {
  return word.toLowerCase().replace(/[.,;:]+$/, '');
}
