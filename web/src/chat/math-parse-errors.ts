import katex, { type KatexOptions } from 'katex';

interface HastNode {
  type: string;
  tagName?: string;
  value?: string;
  properties?: Record<string, unknown>;
  children?: HastNode[];
}

const MATH_CLASSES = ['language-math', 'math-inline', 'math-display'];
const isMath = (node: HastNode) =>
  node.type === 'element' &&
  Array.isArray(node.properties?.className) &&
  (node.properties.className as unknown[]).some((c) => MATH_CLASSES.includes(String(c)));
const textOf = (node: HastNode): string => node.value ?? (node.children ?? []).map(textOf).join('');

/** Parse errors by formula, so that an answer re-rendered for every streamed token checks each formula once. */
const errors = new Map<string, string | null>();

function parseError(formula: string, displayMode: boolean, options: KatexOptions): string | null {
  const key = `${displayMode ? 'D' : 'I'}${formula}`;
  const known = errors.get(key);
  if (known !== undefined) return known;
  let error: string | null = null;
  try {
    katex.renderToString(formula, { ...options, displayMode, throwOnError: true });
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  if (errors.size >= 500) errors.clear();
  errors.set(key, error);
  return error;
}

/**
 * Before `rehype-katex`: a formula KaTeX cannot parse becomes its source as text (`span.katex-error`
 * titled with the error, or a plain code block for display math), instead of KaTeX's error markup,
 * whose inline `style` the Content-Security-Policy refuses.
 */
export function rehypeMathParseErrors(options: KatexOptions) {
  const walk = (node: HastNode, parent: HastNode | undefined) => {
    if (isMath(node)) {
      const display = parent?.tagName === 'pre';
      const error = parseError(textOf(node), display, options);
      if (error === null) return;
      if (display) {
        node.properties = {};
      } else {
        node.tagName = 'span';
        node.properties = { className: ['katex-error'], title: error };
      }
      return;
    }
    for (const child of node.children ?? []) walk(child, node);
  };
  return (tree: HastNode) => walk(tree, undefined);
}
