/**
 * Runs of digits and the separators numbers are written with (a leading `+` or `(`, then digits,
 * spaces, dots, dashes and parentheses, each digit at most three separators from the next), of four
 * digits or more: the only places where phone numbers, payment cards, SSNs and IPv4 addresses can
 * be. One pass over the text finds them all, so the numeric detectors read these pieces instead of
 * the whole text: the runs the pattern `[+(]?\d(?:[ ().-]{0,3}\d)*` matches, less the short ones.
 */
export interface NumberRun {
  start: number;
  end: number;
}

/**
 * Runs of four digits or more: fewer make no phone number, card, SSN or IPv4 address. The pattern
 * starts at a digit (a leading `+` or `(` is added after), so that most characters fail its first step.
 */
const NUMBER_RUN = /\d(?:[ ().-]{0,3}\d){3,}/g;

export function findNumberRuns(text: string): NumberRun[] {
  const runs: NumberRun[] = [];
  let previousEnd = 0;
  NUMBER_RUN.lastIndex = 0;
  for (let m = NUMBER_RUN.exec(text); m; m = NUMBER_RUN.exec(text)) {
    let start = m.index;
    const before = start - 1 >= previousEnd ? text.charCodeAt(start - 1) : -1;
    if (before === 43 || before === 40) start--;
    previousEnd = m.index + m[0].length;
    runs.push({ start, end: previousEnd });
  }
  return runs;
}

/** How many characters of `text[from, to)` are `code`, counting no further than `enough`. */
export function countCode(text: string, from: number, to: number, code: number, enough: number): number {
  let n = 0;
  for (let i = from; i < to && n < enough; i++) if (text.charCodeAt(i) === code) n++;
  return n;
}

/** How many digits `text[from, to)` holds, counting no further than `enough`. */
export function countDigits(text: string, from: number, to: number, enough: number): number {
  let n = 0;
  for (let i = from; i < to && n < enough; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}
