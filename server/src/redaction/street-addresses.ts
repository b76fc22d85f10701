/**
 * Street addresses: a house number beside a street name that carries a street-type word, in the
 * orders languages write them: `802 University Avenue Apt. 345`, `9 Rue Chautenatte`,
 * `Via Roma 12`, `Schellingstr. 797`, `Renéestraat 956`, `Calle Mayor, 73`, `ul. Długa 8`.
 *
 * The scan is anchored on numbers beside a word: only a bounded window (six words either side) of
 * each such number is read, so the time is linear in the text. Streets without a street-type word
 * (Czech and Croatian ones, say) and scripts without spaces are not found.
 */

const wordSet = (list: string) => new Set(list.split(/\s+/).filter(Boolean));

/**
 * Street-type words written after the street's name (`Walnut Street`, `Ülkü Sokak`, `Kölner Str.`,
 * `Mēmeles gatve`, `Кавказская пл.`), in lower case and without a final dot.
 */
const AFTER_NAME = wordSet(`
  street st avenue ave av road rd lane ln drive dr boulevard blvd court ct place pl way terrace ter circle cir parkway pkwy
  highway hwy square sq trail trl alley aly crescent cres close grove gardens gdns row mews walk hill hills heights park
  ridge ridges lake lakes ville view views vista crossing xing crossroad crossroads junction junctions jct landing loop path
  pike plaza point points pointe port ports ranch run spur spurs station summit track turnpike underpass overpass union
  unions valley valleys viaduct via village villages ways well wells bypass causeway center centers centre cove coves creek
  crest dale dam divide estate estates expressway extension extensions fall falls ferry field fields flat flats ford fords
  forest forge forges fork forks fort freeway garden gateway glen glens green greens harbor harbors harbour haven hollow
  inlet island islands isle key keys knoll knolls manor manors meadow meadows mill mills mission motorway mount mountain
  mountains neck orchard oval pass passage pine pines plain plains prairie radial ramp rapid rapids rest roads route shoal
  shoals shore shores skyway spring springs stravenue stream streets throughway trace trafficway tunnel burg burgs bluff
  bluffs bottom branch bridge brook brooks bend cliff cliffs club common commons corner corners course courts curve camp
  canyon cape arcade annex wall mall river land lock locks loaf lodge light lights circles rue drives circuit
  rise croft bank gate end drove mead chase yard garth fold wynd parade vale brae grange approach wood paddock brow lea side
  copse glade dell broadway esplanade promenade quay wharf
  väg gata gatan gränd torg vei veien gate plass allé alle vej gade plads torv stræde vænge
  str straße strasse weg gasse allee platz ring damm ufer chaussee pfad steig stieg graben markt berg mühle hof feld garten
  heide brücke siedlung kai zeile winkel höhe tal wiese aue landstraße bundesstraße gässchen
  straat laan plein gracht kade dijk singel dreef plantsoen pad steeg wal
  iela bulvāris gatve gāte laukums dambis prospekts šoseja aleja krastmala līnija
  utca u út útja tér tere körút krt körtér főtér főút fasor sétány sor köz liget rakpart dűlő határút lakótelep ltp
  országút sugárút lejtő udvar kert telep
  sokak sokağı sk sok cadde caddesi cad cd bulvarı blv bulvar mahallesi mah yolu meydanı çıkmazı
  улица ул проспект пр просп переулок пер бульвар бул б-р площадь пл шоссе ш набережная наб аллея ал проезд тупик линия
  тракт вулиця вул провулок пров площа майдан узвіз набережна шосе
`);

/**
 * Of these, common English nouns (`Land`, `Bank`, `End`, `Point`): after a number and capitalised
 * words they end a street only when no further capitalised word follows (`12 Data Center Trends` is a title).
 */
const WEAK_AFTER_NAME = wordSet(`
  land end bank side gate wood yard course approach chase rise point points center centre station union key keys light lights
  mission run rest track club well wells fall falls green greens park mall pass field fields common commons corner corners
  branch camp cape spring springs view views lock locks loaf cove forge island isle fold bend port mount
`);

/**
 * Street-type words that are written in lower case (`Szováta fasor`, `Mēmeles gatve`,
 * `Karl Johans gate`, `площадь Свободная`), so a lower-case one still counts.
 */
const LOWER_CASE_TYPES = wordSet(`
  iela bulvāris gatve gāte laukums dambis prospekts šoseja aleja krastmala līnija
  utca u út útja tér tere körút krt körtér főtér főút fasor sétány sor köz liget rakpart dűlő határút lakótelep ltp
  országút sugárút lejtő udvar kert telep park
  gate gata gatan väg vei veien gränd allé plass vej gade
  улица ул проспект пр просп переулок пер бульвар бул б-р площадь пл шоссе ш набережная наб аллея ал проезд тупик линия
  тракт вулиця вул провулок пров площа майдан узвіз набережна шосе
`);

/**
 * Street-type words written before the street's name (`Rue de la Paix`, `Via Roma`, `ul. Długa`,
 * `Calle Mayor`, `Jln. Merdeka`, `Intrarea Nicolae Caranfil`), in lower case and without a final dot.
 */
