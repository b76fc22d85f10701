import { describe, expect, it } from 'vitest';
import { convertMathDelimiters, splitOffCode } from './math-delimiters';

describe('convertMathDelimiters', () => {
  it('turns \\(…\\) into inline math and a \\[…\\] on its own lines into a display block', () => {
    expect(convertMathDelimiters('Energy \\( E = mc^2 \\) is conserved.')).toBe('Energy $E = mc^2$ is conserved.');
    expect(convertMathDelimiters('The roots:\n\\[\n  x = \\frac{-b}{2a}\n\\]\nas usual.')).toBe(
      'The roots:\n$$\nx = \\frac{-b}{2a}\n$$\nas usual.',
    );
    expect(convertMathDelimiters('  \\[ a^2 + b^2 = c^2 \\]')).toBe('  $$\na^2 + b^2 = c^2\n  $$');
  });

  it('keeps display math inside a line inline, on one line', () => {
    expect(convertMathDelimiters('so \\[a\nb\\] holds')).toBe('so $$a b$$ holds');
    expect(convertMathDelimiters('$$x$$ is it')).toBe('$$x$$ is it');
  });

  it('makes a one-line $$…$$ paragraph a display block', () => {
    expect(convertMathDelimiters('Then\n\n$$ \\sum_i i $$\n\nso')).toBe('Then\n\n$$\n\\sum_i i\n$$\n\nso');
  });

  it('keeps inline $…$ math and escapes dollars that are prices', () => {
    expect(convertMathDelimiters('Let $x^2$ be')).toBe('Let $x^2$ be');
    expect(convertMathDelimiters('It costs $5 and $10 today.')).toBe('It costs \\$5 and \\$10 today.');
    expect(convertMathDelimiters('From $5-$10.')).toBe('From \\$5-\\$10.');
    expect(convertMathDelimiters('A lone $ sign')).toBe('A lone \\$ sign');
    expect(convertMathDelimiters('Already \\$5 escaped')).toBe('Already \\$5 escaped');
    expect(convertMathDelimiters('$a\n\nb$')).toBe('\\$a\n\nb\\$');
  });

  it('escapes an unclosed $$ (an answer still being written)', () => {
    expect(convertMathDelimiters('$$\nx = \\frac{1')).toBe('\\$\\$\nx = \\frac{1');
  });

  it('leaves an escaped backslash alone: \\\\[4pt] is a line break with spacing, not display math', () => {
    const aligned = '$$\n\\begin{aligned} a &= b \\\\[4pt] c &= d \\end{aligned}\n$$';
    expect(convertMathDelimiters(aligned)).toBe(aligned);
  });

  it('does not touch fenced code blocks or inline code', () => {
    const text = [
      'Run `echo $HOME \\(x\\)` first.',
      '',
      '```bash',
      'echo "$PATH costs $5" \\[1\\]',
      '```',
      '',
      '~~~',
      '$$ not math $$',
      '~~~',
      'and $y$ after.',
    ].join('\n');
    expect(convertMathDelimiters(text)).toBe(text);
  });

  it('treats an unclosed fence as code to the end, as markdown does', () => {
    expect(convertMathDelimiters('Price $5\n```\nexport A=$B')).toBe('Price \\$5\n```\nexport A=$B');
  });
});

describe('splitOffCode', () => {
  it('joins back into its input and marks code', () => {
    const text = 'a `b` c\n```js\nconst d = 1;\n```\ne ``f ` g`` h';
    const parts = splitOffCode(text);
    expect(parts.map((p) => p.text).join('')).toBe(text);
    expect(parts.filter((p) => p.code).map((p) => p.text)).toEqual(['`b`', '```js\nconst d = 1;\n```\n', '``f ` g``']);
  });

  it('does not take backticks across a blank line for a code span', () => {
    expect(splitOffCode('a `b\n\nc` d').every((p) => !p.code)).toBe(true);
  });
});
