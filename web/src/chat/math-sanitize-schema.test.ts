import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { Markdown } from './markdown';

const render = (text: string) => renderToStaticMarkup(createElement(Markdown, { text }));

describe('math in rendered answers', () => {
  it('renders inline and display math as MathML inside KaTeX wrappers', () => {
    const html = render('Inline $\\frac{a}{b}$ and\n\n$$\n\\sqrt{x^2}\n$$\n');
    expect(html).toContain('<span class="katex"><math');
    expect(html).toContain('<mfrac><mi>a</mi><mi>b</mi></mfrac>');
    // Display math scrolls in its own box when wide, so it takes keyboard focus; inline math does not.
    expect(html).toMatch(/<span class="katex"><math display="block" tabindex="0">/);
    expect(html).not.toMatch(/<math(?! display="block")[^>]*tabindex/);
    expect(html).toContain('<msqrt>');
  });

  it('keeps KaTeX from writing links, classes, ids or styles, and the sanitizer checks what it writes', () => {
    const html = render(
      [
        '$\\href{javascript:alert(1)}{click}$',
        '$\\url{javascript:alert(2)}$',
        '$\\htmlClass{evil}{x}$ $\\htmlId{evil-id}{y}$ $\\htmlStyle{color:red}{z}$ $\\htmlData{x=1}{w}$',
        '$\\includegraphics{https://tracker.example/p.png}$',
        '$\\frac{1}{$', // a parse error
        '$$\n\\left( x\n$$', // one in display math
      ].join('\n\n'),
    );
    // The TeX source stays, as text in the formula's <annotation>; no attribute carries any of it.
    expect(html).toContain('<annotation encoding="application/x-tex">\\href{javascript:alert(1)}{click}</annotation>');
    expect(html).not.toMatch(/\s(href|src|style|id|data-[\w-]+)=/);
    expect(html).not.toMatch(/class="[^"]*evil/);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<a ');
    // A formula KaTeX cannot parse shows its source, not KaTeX's error markup with its inline colour.
    expect(html).toMatch(/<span class="katex-error" title="KaTeX parse error: [^"]*">\\frac\{1\}\{<\/span>/);
    expect(html).toMatch(/<pre[^>]*><code>\\left\( x\n?<\/code><\/pre>/);
  });

  it('leaves code alone', () => {
    const html = render('```bash\necho "$HOME costs $5" $x$\n```\n\nand `$y$` inline');
    expect(html).not.toContain('<math');
    expect(html.replace(/<[^>]+>/g, '')).toContain('echo &quot;$HOME costs $5&quot; $x$');
    expect(html).toContain('<code>$y$</code>');
  });
});