const BEFORE_NAME = wordSet(`
  rue avenue av boulevard bd bld place pl chemin ch allée impasse imp quai route rte cours passage square voie sentier
  rond-point drève galerie jardin parc parvis porte esplanade promenade cité résidence hameau lieu-dit traverse montée ruelle
  venelle faubourg fg carrefour
  calle c/ cl avenida avda plaza pza paseo pº camino carrera ronda travesía bajada glorieta callejón cuesta urbanización urb
  vía explanada carretera ctra carr cerrada cda pasaje psje masía calzada calz privada priv andador circuito retorno
  prolongación prol periférico diagonal rambla polígono lugar partida viaducto rampa aldea alameda arrabal arroyo autopista
  autovía barranco barrio bloque bulevar calleja caserío caserio colonia conjunto entrada escalinata grupo huerta jardines
  manzana mercado monte muelle parcela parque poblado puente puerta quinta ramal riera rincón rúa salida sector senda subida
  torrente vereda eje blvd chalet ferrocarril
  rua r travessa tv praça alameda marginal rodovia estrada beco ladeira acesso azinhaga bairro calçada caminho escadas jardim
  largo praceta urbanização viela rotunda viaduto
  via viale piazza piazzale corso borgo vicolo contrada strada piazzetta rotonda incrocio lungomare salita galleria traversa
  vico località loc frazione fraz circonvallazione
  am im zum zur auf beim
  ul al os wyb bulw skwer rondo szosa bulwar aleja plac droga ogród wyspa osiedle rynek park
  str bulevardul b-dul calea intrarea aleea piața șoseaua splaiul drumul
  jalan jln jl gang gg kampung kpg dusun ds dukuh dk kp ki psr pasar jr
  ved
  ул улица пр проспект просп пер переулок бул бульвар пл площадь наб набережная ал аллея ш шоссе проезд вул вулиця пров
  провулок площа майдан узвіз
`);

/** Prefix street-type words that are also common lower-case words in English or Polish prose: they need a capitalised name after them. */
const LOWER_CASE_PREFIX_WORDS = wordSet('park droga ogród wyspa plac rondo rynek aleja osiedle skwer szosa');

/** Words before a street's name that belong to it (`Östra Björkgränden`, `Petite rue`, `Alte Landstraße`). */
const MODIFIERS = wordSet(`
  östra västra norra södra övre undre øvre nedre søndre nordre østre vestre gamle store lille lilla stora nya gamla
  alte alter altes neue neuer neues obere oberer untere unterer große großer kleine kleiner hintere vordere
  petite grande gran mazā lielā vecā jaunā
`);

/** Words between a street and its number (`Jln. Maryanto no 78`, `Hauptstraße Nr. 5`, `Strada X, Bloc 84`). */
const HOUSE_NUMBER_WORDS = wordSet('no nr n nº núm num no: №  bloc bl');

/** Endings of one-word street names (`Schellingstr.`, `Renéestraat`, `Carlsenveien`, `Sofiatie`, `Banevænget`). */
// biome-ignore format: a list
const COMPOUND_ENDINGS = [
  // German
  'straße', 'strasse', 'str.', 'weg', 'gasse', 'allee', 'platz', 'ring', 'damm', 'ufer', 'chaussee', 'pfad', 'steig', 'stieg',
  'graben', 'markt', 'berg', 'brücke', 'siedlung', 'hof', 'feld', 'garten', 'zeile', 'promenade', 'gässchen', 'winkel', 'matte',
  // Dutch
  'straat', 'laan', 'plein', 'dijk', 'gracht', 'kade', 'singel', 'steeg', 'dreef', 'plantsoen', 'park', 'pad', 'baan', 'wal',
  // Swedish, Norwegian, Danish
  'vägen', 'gatan', 'gränden', 'gärdet', 'allén', 'backen', 'liden', 'stigen', 'torget', 'leden', 'slingan', 'gata', 'väg', 'gränd',
  'veien', 'vei', 'gate', 'gaten', 'alléen', 'bakken', 'berget', 'bråten', 'eggen', 'engen', 'ekra', 'faret', 'flata', 'gjerdet',
  'grenda', 'gropa', 'hagen', 'haugen', 'havna', 'holtet', 'høgda', 'jordet', 'kollen', 'kroken', 'lunden', 'lyngen', 'løkka',
  'marka', 'moen', 'myra', 'plassen', 'ringen', 'skogen', 'skrenten', 'spranget', 'stien', 'stranda', 'stubben', 'stykket',
  'svingen', 'tjernet', 'toppen', 'tunet', 'vollen', 'vika', 'åsen', 'torvet', 'brygga',
  'vej', 'gade', 'vænget', 'vænge', 'haven', 'parken', 'marken', 'stræde', 'straede', 'plads', 'torv', 'højen', 'toften',
  'sletten', 'kæret', 'gården', 'holmen', 'mosen', 'skoven', 'vangen', 'dalen',
  // Finnish
  'katu', 'tie', 'kuja', 'polku', 'kaari', 'linja', 'raitti', 'rinne', 'penger', 'ranta', 'väylä', 'aukio', 'tori', 'puisto', 'kenttä', 'mäki',
];
/** Short endings that end many other words (`Katie`, `Bertie`, `Sterling`): they count in longer words only. */
const SHORT_ENDINGS = new Set([
  'tie',
  'vei',
  'vej',
  'hof',
  'pad',
  'wal',
  'ring',
  'berg',
  'park',
  'gate',
  'gata',
  'torv',
  'moen',
  'feld',
  'gade',
  'tori',
  'kade',
]);
/** Of these, the ones that need five letters before them (`Sofiatie`, `Bahnhof`, `Fietspad`). */
const SHORTEST_ENDINGS = new Set(['tie', 'hof', 'pad', 'wal']);
/** And the ones that three letters before them make a street (`Fyrvej`, `Højvej`). */
const SHORTER_ENDINGS = new Set(['vej', 'vei']);

/**
 * Words between a street-type word and the name, or inside the name, written in lower case
 * (`Place de Nesle`, `An der Alster`, `Calle de los Reyes`, `van der Veldeplantsoen`).
 */
