import { type TemplateVariable, TemplateVariableSchema } from '@axon/contracts';

const EXAMPLE = '[{"name": "company", "default": "Acme"}] or {"company": "Acme"}';

/**
 * The Variables field of the template editor, read as the API wants it: a JSON list of variables,
 * or, as people often write it, an object of names and default values. Problems come back as one
 * sentence that says how to write it, never as a schema error.
 */
export function readTemplateVariables(text: string): { variables: TemplateVariable[] } | { error: string } {
  if (!text.trim()) return { variables: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { error: `Variables are not valid JSON. Write them as ${EXAMPLE}.` };
  }
  const list = Array.isArray(parsed)
    ? parsed
    : typeof parsed === 'object' && parsed !== null
      ? Object.entries(parsed).map(([name, value]) => ({
          name,
          ...(value === null || value === '' ? {} : { default: value, required: false }),
        }))
      : undefined;
  if (!list) return { error: `Variables must be a list or an object. Write them as ${EXAMPLE}.` };
  const variables: TemplateVariable[] = [];
  for (const [i, entry] of list.entries()) {
    const item = typeof entry === 'string' ? { name: entry } : entry;
    const result = TemplateVariableSchema.safeParse(item);
    if (!result.success) {
      const name = typeof item === 'object' && item !== null && 'name' in item ? `"${String(item.name)}"` : `number ${i + 1}`;
      const issue = result.error.issues[0];
      const what = issue?.path.length ? `${issue.path.join('.')}: ${issue.message}` : (issue?.message ?? 'not a variable');
      return { error: `Variable ${name} is not right (${what}). Write variables as ${EXAMPLE}.` };
    }
    variables.push(result.data);
  }
  return { variables };
}
