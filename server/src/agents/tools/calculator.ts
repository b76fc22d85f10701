import { z } from 'zod';
import { type AgentTool, parseWith, ToolRefusal } from '../tool';

const Input = z.strictObject({ expression: z.string().trim().min(1).max(500) });

type MathModule = typeof import('mathjs');
let loaded: Promise<(expression: string) => string> | undefined;

/** Functions that would reach past arithmetic: parsing and evaluating new code, defining units, large allocations. */
const BLOCKED = [
  'import',
  'createUnit',
  'reviver',
  'evaluate',
  'parse',
  'compile',
  'parser',
  'chain',
  'help',
  'simplify',
  'simplifyConstant',
  'simplifyCore',
  'derivative',
  'resolve',
  'rationalize',
  'leafCount',
  'ones',
  'zeros',
  'identity',
  'range',
  'matrix',
  'sparse',
  'resize',
  'concat',
  'kron',
  'map',
  'forEach',
  'filter',
];

/** mathjs with the documented hardening: its own evaluate kept, every way to define or parse more switched off. */
function loadCalculator(): Promise<(expression: string) => string> {
  loaded ??= import('mathjs').then(({ create, all }: MathModule) => {
    const math = create(all ?? {});
    const evaluate = math.evaluate.bind(math);
    const format = math.format.bind(math);
    math.import(
      Object.fromEntries(
        BLOCKED.map((name) => [
          name,
          () => {
            throw new Error(`${name} is not available`);
          },
        ]),
      ),
      { override: true },
    );
    return (expression: string) => {
      const result = evaluate(expression);
      if (typeof result === 'function') throw new Error('The expression defines a function; give one to compute.');
      const text = format(result, { precision: 14 });
      if (text.length > 2000) throw new Error('The result is too large to show.');
      return text;
    };
  });
  return loaded;
}

/** `calculator`: arithmetic, functions, units and statistics through mathjs; no `eval`, no new definitions. */
export function createCalculatorTool(): AgentTool {
  return {
    name: 'calculator',
    description:
      'Evaluates a math expression exactly (mathjs syntax): arithmetic, powers, sqrt, log, round, mean, median, std, unit conversions like "10 cm to inch". Use it for any arithmetic instead of computing in your head.',
    inputSchema: z.toJSONSchema(Input) as AgentTool['inputSchema'],
    parse: parseWith(Input),
    needsApproval: false,
    async execute(input) {
      const { expression } = input as z.infer<typeof Input>;
      const calculate = await loadCalculator();
      try {
        return { value: { expression, result: calculate(expression) } };
      } catch (error) {
        throw new ToolRefusal(`Cannot evaluate "${expression}": ${(error as Error).message}`);
      }
    },
  };
}