const PARTICLES = wordSet(`
  de la le les du des d' l' del della delle dello dei degli di da dal dalla do dos das der den dem die van von zu ter ten
  te het 't op e y et und of the los las el lo il gli al ao à au aux sur sous lès lez en vers ou dit dite bei an
`);

/** Lower-case words that end a street's name: what follows in a sentence (`by Friday`, `is where`, `last year`). */
const STOP_WORDS = wordSet(`
  by is was are were be been being has have had will would can could should may might must shall last next this that these
  those which where when who whom whose since until till for from to at on in with without into onto near before after and
  or but as if so then than please tomorrow today yesterday tonight now here there it its he she we they you i me my your
  our their his her them us not no yes also only just still every each all any some
`);

/**
 * Words before a number that make it a count, a rank or a year (`our 3 Data Centers`, `Top 10`,
 * `Part 2 The Road Ahead`, `in 2024 Apple Park`) rather than the house number of a street after it.
 */
const COUNT_BEFORE = wordSet(`
  the our my your his her their its these those are were have has had with of about over under almost nearly only all top
  part chapter section page step level phase stage wave volume vol episode season day week version release sprint module
  grade class article item figure table bought sold
`);
/** Before a year (`in 2024 Apple Park`). */
const YEAR_BEFORE = wordSet('in by since until till before after during from');

/** Directions before or after a street's name (`80 N 2nd Street`, `12 Main Street NW`). */
const DIRECTIONS = wordSet('n s e w ne nw se sw north south east west');

const ELIDED = /^(?:d|l|dell|dall|all|sull|nell)['’]\p{Lu}/u;
const ORDINAL = /^\d{1,3}(?:st|nd|rd|th|e|er|re|ème|º|ª|\.)?$/;
const INITIAL = /^\p{Lu}\.$/u;

/** Secondary units after the number or street: `Apt. 345`, `Zimmer 431`, `Lgh. 760`, `кв. 213`, `1 OG`, `9 étage`, `3 hoog`, `7.em 60 ajtó`, `2º Izda.`. */
const SECONDARY = new RegExp(
  String.raw`(?:\s{0,2},|\s[-–]|)\s{1,3}(?:` +
    String.raw`(?:apt|apartment|appt|apto|app|ap|suite|ste|unit|flat|floor|fl|room|rm|bldg|building|bloc|bl|bloque|bloco|block|blk|zimmer|whg|wohnung|top|stiege|stg|tür|étage|etg|bât|bâtiment|esc|escalera|escalier|puerta|pta|piso|planta|dpto|depto|departamento|int|interno|interior|edificio|edif|casa|lote|quadra|sobrado|loja|sala|appartamento|piano|scala|lgh|lägenhet|hus|leil|leilighet|oppgang|dz|m|lok|lokal|кв|квартира|офис|оф|корп|корпус|под|подъезд|эт|этаж|bus|boîte|bte|#|nr|oficina|local|portal)\.?\s{0,2}(?:\d{1,5}[a-z]?|[a-d])` +
    String.raw`|\d{1,3}(?:\.|º|ª|°|e|er|re|ème|st|nd|rd|th)?\s{0,2}(?:og|eg|ug|dg|stock|etage|étage|hoog(?:\s+achter)?|verdieping|em(?:elet)?\.?(?:\s{0,2}\d{1,3}\.?\s{0,2}ajtó)?|th|tv|mf|sal|tr|izda|izq|dcha|dch|drt|dto|esq|frt|floor|fl|piano|andar)\.?` +
    String.raw`|\d{1,3}(?:[º°ª]\s{0,2})?[a-d]` +
    String.raw`|(?:bis|ter|quater|bajo|ático|atico|entlo|entresuelo|pral|principal)\.?(?:\s{1,2}(?:[a-d]|izda|dcha)\.?)?` +
    String.raw`|(?<=\s[-–]\s{1,3})\d{1,4}` +
    String.raw`)(?![\p{L}\p{N}])`,
  'iuy',
);
/** A staircase or building letter, maybe with a flat number (Finnish `13 A 9`, `Oppgang B` is above): a capital alone. */
const UNIT_LETTER = /\s(?:\p{Lu}|I{1,3}|IV)(?:\s\d{1,3})?(?![\p{L}\p{N}])/uy;
/** Portuguese floors and sides after a dash: `166-6Drt.`, `55-3C`, `35-Sub`, `-R/C`. */
const DASH_UNIT =
  /-(?:\d{1,2}\s?(?:drt|dto|esq|frt|[a-d])|r\/c|cv|bloco|ed|ap|loja|piso|sub|terr|slt|gar|and|mor|escr)\.?(?![\p{L}\p{N}])/iuy;
/** A postcode and a city after the street (`, 10115 Berlin`, `, 1011 AB Amsterdam`, `, 00-950 Warszawa`, `, LV-1050 Rīga`). */
const POSTCODE_CITY =
  /,?\s{1,2}(?:(?:[A-Z]{1,2}-)?\d{4,5}(?:-\d{3,4})?|\d{2}-\d{3}|\d{3}\s\d{2}|\d{4}\s?[A-Z]{2}|\d{6}|[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}|[A-Z]\d[A-Z]\s?\d[A-Z]\d)\s\p{Lu}[\p{L}\p{M}'’.-]{0,30}(?:[ -]\p{Lu}[\p{L}\p{M}'’.-]{0,30}){0,2}/uy;
/** A city, then a state and a postcode, or a postcode (`, Springfield, IL 62704`, `, London SW1A 1AA`, `, Toronto, ON M5V 2T6`). */
const CITY_POSTCODE =
  /,\s{1,2}\p{Lu}[\p{L}\p{M}'’.-]{0,30}(?:[ -]\p{Lu}[\p{L}\p{M}'’.-]{0,30}){0,2},?\s(?:[A-Z]{2,3}\s)?(?:\d{5}(?:-\d{4})?|\d{4}|\d{6}|\d{3}\s\d{3}|[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}|[A-Z]\d[A-Z]\s?\d[A-Z]\d)(?![\p{L}\p{N}])/uy;
