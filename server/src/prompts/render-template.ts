import type { PromptTemplateVersion, TemplateVariable } from '@axon/contracts';
import { Liquid } from 'liquidjs';
import { AppError } from '../errors';

/** Bounds on one render, so that a template cannot hold the server: time, allocations, output. */
export const TEMPLATE_LIMITS = {
  /** Characters parsed in one call (a version's two templates are at most 50,000 characters each). */
  parseChars: 120_000,
  /** Milliseconds one render may take before it is stopped. */
  renderMs: 50,
  /** Allocations (array and string building) one render may make, in liquidjs's units. */
  memory: 5_000_000,
  /** Characters a rendered prompt may hold. */
  outputChars: 200_000,
};

/**
 * Liquid renders data, it cannot run code; undefined variables are errors, not empty strings.
 * Templates have no file system: `templates: {}` makes every lookup an in-memory miss, and the
 * tags that read other templates (`include`, `render`, `layout`) are refused when a template is
 * parsed, so a version using them cannot be saved.
 */
function createEngine(): Liquid {
  const engine = new Liquid({
    strictVariables: true,
    strictFilters: true,
    ownPropertyOnly: true,
    cache: 500,
    templates: {},
    dynamicPartials: false,
    parseLimit: TEMPLATE_LIMITS.parseChars,
    renderLimit: TEMPLATE_LIMITS.renderMs,
    memoryLimit: TEMPLATE_LIMITS.memory,
  });
  for (const name of ['include', 'render', 'layout']) {
    engine.registerTag(name, {
      parse() {
        throw new Error(`the {% ${name} %} tag is not available: prompt templates cannot read files or other templates`);
      },
      render() {},
    });
  }
  return engine;
}
const engine = createEngine();

/** A sample value of each declared variable, for the trial render at save time. */
function sampleVariables(variables: TemplateVariable[]): Record<string, unknown> {
  const sample: Record<string, unknown> = {};
  for (const v of variables) sample[v.name] = v.default ?? (v.type === 'number' ? 1 : v.type === 'boolean' ? true : 'sample');
  return sample;
}

function invalid(field: string, message: string): AppError {
  return new AppError('validation_failed', { detail: `body.${field}: ${message}`, errors: [{ path: `body.${field}`, message }] });
}

/**
 * Checks a template at save time, so that a broken or runaway version is refused, not stored: its
 * syntax, and a trial render with sample values that must finish within the render limits.
 */
export async function checkTemplate(version: { system: string; message: string; variables?: TemplateVariable[] }): Promise<void> {
  const scope = { ...sampleVariables(version.variables ?? []), input: 'sample input' };
  for (const [field, text] of Object.entries({ system: version.system, message: version.message })) {
    let parsed: ReturnType<Liquid['parse']>;
    try {
      parsed = engine.parse(text);
    } catch (error) {
      throw invalid(field, (error as Error).message);
    }
    try {
      const out = await engine.render(parsed, scope, { strictVariables: false });
      if (String(out).length > TEMPLATE_LIMITS.outputChars)
        throw new Error(`it renders to more than ${TEMPLATE_LIMITS.outputChars} characters`);
    } catch (error) {
      const message = (error as Error).message;
      // Only runaway templates are refused here; other render errors depend on the real values.
      if (/limit exceeded|more than \d+ characters/.test(message))
        throw invalid(field, `the template is too costly to render (${message})`);
    }
  }
}

/** The given values checked against the declared variables: types, required ones, defaults. */
function bindVariables(declared: TemplateVariable[], given: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const problems: Array<{ path: string; message: string }> = [];
  for (const variable of declared) {
    let value = given[variable.name];
    if (value === undefined) value = variable.default;
    if (value === undefined) {
      if (variable.required) problems.push({ path: `variables.${variable.name}`, message: 'required' });
      continue;
    }
    if (variable.type === 'number' && typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)))
      value = Number(value);
    if (variable.type === 'boolean' && (value === 'true' || value === 'false')) value = value === 'true';
    if (typeof value !== variable.type) problems.push({ path: `variables.${variable.name}`, message: `expected a ${variable.type}` });
    else values[variable.name] = value;
  }
  if (problems.length > 0) {
    throw new AppError('validation_failed', {
      detail: `The template's variables are not right: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
      errors: problems,
    });
  }
  return values;
}

/** Renders a version: the system prompt, and the user's message through the message template. */
export async function renderTemplate(
  version: Pick<PromptTemplateVersion, 'system' | 'message' | 'variables'>,
  given: Record<string, unknown>,
  input: string,
): Promise<{ system: string; message: string }> {
  const scope = { ...bindVariables(version.variables, given), input };
  try {
    const system = await engine.parseAndRender(version.system, scope);
    const message = version.message.trim() ? await engine.parseAndRender(version.message, scope) : input;
    if (system.length + message.length > TEMPLATE_LIMITS.outputChars + input.length)
      throw new Error(`the rendered prompt holds more than ${TEMPLATE_LIMITS.outputChars} characters beyond the input`);
    return { system, message };
  } catch (error) {
    throw new AppError('validation_failed', { detail: `The template could not be rendered: ${(error as Error).message}` });
  }
}
