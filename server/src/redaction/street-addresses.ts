/**
 * Street addresses: a house number beside a street name that carries a street-type word, in the
 * orders languages write them: `802 University Avenue Apt. 345`, `9 Rue Chautenatte`,
 * `Via Roma 12`, `Schellingstr. 797`, `Renéestraat 956`, `Calle Mayor, 73`, `ul. Długa 8`.
 *
 * The scan is anchored on numbers beside a word: only a bounded window (six words either side) of
 * each such number is read, so the time is linear in the text. Streets without a street-type word
 * (Czech and Croatian ones, say) and scripts without spaces are not found.
 */

/** Street-type words written after the street's name (`Walnut Street`, `Ülkü Sokak`). */
const AFTER_NAME = new Set(
  (
    'street st avenue ave av road rd lane ln drive dr boulevard blvd court ct place pl way terrace ter circle cir parkway pkwy ' +
    'highway hwy square sq trail trl alley aly crescent cres close grove gardens gdns row mews walk hill heights park ridge ' +
    'lake lakes ville view vista crossing xing junction junctions jct landing loop path pike plaza point pointe port ranch ' +
    'run spur station summit track turnpike underpass union valley viaduct village villages way ways wells bypass causeway ' +
    'center centre cove creek crest dale dam divide estate estates expressway extension falls ferry field fields flat flats ' +
    'ford forest forge fork forks fort freeway garden gateway glen glens green greens harbor harbour haven hollow inlet ' +
    'island islands isle key keys knoll knolls manor meadow meadows mill mills mission motorway mount mountain neck orchard ' +
    'oval pass passage pines plain plains prairie radial ramp rapid rapids rest roads route shoal shoals shore shores ' +
    'skyway spring springs stravenue stream streets throughway trace trafficway tunnel burg burgs bluff bluffs bottom branch ' +
    'bridge brook brooks bend cliff cliffs common commons corner corners curve fall locks lodge light lights loaf ' +
    'canyon cape club camp arcade annex wall mall river gatve határút ' +
    // Hungarian, Turkish, Latvian, Swedish, Norwegian, Danish, Romanian, Russian, Ukrainian.
    'utca u. út fasor tér körút sokak sokağı sk cadde caddesi cad bulvarı mahallesi iela laukums bulvāris prospekts gatan ' +
    'gata väg vägen gate vei veien gade vej allé стр улица ул проспект пр переулок пер бульвар бул площадь пл шоссе ' +
    'liget országút sor köz rakpart lejtő dűlő allén tunet gärdet backen plassen ' +
    'sétány sugárút аллея проезд тупик набережная майдан вулиця вул провулок пров площа проспект бульвар узвіз'
  ).split(/\s+/),
);

/** Street-type words that languages write in lower case (`Szováta fasor`, `Jāņa Čakstes laukums`). */
const LOWER_CASE_TYPES = new Set(
  'liget országút sor köz rakpart lejtő dűlő аллея проезд тупик sétány sugárút набережная utca u. út fasor tér körút iela laukums bulvāris prospekts улица ул проспект пр переулок пер бульвар бул площадь пл шоссе майдан вулиця вул провулок пров площа узвіз'.split(
    ' ',
  ),
);

/** Street-type words written before the street's name (`Rue de la Paix`, `Via Roma`, `ul. Długa`). */
const BEFORE_NAME = new Set(
  (
    'rue avenue av boulevard bd place chemin allée impasse quai route cours passage square voie sentier rond-point ' +
    'calle c/ avenida avda plaza paseo camino carrera ronda travesía bajada glorieta callejón cuesta urbanización vía ' +
    'explanada carretera cerrada pasaje masía calzada calz. privada andador circuito retorno prolongación periférico ' +
    'diagonal rambla polígono lugar partida viaducto rampa viela urbanização blvd. blvd rynek ' +
    'via viale piazza corso borgo vicolo largo contrada strada piazzale rotonda incrocio canale lungomare salita ' +
    'rua travessa praça alameda marginal rodovia estrada beco ladeira ' +
    'am im zum zur ' +
    'ul ul. al al. pl pl. os os. wyb wyb. skwer rondo szosa bulw. bulwar aleja plac ' +
    'strada str str. bulevardul bd. calea intrarea aleea piața șoseaua splaiul ' +
    'jln jln. jl jl. jalan gg gg. ds. ds kp. kp dk. ki. ' +
    'ved ' +
    'ал ал. ул ул. пр пр. пер пер. бул бул. вул вул. вулиця улица пров. провулок проезд наб. ш. пл.'
  ).split(/\s+/),
);