/** Post-office boxes, in the languages' words: `P.O. Box 1234`, `Postfach 10 12 34`, `Apartado 123`, `BP 45`. */
const PO_BOX =
  /(?<![\p{L}\p{N}])(?:p\.?\s?o\.?\s?box|post\s+office\s+box|pob|postfach|postbus|postboks|boîte\s+postale|b\.\s?p\.|apartado(?:\s+de\s+correos|\s+postal)?|casilla(?:\s+de\s+correos?|\s+postal)?|caixa\s+postal|casella\s+postale|skrytka\s+pocztowa|postilokero|а\/я|абонентский\s+ящик)\.?\s{0,2}(?:no\.?\s?|nr\.?\s?|#\s?|:\s?)?\d{1,6}(?:\s\d{2,4}){0,2}(?![\p{L}\p{N}])/giu;
/** Words that can start a post-office box: a text without any has none, and the pattern is not run. */
const PO_BOX_HINT = /box|post|b\.\s?p\.|apartado|casilla|caixa|casella|skrytka|а\/я|ящик/i;

/** Words that announce an address. */
const ADDRESS_CONTEXT =
  /\b(?:address(?: is)?|addressed to|lives at|living at|lives on|resides at|located at|based at|office (?:is )?at|(?:ship|send|deliver|mail|post|forward|return|bring)(?:s|ed|ing)?(?: \S+){0,3} to|go(?:es)? to|moved to|moving to|adresse|anschrift|wohnt in|dirección|direccion|domicilio|indirizzo|endereço|morada|adres|adress|osoite|cím|adresa|адрес)[\s:,-]*$/i;

const isDigit = (c: number) => c >= 48 && c <= 57;
const isSpace = (c: number) => c === 32 || c === 160 || c === 9 || c === 10 || c === 13;
/** A letter in upper case (any script with case). */
function isUpperAt(text: string, at: number): boolean {
  const c = text.charCodeAt(at);
  if (c >= 65 && c <= 90) return true;
  if (c < 192) return false;
  const ch = text[at] as string;
  return ch !== ch.toLowerCase();
}
const isCapitalised = (word: string) => word.length > 0 && isUpperAt(word, 0);
/** A word in lower case without a final `.`, `,`, `;` or `:`: how the sets hold it. */
function keyOf(word: string): string {
  let end = word.length;
  for (let c = word.charCodeAt(end - 1); c === 46 || c === 44 || c === 59 || c === 58; c = word.charCodeAt(end - 1)) end--;
  return (end < word.length ? word.slice(0, end) : word).toLowerCase();
}
/** A street-type word, also in the plural (`Manors`, `Glens`). */
const isAfterName = (key: string) => AFTER_NAME.has(key) || (key.endsWith('s') && AFTER_NAME.has(key.slice(0, -1)));
/** The endings by their last two letters, so that a word is compared with a few of them only. */
const ENDINGS_BY_TAIL = new Map<string, string[]>();
for (const e of COMPOUND_ENDINGS) ENDINGS_BY_TAIL.set(e.slice(-2), [...(ENDINGS_BY_TAIL.get(e.slice(-2)) ?? []), e]);

function isStreetCompound(word: string): boolean {
  let end = word.length;
  for (let c = word.charCodeAt(end - 1); c === 44 || c === 59 || c === 58 || c === 41; c = word.charCodeAt(end - 1)) end--;
  if (end <= 4) return false;
  const endings = ENDINGS_BY_TAIL.get(word.slice(end - 2, end).toLowerCase());
  if (!endings) return false;
  const w = word.slice(0, end).toLowerCase();
  for (const e of endings) {
    if (!w.endsWith(e)) continue;
    const stem = w.length - e.length;
    const least = SHORTEST_ENDINGS.has(e) ? 5 : SHORTER_ENDINGS.has(e) ? 3 : SHORT_ENDINGS.has(e) ? 4 : 2;
    const cut = w.lastIndexOf('.', stem - 1);
    if (stem < least || cut >= 0) continue;
    // `Kaiserring`, `Ostring`, not `Monitoring` or `Offering`.
    if (e === 'ring' && /[aeiouy]/.test(w[stem - 1] as string)) continue;
    return true;
  }
  return false;
}
/** A word of a street's name: capitalised, elided (`d'Orsel`), an initial, or an ordinal (`2nd`, `20`). */
const isNameWord = (word: string) => isCapitalised(word) || ELIDED.test(word) || ORDINAL.test(word);
/** Whether a word ends a sentence: a final `.`, `!` or `?`, but not an initial (`J.`) or an ellipsis. */
function endsSentence(word: string): boolean {
  const c = word.charCodeAt(word.length - 1);
  if (c === 33 || c === 63) return true;
  if (c !== 46) return false;
  return !(word.length <= 3 && INITIAL.test(word)) && !word.endsWith('...');
}
/** A street-type word shortened with a dot (`Str.`, `ul.`, `Jln.`, `наб.`), not a full word that ends a sentence (`Street.`). */
const isAbbreviation = (word: Word) =>
  word.text.endsWith('.') &&
  ((word.key.length <= 4 && (AFTER_NAME.has(word.key) || BEFORE_NAME.has(word.key)) && !LOWER_CASE_PREFIX_WORDS.has(word.key)) ||
    word.key.endsWith('str'));
/** Whether a word ends in `,`, `;`, `:`, `)`, `(` or ends a sentence. */
function hasPunctuation(word: string): boolean {
  const c = word.charCodeAt(word.length - 1);
  return c === 44 || c === 59 || c === 58 || c === 41 || c === 40 || endsSentence(word);
}

/** A word of two characters or more in capitals. */
const shouting = (word: Word) => word.text.length > 1 && word.text === word.text.toUpperCase();

interface Word {
  text: string;
  key: string;
  start: number;
  end: number;
}

/** The word ending at or before `end` (across spaces, not across a newline twice), or undefined; at most 40 characters. */
function wordBefore(text: string, end: number, floor: number): Word | undefined {
  let e = end;
  while (e > floor && isSpace(text.charCodeAt(e - 1))) e--;
  let s = e;
  while (s > floor && e - s < 40 && !isSpace(text.charCodeAt(s - 1))) s--;
  if (s === e) return undefined;
  const raw = text.slice(s, e);
  return { text: raw, key: keyOf(raw), start: s, end: e };
}

function wordAfter(text: string, start: number, ceiling: number): Word | undefined {
  let s = start;
  while (s < ceiling && isSpace(text.charCodeAt(s))) s++;
  let e = s;
  while (e < ceiling && e - s < 40 && !isSpace(text.charCodeAt(e))) e++;
  if (s === e) return undefined;
  const raw = text.slice(s, e);
  return { text: raw, key: keyOf(raw), start: s, end: e };
}

/** The words before `end`, nearest first (nine at most, within 90 characters), each read when first asked for. */
function wordsBeforeReader(text: string, end: number): (i: number) => Word | undefined {
  const floor = Math.max(0, end - 90);
  const words: Word[] = [];
  let at = end;
  let done = false;
  return (i) => {
    while (!done && words.length <= i && words.length < 9) {
      const w = wordBefore(text, at, floor);
      if (w) {
        words.push(w);
        at = w.start;
      } else done = true;
    }
    return words[i];
  };
}

function wordsAfter(text: string, start: number, count: number): Word[] {
  const ceiling = Math.min(text.length, start + 90);
  const out: Word[] = [];
  let at = start;
  while (out.length < count) {
    const w = wordAfter(text, at, ceiling);
    if (!w) break;
    out.push(w);
    at = w.end;
  }
  return out;
}

/** How many numbers per text get their word windows read: 100, and one more per 500 characters. */
export const addressChecksFor = (text: string) => 100 + Math.floor(text.length / 500);

export interface AddressMatch {
  start: number;
  end: number;
  confidence: number;
}

interface Street {
  start: number;
  confidence: number;
  /** Judged by words that are also common ones (`park Jankowiak`, `Julia`-like endings): a count (`5 times`) after the number undoes it. */
  weak?: boolean;
}

/**
 * The street before a house number (`Via Roma 12`, `Kölner Str. 59`, `Schellingstr. 797`,
 * `Calle Mayor, 73`, `Ahorngasse (St. Andrä) 80c`, `Jln. Maryanto no 78`), from the words before `numStart`.
 */
function streetBefore(text: string, numStart: number): Street | undefined {
  const before = wordsBeforeReader(text, numStart);
  let k = 0;
  if (HOUSE_NUMBER_WORDS.has(before(0)?.key ?? '')) k = 1;
  // A district in parentheses between the street and the number.
  if (before(k)?.text.endsWith(')')) {
    let j = k;
    while (j < k + 3 && before(j) && !before(j)?.text.startsWith('(')) j++;
    if (!before(j)?.text.startsWith('(')) return undefined;
    k = j + 1;
  }
  const nearest = before(k);
  if (!nearest) return undefined;
  // Only the word next to the number (or its house-number word) may end in a comma.
  if (endsSentence(nearest.text) && !isAbbreviation(nearest)) return undefined;
  if (/[;:!?(]$/.test(nearest.text)) return undefined;

  // A one-word street: `Schellingstr.`, `Renéestraat`, `Östra Björkgränden`, `van der Veldeplantsoen`, `Am Mühlwasser`.
  if (isStreetCompound(nearest.text)) {
    const lower = !isCapitalised(nearest.text);
    let start = nearest.start;
    let i = k + 1;
    let particles = 0;
    while (before(i) && PARTICLES.has((before(i) as Word).key) && !hasPunctuation((before(i) as Word).text) && particles < 3) {
      particles++;
      i++;
    }
    if (particles > 0) {
      start = (before(i - 1) as Word).start;
      const named = before(i);
      // `Hermann von Gilmweg`: one capitalised word before the particles.
      if (named && isCapitalised(named.text) && !hasPunctuation(named.text)) start = named.start;
    } else if (lower) return undefined;
    const prev = before(particles > 0 ? i + 1 : k + 1);
    if (
      particles === 0 &&
      prev &&
      !hasPunctuation(prev.text) &&
      (MODIFIERS.has(prev.key) || BEFORE_NAME.has(prev.key)) &&
      isCapitalised(prev.text)
    )
      start = prev.start;
    const ending = COMPOUND_ENDINGS.find((e) => nearest.key.endsWith(e.replace(/\.$/, '')));
    // A year after a one-word name is a date (`Copenhagen 2025`), not a house number.
    if (/^(?:19|20)\d\d(?![\p{L}\p{N}])/u.test(text.slice(numStart, numStart + 5))) return undefined;
    return { start, confidence: 0.85, weak: ending !== undefined && SHORT_ENDINGS.has(ending) };
  }

  // A street-type word next to the number, after capitalised names: `Ülkü Sokak 56c`, `Kölner Str. 59`, `Jókai határút 7`, `Кавказская пл., 550`.
  if (isAfterName(nearest.key) && (isCapitalised(nearest.text) || LOWER_CASE_TYPES.has(nearest.key))) {
    let j = k + 1;
    let start = -1;
    while (before(j) && j <= k + 3) {
      const w = before(j) as Word;
      if (hasPunctuation(w.text) && !INITIAL.test(w.text)) break;
      if (isCapitalised(w.text)) start = w.start;
      else if (!(PARTICLES.has(w.key) && before(j + 1) && isCapitalised((before(j + 1) as Word).text))) break;
      j++;
    }
    if (start >= 0) return { start, confidence: 0.75, weak: WEAK_AFTER_NAME.has(nearest.key) };
  }

  // A street-type word before capitalised names: `Via Roma 12`, `Calle de los Reyes, 5`, `Cda. Francisco I. Madero 735`,
  // `Jardin du papier plié 60 bis`, `площадь Свободная, 685`.
  let names = 0;
  let lowerWords = 0;
  // A lower-case word next to the number (`Jardin du papier plié 60`) needs a capitalised or shortened street-type word.
  let lowerAtNumber = false;
  for (let i = k; before(i) && i <= k + 7; i++) {
    const w = before(i) as Word;
    if (i > k && hasPunctuation(w.text) && !INITIAL.test(w.text) && !isAbbreviation(w)) break;
    if (i > k && names > 0 && BEFORE_NAME.has(w.key) && (isCapitalised(w.text) || w.text.endsWith('.') || w.key.length > 2)) {
      if (
        !isCapitalised(w.text) &&
        !w.text.endsWith('.') &&
        LOWER_CASE_PREFIX_WORDS.has(w.key) &&
        !isCapitalised((before(i - 1) as Word).text)
      )
        return undefined;
      let start = w.start;
      const modifier = before(i + 1);
      const modified = modifier && MODIFIERS.has(modifier.key) && isCapitalised(modifier.text) && !hasPunctuation(modifier.text);
      if (modified) start = modifier.start;
      const strong = isCapitalised(w.text) || w.text.endsWith('.') || modified === true;
      if (lowerAtNumber && !strong) return undefined;
      return { start, confidence: strong ? 0.85 : 0.7, weak: !strong && LOWER_CASE_PREFIX_WORDS.has(w.key) };
    }
    if (isNameWord(w.text)) names++;
    else if (STOP_WORDS.has(w.key) && !PARTICLES.has(w.key)) break;
    else if (PARTICLES.has(w.key)) {
      // A particle is inside a name, not at its end next to the number.
      if (i === k) break;
    } else if (/^[\p{Ll}\p{M}-]+$/u.test(w.text) && lowerWords < 2) {
      lowerWords++;
      if (i === k) lowerAtNumber = true;
    } else break;
  }

  // No street-type word, but the words before say an address follows: capitalised words and the number.
  if (isCapitalised(nearest.text) && !endsSentence(nearest.text) && !/,$/.test(nearest.text)) {
    let j = k;
    while (before(j) && j < k + 4 && isCapitalised((before(j) as Word).text) && !hasPunctuation((before(j) as Word).text)) j++;
    if (j === k) return undefined;
    const start = (before(j - 1) as Word).start;
    if (ADDRESS_CONTEXT.test(text.slice(Math.max(0, start - 40), start))) return { start, confidence: 0.7 };
  }
  return undefined;
}

/**
 * The street after a house number (`802 University Avenue`, `9 Rue Chautenatte`, `816 Rue d'Orsel`,
 * `7103 N 6th Street`, `6 Rue du haut ou de la côte`), as where it ends.
 */
function streetAfter(text: string, numEnd: number): { end: number; confidence: number } | undefined {
  const after = wordsAfter(text, numEnd, 9);
  let i = 0;
  // A direction before the name (`N 6th Street`), unless it is the name (`West Pass`).
  if (after[0] && DIRECTIONS.has(after[0].key) && after[1] && !isAfterName(after[1].key) && !hasPunctuation(after[0].text)) i = 1;
  const first = after[i];
  if (!first) return undefined;
  // A street-type word, then its name: `9 Rue Chautenatte`, `2804 Place de Nesle`.
  if (
    BEFORE_NAME.has(first.key) &&
    !LOWER_CASE_PREFIX_WORDS.has(first.key) &&
    isCapitalised(first.text) &&
    !hasPunctuation(first.text) &&
    after[i + 1]
  ) {
    let end = -1;
    let lastLower = -1;
    let lowerWords = 0;
    for (let j = i + 1; j < after.length; j++) {
      const w = after[j] as Word;
      const clean = w.text.replace(/[,.;:!?)]+$/, '');
      if (clean.startsWith('(') || clean === '') break;
      const key = clean.toLowerCase();
      if (STOP_WORDS.has(key) && !PARTICLES.has(key)) break;
      if (isNameWord(clean) && !(DIRECTIONS.has(key) && j > i + 1)) end = w.start + clean.length;
      else if (PARTICLES.has(key)) {
        // A particle is only part of the name before more of it.
      } else if (/^[\p{Ll}\p{M}-]+$/u.test(clean) && lowerWords < 2) {
        lowerWords++;
        lastLower = w.start + clean.length;
      } else break;
      if (clean !== w.text && !INITIAL.test(w.text)) break;
    }
    // Lower-case words count as the name's end only when no capitalised word names it (`Rue du haut ou de la côte`).
    if (end < 0 && lastLower >= 0) end = lastLower;
    if (end > first.end) return { end, confidence: 0.8 };
    return undefined;
  }
  // Capitalised names, then a street-type word: `E Walnut Street`, `Pouros Mews`, `3494 van den Berg Crossroad`.
  let names = 0;
  for (let j = i; j < after.length && j < i + 6; j++) {
    const w = after[j] as Word;
    const clean = w.text.replace(/[,;:!?)]+$/, '').replace(/\.$/, '');
    if (names > 0 && isAfterName(clean.toLowerCase()) && isCapitalised(clean)) {
      let end = w.start + clean.length + (w.text.slice(clean.length).startsWith('.') ? 1 : 0);
      const next = after[j + 1];
      const stopped = clean !== w.text;
      // Two street-type words: the street ends at the second (`Heaney View Rd`).
      if (!stopped && next && isAfterName(next.key) && isCapitalised(next.text) && j + 1 < i + 6) {
        names++;
        continue;
      }
      // A direction after the type: `Main Street NW`.
      if (!stopped && next && DIRECTIONS.has(next.key) && next.text.toUpperCase() === next.text && next.text.length <= 2) {
        end = next.start + next.key.length;
      } else if (!stopped && next && WEAK_AFTER_NAME.has(clean.toLowerCase()) && isCapitalised(next.text)) {
        // `12 Data Center Trends` is a title; `716 Davies Mall Apt. 578` an address.
        SECONDARY.lastIndex = end;
        if (!SECONDARY.test(text)) return undefined;
      }
      return { end, confidence: 0.8 };
    }
    if (isNameWord(clean) && !STOP_WORDS.has(clean.toLowerCase())) names++;
    else if (!(PARTICLES.has(clean.toLowerCase()) && names === 0)) return undefined;
    if (clean !== w.text.replace(/\.$/, '') || (w.text.endsWith('.') && !INITIAL.test(w.text))) return undefined;
  }
  return undefined;
}

