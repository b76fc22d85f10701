import type { KatexOptions } from 'katex';
import { Check, Copy } from 'lucide-react';
import { type ComponentProps, memo, type ReactNode, useState } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
import rehypeKatex from 'rehype-katex';
import rehypeSanitize from 'rehype-sanitize';
import remarkGfm from 'remark-gfm';
import remarkMath from 'remark-math';
import { rehypeFocusableDisplayMath } from './focusable-display-math';
import { convertMathDelimiters } from './math-delimiters';
import { rehypeMathParseErrors } from './math-parse-errors';
import { mathSanitizeSchema } from './math-sanitize-schema';

type MdNode = { type: string; value?: string; children?: MdNode[] };

/** Shows raw HTML in model output as the text it is, instead of dropping or running it. */
function remarkHtmlAsText() {
  const visit = (node: MdNode) => {
    if (node.type === 'html') node.type = 'text';
    node.children?.forEach(visit);
  };
  return (tree: MdNode) => visit(tree);
}

function textOf(node: ReactNode): string {
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  if (Array.isArray(node)) return node.map(textOf).join('');
  if (node && typeof node === 'object' && 'props' in node) return textOf((node.props as { children?: ReactNode }).children);
  return '';
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      aria-label={label}
      title={label}
      className="inline-flex items-center gap-1 rounded px-1.5 py-0.5 text-xs text-zinc-400 hover:bg-zinc-700 hover:text-white"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        });
      }}
    >
      {copied ? <Check className="size-3.5" /> : <Copy className="size-3.5" />}
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

const components: Components = {
  // Remote images are not loaded: they could track the reader. Offer the link instead.
  img: ({ src, alt }) => (
    <a href={typeof src === 'string' ? src : undefined} target="_blank" rel="noopener noreferrer">
      [image: {alt || 'untitled'}]
    </a>
  ),
  a: ({ href, children }) => (
    <a href={href} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  ),
  pre: ({ children }: ComponentProps<'pre'>) => {
    const code = Array.isArray(children) ? children[0] : children;
    const className = (code as { props?: { className?: string } } | undefined)?.props?.className ?? '';
    const language = /language-([\w-]+)/.exec(className)?.[1] ?? 'text';
    return (
      <div className="overflow-hidden rounded-lg bg-zinc-900 text-zinc-100">
        <div className="flex items-center justify-between border-b border-zinc-700 px-3 py-1 text-xs text-zinc-400">
          <span>{language}</span>
          <CopyButton text={textOf(children)} label="Copy code" />
        </div>
        {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a long line scrolls it sideways, which the keyboard must be able to do too (axe's scrollable-region-focusable). */}
        <pre tabIndex={0} className="overflow-x-auto p-3 text-sm">
          {children}
        </pre>
      </div>
    );
  },
};

const CITE_PREFIX = '#cite-';

/** Turns the citation markers an answer may hold ([1], [2]) into links the renderer shows as chips. */
function linkCitations(text: string, citationNumbers: Set<number>): string {
  if (citationNumbers.size === 0) return text;
  return text.replace(/\[(\d{1,3})\](?!\()/g, (marker, n: string) =>
    citationNumbers.has(Number(n)) ? `[${n}](${CITE_PREFIX}${n})` : marker,
  );
}

/**
 * KaTeX writes MathML only: browsers lay it out themselves, so no stylesheet, font files or inline
 * styles are needed (the CSP allows none inline). `trust: false` refuses `\href`, `\url`,
 * `\htmlClass`, `\includegraphics` and the like.
 */
const KATEX_OPTIONS: KatexOptions = { output: 'mathml', trust: false, strict: 'ignore', maxSize: 20 };

/**
 * Model output as markdown: no raw HTML, sanitized, code highlighted, no remote images; `[n]` become
 * citation chips; `$…$`, `$$…$$`, `\(…\)` and `\[…\]` become math.
 */
export const Markdown = memo(function Markdown({
  text,
  citationNumbers,
  onCite,
}: {
  text: string;
  citationNumbers?: Set<number>;
  onCite?: (n: number) => void;
}) {
  const withCitations: Components = onCite
    ? {
        ...components,
        a: ({ href, children }) =>
          href?.startsWith(CITE_PREFIX) ? (
            <button
              type="button"
              onClick={() => onCite(Number(href.slice(CITE_PREFIX.length)))}
              aria-label={`Source ${href.slice(CITE_PREFIX.length)}`}
              className="mx-0.5 inline-flex h-5 min-w-5 items-center justify-center rounded-md bg-indigo-100 px-1 align-text-top text-xs font-medium text-indigo-700 no-underline hover:bg-indigo-200 dark:bg-indigo-900 dark:text-indigo-200"
            >
              {children}
            </button>
          ) : (
            <a href={href} target="_blank" rel="noopener noreferrer">
              {children}
            </a>
          ),
      }
    : components;
  return (
    <ReactMarkdown
      remarkPlugins={[remarkGfm, remarkMath, remarkHtmlAsText]}
      rehypePlugins={[
        [rehypeMathParseErrors, KATEX_OPTIONS],
        [rehypeKatex, KATEX_OPTIONS],
        [rehypeSanitize, mathSanitizeSchema],
        rehypeFocusableDisplayMath,
        [rehypeHighlight, { detect: false }],
      ]}
      components={withCitations}
    >
      {linkCitations(convertMathDelimiters(text), citationNumbers ?? new Set())}
    </ReactMarkdown>
  );
});