/** Endings of one-word street names (`Schellingstr.`, `Renéestraat`, `Carlsenveien`, `Sofiatie`). */
// biome-ignore format: a list
const COMPOUND_ENDINGS = [
  'straße', 'strasse', 'str.', 'weg', 'gasse', 'allee', 'platz', 'ring', 'damm', 'ufer', 'chaussee', 'pfad', 'steig', 'graben',
  'markt', 'berg', 'straat', 'laan', 'plein', 'dijk', 'gracht', 'kade', 'singel', 'steeg', 'dreef', 'veien', 'vei', 'gata',
  'gatan', 'vägen', 'gade', 'vej', 'tie', 'katu', 'kuja', 'polku', 'penger', 'matte', 'raitti', 'park', 'torvet', 'tunet', 'gärdet', 'allén', 'backen', 'liden', 'stræde', 'torv', 'straede', 'bakken', 'dorf', 'hof', 'feld', 'väylä', 'gränd', 'stigen', 'torget', 'plads',
];

/** Words between a prefix street word and the name (`Place de Nesle`, `An der Alster`). */
const PARTICLES = new Set([
  'de',
  'la',
  'le',
  'les',
  'du',
  'des',
  "d'",
  'del',
  'della',
  'dei',
  'di',
  'da',
  'do',
  'dos',
  'das',
  'der',
  'den',
  'van',
  'von',
  'e',
  'y',
  'et',
  'und',
  'and',
  'of',
  'the',
]);