/** Whether the word before a number makes it a count, a rank or a year. */
function countBefore(text: string, numStart: number, numEnd: number): boolean {
  const prev = wordBefore(text, numStart, Math.max(0, numStart - 40));
  if (!prev || hasPunctuation(prev.text)) return false;
  return COUNT_BEFORE.has(prev.key) || (YEAR_BEFORE.has(prev.key) && /^(?:19|20)\d\d$/.test(text.slice(numStart, numEnd)));
}

/** Whether a count or a quantity follows the number (`5 times`, `3 people`): the number is no house number. */
function countFollows(text: string, at: number): boolean {
  const next = wordAfter(text, at, Math.min(text.length, at + 40));
  return next !== undefined && next.start === at + 1 && /^[\p{Ll}]+$/u.test(next.key) && !STOP_WORDS.has(next.key);
}

/** What follows an address that is part of it: secondary units, then a postcode and a city. */
function extendAddress(text: string, end: number): number {
  // Units, postcodes and cities follow a space, a comma or a dash.
  const next = text.charCodeAt(end);
  if (next !== 32 && next !== 44 && next !== 45 && next !== 160) return end;
  for (let n = 0; n < 3; n++) {
    DASH_UNIT.lastIndex = end;
    if (DASH_UNIT.test(text)) {
      end = DASH_UNIT.lastIndex;
      continue;
    }
    SECONDARY.lastIndex = end;
    if (SECONDARY.test(text)) {
      end = SECONDARY.lastIndex;
      continue;
    }
    UNIT_LETTER.lastIndex = end;
    if (UNIT_LETTER.test(text) && !/^\s(?:I|A)\s\p{Ll}/u.test(text.slice(end, end + 4))) {
      end = UNIT_LETTER.lastIndex;
      continue;
    }
    break;
  }
  POSTCODE_CITY.lastIndex = end;
  // A city's last word ends before a full stop (`…, 10115 Berlin.`); a dot inside it stays (`St. Gallen`).
  if (POSTCODE_CITY.test(text)) return POSTCODE_CITY.lastIndex - (text.charCodeAt(POSTCODE_CITY.lastIndex - 1) === 46 ? 1 : 0);
  CITY_POSTCODE.lastIndex = end;
  if (CITY_POSTCODE.test(text)) return CITY_POSTCODE.lastIndex;
  return end;
}

