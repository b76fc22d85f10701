import { defaultSchema } from 'rehype-sanitize';

type Schema = typeof defaultSchema;

/** The MathML elements KaTeX writes (`output: 'mathml'`), with the presentation attributes each may carry. */
const MATHML: Record<string, string[]> = {
  math: ['display'],
  semantics: [],
  annotation: ['encoding'],
  mrow: [],
  mi: ['mathvariant'],
  mn: ['mathvariant'],
  mo: ['fence', 'separator', 'stretchy', 'symmetric', 'largeop', 'movablelimits', 'lspace', 'rspace', 'minsize', 'maxsize', 'mathvariant'],
  ms: [],
  mtext: ['mathvariant'],
  mspace: ['width', 'height', 'depth', 'linebreak'],
  msup: [],
  msub: [],
  msubsup: [],
  munder: ['accentunder'],
  mover: ['accent'],
  munderover: ['accent', 'accentunder'],
  mfrac: ['linethickness'],
  msqrt: [],
  mroot: [],
  mstyle: ['scriptlevel', 'displaystyle', 'mathcolor', 'mathbackground', 'mathvariant'],
  mpadded: ['width', 'height', 'depth', 'lspace', 'voffset'],
  mphantom: [],
  menclose: ['notation'],
  mtable: ['rowspacing', 'columnspacing', 'columnalign', 'rowalign', 'columnlines', 'rowlines', 'frame', 'framespacing', 'width'],
  mtr: ['columnalign', 'rowalign'],
  mtd: ['columnalign', 'rowalign', 'columnspan', 'rowspan'],
  mmultiscripts: [],
  mprescripts: [],
  none: [],
  merror: [],
};

/**
 * The sanitizer's allow-list for rendered answers: GitHub's (the default) plus KaTeX's MathML and
 * its `katex` wrappers. It runs after KaTeX, so what KaTeX writes is checked too: no `href`, no
 * `style`, no classes but KaTeX's own.
 */
export const mathSanitizeSchema: Schema = {
  ...defaultSchema,
  tagNames: [...(defaultSchema.tagNames ?? []), ...Object.keys(MATHML)],
  attributes: {
    ...defaultSchema.attributes,
    ...MATHML,
    span: [...(defaultSchema.attributes?.span ?? []), ['className', 'katex', 'katex-error']],
  },
};