/** Secondary units after an address: `Apt. 345`, `Suite 780`. */
const SECONDARY =
  /,?\s{1,3}(?:apt\.?|apartment|suite|ste\.?|unit|flat|floor|fl\.?|#|bloc|piso|étage|etg\.?|wohnung|whg\.?|appartamento|interno|int\.|zimmer|top|m\.|lok\.?|кв\.?|квартира|lgh\.?|edificio|puerta|pta\.?|dpto\.?|depto\.?|bus|boîte|app\.?)\s{0,3}\d{1,5}[a-z]?\b/iy;

const isDigit = (c: number) => c >= 48 && c <= 57;
/** Words that announce an address. */
const ADDRESS_CONTEXT =
  /\b(?:address(?: is)?|lives at|living at|resides at|located at|ship(?:ped)? (?:it )?to|deliver(?:ed)? to|send (?:it )?to|go(?:es)? to|returns? to|moved to|adresse|anschrift|dirección|direccion|indirizzo|endereço|adres|adress|osoite|cím|adresa|адрес)[\s:,]*$/i;
const HOUSE_NUMBER = /\b\d{1,5}(?:[a-zA-Z]\b|\/\d{1,3}\b)?/g;

const bare = (word: string) => word.toLowerCase().replace(/[,;:]$/, '');
const isCapitalised = (word: string) => {
  const first = word[0] ?? '';
  return first !== first.toLowerCase();
};
/** A street-type word, also in the plural (`Manors`, `Glens`). */
const isAfterName = (word: string) => AFTER_NAME.has(word) || (word.endsWith('s') && AFTER_NAME.has(word.slice(0, -1)));
const isStreetCompound = (word: string) => {
  const w = bare(word);
  return w.length > 4 && COMPOUND_ENDINGS.some((e) => w.endsWith(e) && w.length > e.length + 1);
};

/** The word just before `at` (across one space, or a comma and a space), at most 40 characters long. */
function nearestWordBefore(text: string, at: number): string {
  let end = at - 1;
  if (text[end - 1] === ',') end--;
  let start = end;
  while (start > 0 && end - start < 40 && !' \t\n'.includes(text[start - 1] as string)) start--;
  return text.slice(start, end);
}

interface Word {
  text: string;
  start: number;
  end: number;
}

/** Up to `count` whitespace-separated words of `text[from, to)`, nearest first when `backwards`. */
function wordsIn(text: string, from: number, to: number, count: number, backwards: boolean): Word[] {
  const words: Word[] = [];
  let i = from;
  while (i < to) {
    while (i < to && ' \t\n\r'.includes(text[i] as string)) i++;
    const start = i;
    while (i < to && !' \t\n\r'.includes(text[i] as string)) i++;
    if (i > start) words.push({ text: text.slice(start, i), start, end: i });
  }
  return backwards ? words.slice(-count).reverse() : words.slice(0, count);
}

/** How many numbers per text get their six-word windows read: 100, and one more per 100 characters. */
export const addressChecksFor = (text: string) => 100 + Math.floor(text.length / 100);

export interface AddressMatch {
  start: number;
  end: number;
  confidence: number;
}

/** Street addresses in `text`. */
export function findStreetAddresses(text: string): AddressMatch[] {
  const found: AddressMatch[] = [];
  let lastEnd = -1;
  let windows = addressChecksFor(text);
  for (const m of text.matchAll(HOUSE_NUMBER)) {
    const numStart = m.index ?? 0;
    const numEnd = numStart + m[0].length;
    if (numStart < lastEnd) continue;
    // Beside a word: a space (or a comma and a space) and a letter on one side.
    const prevChar = text.charCodeAt(numStart - 1);
    const nextChar = text.charCodeAt(numEnd);
    const wordBefore = numStart >= 2 && (prevChar === 32 || prevChar === 160) && !isDigit(text.charCodeAt(numStart - 2));
    const wordAfter = (nextChar === 32 || nextChar === 160) && numEnd + 1 < text.length && !isDigit(text.charCodeAt(numEnd + 1));
    if (!wordBefore && !wordAfter) continue;
    // A cheap look at the nearest word on each side before reading the window: a street needs a
    // capitalised word, a street-type word or a house-number word (`no`) beside the number.
    const nearBefore = wordBefore ? nearestWordBefore(text, numStart) : '';
    const beforeCounts =
      nearBefore !== '' &&
      ((isCapitalised(nearBefore) &&
        !/[:;!?)]$/.test(nearBefore) &&
        (!nearBefore.endsWith('.') || isStreetCompound(nearBefore) || BEFORE_NAME.has(bare(nearBefore)))) ||
        LOWER_CASE_TYPES.has(bare(nearBefore)) ||
        BEFORE_NAME.has(bare(nearBefore)) ||
        /^(?:no\.?|nr\.?|n\.|nº)$/i.test(nearBefore));
    const afterCounts = wordAfter && isCapitalised(text[numEnd + 1] ?? '');
    if (!beforeCounts && !afterCounts) continue;
    // Past the budget of window reads, a number after a capitalised word is taken unchecked, erring towards privacy.
    if (windows-- <= 0) {
      if (beforeCounts && isCapitalised(nearBefore)) {
        found.push({ start: numStart - 1 - nearBefore.length - (text[numStart - 2] === ',' ? 1 : 0), end: numEnd, confidence: 0.5 });
        lastEnd = numEnd;
      }
      continue;
    }
    let match: AddressMatch | undefined;
    // The number after the street: `Via Roma 12`, `Schellingstr. 797`, `Calle Mayor, 73`, `Ülkü Sokak 56c`.
    if (beforeCounts) {
      let before = wordsIn(text, Math.max(0, numStart - 80), numStart, 7, true);
      // `Jln. Maryanto no 78`, `Hauptstraße Nr. 5`, `Via Roma n. 12`.
      if (before[0] && /^(?:no\.?|nr\.?|n\.|nº|núm\.?|num\.?)$/i.test(before[0].text)) before = before.slice(1);
      const nearest = before[0];
      if (nearest && !/[.!?]$/.test(nearest.text.replace(/(?:str|ul|al|pl|os|wyb|jln|jl|gg|bd|av|avda|пр|ул|ал|пер|бул|вул)\.$/i, ''))) {
        let start = -1;
        let confidence = 0;
        if (isStreetCompound(nearest.text) && isCapitalised(nearest.text)) {
          start = nearest.start;
          confidence = 0.85;
          // A prefix word before the compound (`Am Mühlwasser`), if any.
          const prev = before[1];
          if (prev && BEFORE_NAME.has(bare(prev.text))) start = prev.start;
        } else {
          // A street-type word among the words before, with capitalised names (or particles) up to the number.
          for (let i = 0; i < before.length; i++) {
            const w = before[i] as Word;
            const b = bare(w.text);
            if (i > 0 && /[.!?:;]$/.test(w.text) && !BEFORE_NAME.has(b)) break;
            if (BEFORE_NAME.has(b) && i > 0 && (b.length > 2 || b.endsWith('.') || isCapitalised(w.text))) {
              const names = before.slice(0, i);
              if (names.every((n) => isCapitalised(n.text) || PARTICLES.has(bare(n.text)) || /^\d/.test(n.text))) {
                start = w.start;
                confidence = isCapitalised(w.text) || w.text.endsWith('.') ? 0.85 : 0.7;
              }
              break;
            }
            if (
              isAfterName(b.replace(/\.$/, '')) &&
              (isCapitalised(w.text) || LOWER_CASE_TYPES.has(b)) &&
              i === 0 &&
              before[1] &&
              isCapitalised(before[1].text)
            ) {
              // `Ülkü Sokak 56c`, `Stefans Väg 280`, `Jāņa Čakstes laukums 90`.
              let j = 1;
              while (
                j + 1 < before.length &&
                j < 3 &&
                isCapitalised((before[j + 1] as Word).text) &&
                !/[.!?,:;]$/.test((before[j + 1] as Word).text)
              )
                j++;
              start = (before[j] as Word).start;
              confidence = 0.75;
              break;
            }
            if (!isCapitalised(w.text) && !PARTICLES.has(b)) break;
          }
        }
        if (start >= 0) match = { start, end: numEnd, confidence };
      }
    }
    // The number before the street: `802 University Avenue`, `9 Rue Chautenatte`, `2804 Place de Nesle`.
    if (!match && afterCounts) {
      const after = wordsIn(text, numEnd, Math.min(text.length, numEnd + 80), 6, false);
      const first = after[0];
      if (first) {
        const b = bare(first.text);
        if (BEFORE_NAME.has(b) && isCapitalised(first.text) && after[1]) {
          // A prefix word, then capitalised names and particles.
          let end = first.end;
          for (let i = 1; i < after.length; i++) {
            const w = after[i] as Word;
            const clean = w.text.replace(/[,.;:!?]$/, '');
            if (isCapitalised(clean) || (PARTICLES.has(bare(clean)) && i + 1 < after.length)) {
              end = w.start + clean.length;
              if (clean !== w.text) break;
            } else break;
          }
          if (end > first.end) match = { start: numStart, end, confidence: 0.8 };
        } else {
          // Capitalised names, then a street-type word (`E Walnut Street`, `Pouros Mews`).
          for (let i = 0; i < after.length && i < 5; i++) {
            const w = after[i] as Word;
            const clean = w.text.replace(/[,;:!?]$/, '').replace(/\.$/, '');
            if (!isCapitalised(clean)) break;
            if (i > 0 && isAfterName(clean.toLowerCase())) {
              match = {
                start: numStart,
                end: w.start + clean.length + (w.text.slice(clean.length).startsWith('.') ? 1 : 0),
                confidence: 0.8,
              };
              break;
            }
            if (clean !== w.text.replace(/\.$/, '')) break;
          }
        }
      }
    }
    // No street-type word, but the words before say an address follows: capitalised words and the number.
    if (!match && beforeCounts && isCapitalised(nearBefore)) {
      const before = wordsIn(text, Math.max(0, numStart - 60), numStart, 5, true);
      let j = 0;
      while (j < before.length && j < 4 && isCapitalised((before[j] as Word).text) && !/[.!?:;]$/.test((before[j] as Word).text)) j++;
      const start = j > 0 ? (before[j - 1] as Word).start : -1;
      if (start >= 0 && ADDRESS_CONTEXT.test(text.slice(Math.max(0, start - 30), start))) match = { start, end: numEnd, confidence: 0.7 };
    }
    if (!match) continue;
    SECONDARY.lastIndex = match.end;
    const secondary = SECONDARY.exec(text);
    if (secondary) match.end += secondary[0].length;
    found.push(match);
    lastEnd = match.end;
  }
  return found;
}