/** The end of a house number starting at `at`, or -1: 1 to 5 digits, maybe `12a`, `969/2`, `2/6`, `60 bis`; not a decimal, a time, a date or an amount. */
function houseNumberEnd(text: string, at: number): number {
  let end = at;
  while (end < text.length && end - at <= 5 && isDigit(text.charCodeAt(end))) end++;
  const digits = end - at;
  if (digits > 5 || (digits > 1 && text.charCodeAt(at) === 48)) return -1;
  const c = text.charCodeAt(end);
  const c2 = text.charCodeAt(end + 1);
  // A decimal, a time, a date, a range or an amount.
  if ((c === 46 || c === 44 || c === 58) && isDigit(c2)) return -1;
  if (c === 37 || c === 176 || c === 8364 || c === 36) return -1;
  // `55-3C`, `166-6Drt.` (Portuguese floors), not `12-14` or `2024-03`.
  if (c === 45 && isDigit(c2)) return isDigit(text.charCodeAt(end + 2)) ? -1 : end;
  if (c === 47 && isDigit(c2)) {
    let e = end + 1;
    while (e < text.length && e - end <= 3 && isDigit(text.charCodeAt(e))) e++;
    const after = text.charCodeAt(e);
    return after === 47 || isDigit(after) || ((after === 46 || after === 45) && isDigit(text.charCodeAt(e + 1))) ? -1 : e;
  }
  // A letter after the digits: `27a`, `52B`, not `5th` or `10am`.
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
    if (/^[a-zA-Z](?![\p{L}\p{N}])/u.test(text.slice(end, end + 2))) return end + 1;
    return -1;
  }
  return end;
}

