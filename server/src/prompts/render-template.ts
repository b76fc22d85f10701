import type { PromptTemplateVersion, TemplateVariable } from '@axon/contracts';
import { Liquid } from 'liquidjs';
import { AppError } from '../errors';

// Liquid renders data, it cannot run code; undefined variables are errors, not empty strings.
const engine = new Liquid({ strictVariables: true, strictFilters: true, ownPropertyOnly: true, cache: 500 });

/** Checks a template's syntax (at save time), so that a broken version is refused, not stored. */
export function checkTemplateSyntax(version: { system: string; message: string }): void {
  for (const [field, text] of Object.entries({ system: version.system, message: version.message })) {
    try {
      engine.parse(text);
    } catch (error) {
      throw new AppError('validation_failed', {
        detail: `body.${field}: ${(error as Error).message}`,
        errors: [{ path: `body.${field}`, message: (error as Error).message }],
      });
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
    return { system, message };
  } catch (error) {
    throw new AppError('validation_failed', { detail: `The template could not be rendered: ${(error as Error).message}` });
  }
}