/**
 * A number (or `s/n`) after white space: where house numbers can be. The pattern starts with the
 * white space, so that most characters fail its first step; a number at the text's start is read with a space before it.
 */
const NUMBER_AFTER_SPACE = /[\s\u00a0](?:\d|s\/n)/g;

/** Street addresses in `text`. */
export function findStreetAddresses(
  text: string,
  /** The characters other detectors took (1 for each), when known: a number among them (a phone's, a card's) is no house number, and is not read. */
  covered?: Uint8Array,
): AddressMatch[] {
  const found: AddressMatch[] = [];
  let lastEnd = -1;
  if (PO_BOX_HINT.test(text)) {
    for (const m of text.matchAll(PO_BOX)) {
      const start = m.index ?? 0;
      found.push({ start, end: extendAddress(text, start + m[0].length), confidence: 0.9 });
    }
  }
  let windows = addressChecksFor(text);
  // A number at the text's start: the text is read as if a space came before it.
  if (/^(?:\d|s\/n)/.test(text)) {
    let shifted: Uint8Array | undefined;
    if (covered) {
      shifted = new Uint8Array(text.length + 1);
      shifted.set(covered.subarray(0, text.length), 1);
    }
    return findStreetAddresses(` ${text}`, shifted).map((m) => ({ ...m, start: m.start - 1, end: m.end - 1 }));
  }
  const length = text.length;
  NUMBER_AFTER_SPACE.lastIndex = 0;
  // `test`, not `exec`: where the match ends tells all, without a match array per number.
  while (NUMBER_AFTER_SPACE.test(text)) {
    const matchEnd = NUMBER_AFTER_SPACE.lastIndex;
    // `s/n` (sin número) stands for the number in Spanish addresses: the match ends in `n`, not a digit.
    const sinNumero = text.charCodeAt(matchEnd - 1) === 110;
    const numStart = matchEnd - (sinNumero ? 3 : 1);
    if (covered?.[numStart]) continue;
    let numEnd = sinNumero ? numStart + 3 + (text.charCodeAt(numStart + 3) === 46 ? 1 : 0) : houseNumberEnd(text, numStart);
    if (numEnd < 0 || (sinNumero && /[\p{L}\p{N}]/u.test(text[numStart + 3] ?? ''))) continue;
    if (numStart < lastEnd) continue;
    // ` bis`, ` ter` after the number belong to it.
    const afterSpace = text.charCodeAt(numEnd + 1);
    if (
      text.charCodeAt(numEnd) === 32 &&
      (afterSpace === 98 || afterSpace === 116) &&
      /^ (?:bis|ter)(?![\p{L}\p{N}])/u.test(text.slice(numEnd, numEnd + 5))
    )
      numEnd += 4;
    // A cheap look before reading windows: a street needs a word beside the number.
    const prev = numStart >= 2 ? text.charCodeAt(numStart - 2) : 32;
    const wordBeforeIt = numStart >= 2 && !isSpace(prev) && !isDigit(prev);
    const nextChar = text.charCodeAt(numEnd);
    const wordAfterIt = isSpace(nextChar) && numEnd + 1 < length && !isDigit(text.charCodeAt(numEnd + 1)) && !sinNumero;
    if (!wordBeforeIt && !wordAfterIt) continue;
    // A cheap look at the nearest word on each side before reading windows: a street needs a
    // capitalised word, a street-type word, a house-number word or a district in parentheses
    // before the number, or a capitalised word or a particle (`3494 van den Berg Crossroad`) after it.
    const near = wordBeforeIt ? wordBefore(text, numStart, Math.max(0, numStart - 40)) : undefined;
    const beforeCounts =
      near !== undefined &&
      // A word in capitals (`GB82 WEST 1234`, `IBAN`) counts only as a street-type word (`MAIN ST 5`).
      ((isCapitalised(near.text) && (!shouting(near) || isAfterName(near.key) || isStreetCompound(near.text))) ||
        near.text.endsWith(')') ||
        LOWER_CASE_TYPES.has(near.key) ||
        BEFORE_NAME.has(near.key) ||
        HOUSE_NUMBER_WORDS.has(near.key));
    const afterCounts =
      wordAfterIt && (isUpperAt(text, numEnd + 1) || PARTICLES.has(wordAfter(text, numEnd, Math.min(length, numEnd + 40))?.key ?? ''));
    if (!beforeCounts && !afterCounts) continue;
    if (windows-- <= 0) {
      // Past the budget of window reads, a number after a capitalised word or a street-type word is taken unchecked, erring towards privacy.
      if (near && (isCapitalised(near.text) || isStreetCompound(near.text)) && !endsSentence(near.text)) {
        // With the capitalised word before it, if any (`Main Street 12`).
        const name = wordBefore(text, near.start, Math.max(0, near.start - 40));
        const start = name && isCapitalised(name.text) && !hasPunctuation(name.text) ? name.start : near.start;
        found.push({ start, end: numEnd, confidence: 0.5 });
        lastEnd = numEnd;
      }
      continue;
    }
    let match: AddressMatch | undefined;
    if (beforeCounts) {
      const street = streetBefore(text, numStart);
      if (street) {
        const end = extendAddress(text, numEnd);
        if (!(street.weak && end === numEnd && countFollows(text, numEnd)))
          match = { start: street.start, end, confidence: street.confidence };
      }
    }
    if (!match && afterCounts && !countBefore(text, numStart, numEnd)) {
      const street = streetAfter(text, numEnd);
      if (street) match = { start: numStart, end: extendAddress(text, street.end), confidence: street.confidence };
    }
    if (!match) continue;
    found.push(match);
    lastEnd = match.end;
    NUMBER_AFTER_SPACE.lastIndex = Math.max(NUMBER_AFTER_SPACE.lastIndex, match.end);
  }
  return found.sort((a, b) => a.start - b.start);
}
