import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { ConfigSchema } from './config-schema';
import { ENV_SETTINGS, loadConfig } from './load-config';

/**
 * The README's configuration table, generated from the config schema: the fields' TSDoc comments
 * (read with the TypeScript compiler API), the defaults of a configuration parsed from an empty
 * environment, and the environment variables of `ENV_SETTINGS`. `npm run docs:config` writes it.
 */

export const CONFIG_TABLE_START = '<!-- config-table:start -->';
export const CONFIG_TABLE_END = '<!-- config-table:end -->';

export interface ConfigTableRow {
  /** Environment variables that set it; empty for a setting of the file only. */
  env: string[];
  /** Path in `axon.config.yaml`; `undefined` for a variable of the environment only. */
  key: string | undefined;
  /** The default, ready to print. Empty for a group row. */
  defaultText: string;
  description: string;
}

export interface ConfigTableSources {
  /** Text of `config-schema.ts`. */
  schemaSource: string;
  /** Text of `load-config.ts`, searched for the variables it reads outside `ENV_SETTINGS`. */
  loadConfigSource: string;
  envSettings: Record<string, string>;
  /** The runtime schema, for the defaults and choices of fields that the parsed defaults do not hold. */
  schema: unknown;
  /** The configuration parsed from an empty environment without a file. */
  defaults: unknown;
}

/** Variables that `loadConfig` reads itself rather than through `ENV_SETTINGS`, and the setting each fills. */
const SPECIAL_ENV: Record<string, string> = {
  AXON_OIDC_ISSUER: 'sso',
  AXON_OIDC_CLIENT_ID: 'sso',
  AXON_OIDC_CLIENT_SECRET: 'sso',
  AXON_OIDC_NAME: 'sso',
};

/** Variables of the environment alone, without a place in the file. */
const ENV_ONLY_ROWS: ConfigTableRow[] = [
  {
    env: ['AXON_CONFIG'],
    key: undefined,
    defaultText: '`./axon.config.yaml` if present',
    description: 'Path of the config file, relative to the working directory.',
  },
];

type Shape =
  | { kind: 'object'; fields: Field[]; named: boolean }
  | { kind: 'array'; element: Shape }
  | { kind: 'record'; value: Shape }
  | { kind: 'scalar' };

interface Field {
  name: string;
  doc: string | undefined;
  internal: boolean;
  shape: Shape;
  /** Comment of the named schema the field refers to, when it has none of its own. */
  typeDoc: string | undefined;
}

/** The parts of zod's runtime definitions read here. */
interface ZodLike {
  _zod: {
    optin?: string;
    def: {
      type: string;
      innerType?: ZodLike;
      in?: ZodLike;
      defaultValue?: unknown;
      element?: ZodLike;
      valueType?: ZodLike;
      shape?: Record<string, ZodLike>;
      entries?: Record<string, unknown>;
    };
  };
}

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional']);

function unwrap(schema: ZodLike | undefined): ZodLike | undefined {
  let node = schema;
  while (node) {
    const def = node._zod.def;
    if (WRAPPERS.has(def.type)) node = def.innerType;
    else if (def.type === 'pipe') node = def.in;
    else break;
  }
  return node;
}

function runtimeField(parent: ZodLike | undefined, name: string): ZodLike | undefined {
  return unwrap(parent)?._zod.def.shape?.[name];
}

function runtimeItem(parent: ZodLike | undefined): ZodLike | undefined {
  const def = unwrap(parent)?._zod.def;
  return def?.type === 'array' ? def.element : def?.type === 'record' ? def.valueType : undefined;
}

function enumValues(schema: ZodLike | undefined): string[] | undefined {
  const def = unwrap(schema)?._zod.def;
  if (def?.type === 'enum' && def.entries) return Object.keys(def.entries);
  if (def?.type === 'array') return enumValues(def.element);
  return undefined;
}

/** A JSDoc comment as one line, without its `@internal` tag. */
function flattenDoc(raw: string): { text: string; internal: boolean } {
  const body = raw
    .replace(/^\/\*\*/, '')
    .replace(/\*\/$/, '')
    .split('\n')
    .map((line) => line.replace(/^\s*\*\s?/, ''))
    .join(' ');
  const internal = /(^|\s)@internal\b/.test(body);
  return {
    text: body
      .replace(/(^|\s)@internal\b/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
    internal,
  };
}

function leadingDoc(node: ts.Node, text: string): { text: string; internal: boolean } | undefined {
  const ranges = ts.getLeadingCommentRanges(text, node.pos) ?? [];
  const doc = ranges.filter((r) => r.kind === ts.SyntaxKind.MultiLineCommentTrivia && text.startsWith('/**', r.pos)).at(-1);
  return doc ? flattenDoc(text.slice(doc.pos, doc.end)) : undefined;
}

/** Reads the structure and comments of the schemas declared in `config-schema.ts`. */
class SchemaReader {
  private readonly declarations = new Map<string, { initializer: ts.Expression; statement: ts.Node }>();
  private readonly named = new Map<string, Shape>();

  constructor(private readonly file: ts.SourceFile) {
    for (const statement of file.statements) {
      if (!ts.isVariableStatement(statement)) continue;
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name) && declaration.initializer)
          this.declarations.set(declaration.name.text, { initializer: declaration.initializer, statement });
      }
    }
  }

  root(name: string): Shape {
    const found = this.declarations.get(name);
    if (!found) throw new Error(`config-schema.ts declares no ${name}`);
    return this.shapeOf(found.initializer, false);
  }

  private shapeOf(expression: ts.Expression, named: boolean): Shape {
    if (ts.isParenthesizedExpression(expression)) return this.shapeOf(expression.expression, named);
    if (ts.isIdentifier(expression)) {
      // One shape per named schema, so that a schema used in several places is described once.
      const cached = this.named.get(expression.text);
      if (cached) return cached;
      const found = this.declarations.get(expression.text);
      const shape: Shape = found ? this.shapeOf(found.initializer, true) : { kind: 'scalar' };
      this.named.set(expression.text, shape);
      return shape;
    }
    if (!ts.isCallExpression(expression) || !ts.isPropertyAccessExpression(expression.expression)) return { kind: 'scalar' };
    const callee = expression.expression;
    const method = callee.name.text;
    if (ts.isIdentifier(callee.expression) && callee.expression.text === 'z') {
      const [first, second] = expression.arguments;
      if ((method === 'strictObject' || method === 'object' || method === 'looseObject') && first && ts.isObjectLiteralExpression(first))
        return { kind: 'object', fields: this.fieldsOf(first), named };
      if (method === 'array' && first) return { kind: 'array', element: this.shapeOf(first, false) };
      if (method === 'record' && second) return { kind: 'record', value: this.shapeOf(second, false) };
      return { kind: 'scalar' };
    }
    // A method of a schema (`.default()`, `.optional()`, `.transform()`, `.min()`…): look at its receiver.
    return this.shapeOf(callee.expression, named);
  }

  private typeDocOf(expression: ts.Expression): string | undefined {
    let node: ts.Expression = expression;
    while (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) node = node.expression.expression;
    if (!ts.isIdentifier(node)) return undefined;
    const found = this.declarations.get(node.text);
    return found ? leadingDoc(found.statement, this.file.text)?.text : undefined;
  }

  private fieldsOf(literal: ts.ObjectLiteralExpression): Field[] {
    const fields: Field[] = [];
    for (const property of literal.properties) {
      if (ts.isSpreadAssignment(property) && ts.isIdentifier(property.expression)) {
        const spread = this.declarations.get(property.expression.text)?.initializer;
        if (spread && ts.isObjectLiteralExpression(spread)) fields.push(...this.fieldsOf(spread));
        continue;
      }
      if (!ts.isPropertyAssignment(property)) continue;
      const name =
        ts.isIdentifier(property.name) || ts.isStringLiteral(property.name) ? property.name.text : property.name.getText(this.file);
      const doc = leadingDoc(property, this.file.text);
      fields.push({
        name,
        doc: doc?.text || undefined,
        internal: doc?.internal ?? false,
        shape: this.shapeOf(property.initializer, false),
        typeDoc: this.typeDocOf(property.initializer),
      });
    }
    return fields;
  }
}

/** The names of `env.NAME` (and `env['NAME']`) that a source reads. */
function environmentReads(source: string): Set<string> {
  const file = ts.createSourceFile('load-config.ts', source, ts.ScriptTarget.Latest, true);
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'env') {
      if (/^[A-Z][A-Z0-9_]*$/.test(node.name.text)) names.add(node.name.text);
    } else if (
      ts.isElementAccessExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'env' &&
      ts.isStringLiteral(node.argumentExpression)
    ) {
      names.add(node.argumentExpression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return names;
}

function code(text: string): string {
  return `\`${text}\``;
}

function formatValue(value: unknown): string {
  if (value === undefined) return '—';
  if (Array.isArray(value) && value.length > 6) {
    const first = value
      .slice(0, 3)
      .map((v) => JSON.stringify(v))
      .join(', ');
    return `${code(`[${first}, …]`)} (${value.length} values)`;
  }
  if (typeof value === 'string') return code(value);
  return code(JSON.stringify(value).replaceAll(',', ', ').replaceAll(':', ': '));
}

function valueAt(root: unknown, path: string[]): { found: boolean; value: unknown } {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return { found: false, value: undefined };
    node = (node as Record<string, unknown>)[key];
  }
  if (typeof node !== 'object' || node === null) return { found: false, value: undefined };
  return { found: true, value: (node as Record<string, unknown>)[path.at(-1) as string] };
}

/** `{ a, b? }` for an object shape, `[{ … }]` for a list of them. */
function shapeHint(shape: Shape, runtime: ZodLike | undefined): string | undefined {
  if (shape.kind === 'object') {
    const names = shape.fields
      .filter((f) => !f.internal)
      .map((f) => {
        const member = runtimeField(runtime, f.name);
        return member?._zod.optin ? `${f.name}?` : f.name;
      });
    return `{ ${names.join(', ')} }`;
  }
  if (shape.kind === 'array') {
    const inner = shapeHint(shape.element, runtimeItem(runtime));
    return inner ? `[${inner}]` : undefined;
  }
  if (shape.kind === 'record') {
    const inner = shapeHint(shape.value, runtimeItem(runtime));
    return inner ? `{ [key]: ${inner} }` : undefined;
  }
  return undefined;
}

function withChoices(description: string, runtime: ZodLike | undefined): string {
  const values = enumValues(runtime);
  if (!values || values.every((v) => new RegExp(`(^|[^\\w])${v}([^\\w]|$)`).test(description))) return description;
  const choices = `One of ${values.map(code).join(', ')}.`;
  return description ? `${description} ${choices}` : choices;
}

/** Removes `(`NAME`, `OTHER`)` when the row already lists every one of those variables. */
function withoutEnvironmentNames(description: string, env: Set<string>): string {
  return description.replace(/\s*\((`[A-Z][A-Z0-9_]*`(?:(?:,\s*|\s+or\s+|\s+and\s+)`[A-Z][A-Z0-9_]*`)*)\)/g, (whole, list: string) => {
    const names = [...list.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1] as string);
    return names.every((n) => env.has(n)) ? '' : whole;
  });
}

/**
 * The members of a list, map or shared object, described in one sentence each; a shared schema
 * described at an earlier row (`described`: shape → its row's key) refers to that row.
 */
function membersText(shape: Shape, runtime: ZodLike | undefined, key: string, described: Map<Shape, string>): string {
  let object = shape;
  let objectRuntime = runtime;
  while (object.kind === 'array' || object.kind === 'record') {
    objectRuntime = runtimeItem(objectRuntime);
    object = object.kind === 'array' ? object.element : object.value;
  }
  if (object.kind !== 'object') return '';
  const hint = shapeHint(shape, runtime) as string;
  const earlier = described.get(object);
  if (earlier) return `Shape: ${code(hint)}, as in ${code(earlier)}.`;
  described.set(object, key);
  const members = object.fields
    .filter((f) => !f.internal)
    .map((f) => {
      const member = runtimeField(objectRuntime, f.name);
      const def = member?._zod.def;
      const notes: string[] = [];
      if (def?.type === 'default' || def?.type === 'prefault') notes.push(`default ${formatValue(def.defaultValue)}`);
      const memberHint = shapeHint(f.shape, member);
      if (memberHint) notes.push(code(memberHint));
      const doc = withChoices(f.doc ?? f.typeDoc ?? '', member);
      const head = `${code(f.name)}${notes.length ? ` (${notes.join(', ')})` : ''}`;
      if (doc) return `${head}: ${doc.replace(/[.;]?$/, '.')}`;
      return notes.length ? `${head}.` : undefined;
    })
    .filter((text) => text !== undefined);
  return [`Shape: ${code(hint)}.`, ...members].join(' ');
}

/**
 * The table's rows, in the schema's order. Throws when a setting has no comment, when an
 * `ENV_SETTINGS` path is not a setting, or when `loadConfig` reads a variable it does not know.
 */
export function configTableRows(sources: ConfigTableSources): ConfigTableRow[] {
  const problems: string[] = [];
  const file = ts.createSourceFile('config-schema.ts', sources.schemaSource, ts.ScriptTarget.Latest, true);
  const root = new SchemaReader(file).root('ConfigSchema');
  if (root.kind !== 'object') throw new Error('ConfigSchema is not an object schema');

  const envByPath = new Map<string, string[]>();
  const addEnv = (name: string, path: string) => envByPath.set(path, [...(envByPath.get(path) ?? []), name]);
  for (const [name, path] of Object.entries(sources.envSettings)) addEnv(name, path);
  const onlyEnv = new Set(ENV_ONLY_ROWS.flatMap((row) => row.env));
  for (const name of environmentReads(sources.loadConfigSource)) {
    if (name in sources.envSettings || onlyEnv.has(name)) continue;
    const path = SPECIAL_ENV[name];
    if (path) addEnv(name, path);
    else
      problems.push(`load-config.ts reads ${name}: add it to ENV_SETTINGS, or to SPECIAL_ENV in config-table.ts with the setting it fills`);
  }
  const used = new Set<string>();
  const envUnder = (path: string) =>
    [...envByPath.entries()].filter(([p]) => p === path || p.startsWith(`${path}.`)).flatMap(([, names]) => names);

  const rows: ConfigTableRow[] = [...ENV_ONLY_ROWS];
  const described = new Map<Shape, string>();
  const walk = (fields: Field[], prefix: string[], parentRuntime: ZodLike | undefined): void => {
    for (const field of fields) {
      if (field.internal) continue;
      const segments = [...prefix, field.name];
      const path = segments.join('.');
      const runtime = runtimeField(parentRuntime, field.name);
      const { shape } = field;
      if (shape.kind === 'object' && (!shape.named || envUnder(path).some((name) => !envByPath.get(path)?.includes(name)))) {
        // A group of settings: one row with the group's comment, then a row per member.
        if (field.doc)
          rows.push({
            env: [],
            key: path,
            defaultText: '',
            description: withoutEnvironmentNames(field.doc, new Set(envUnder(path))),
          });
        walk(shape.fields, segments, runtime);
        continue;
      }
      const env = envByPath.get(path) ?? [];
      for (const name of env) used.add(name);
      const parsed = valueAt(sources.defaults, segments);
      const def = runtime?._zod.def;
      const defaultValue = parsed.found ? parsed.value : def?.type === 'default' || def?.type === 'prefault' ? def.defaultValue : undefined;
      const doc = field.doc ?? field.typeDoc;
      if (!doc) problems.push(`${path} has no TSDoc comment in config-schema.ts`);
      const key = shape.kind === 'array' && shape.element.kind === 'object' ? `${path}[]` : path;
      const description = [
        withChoices(withoutEnvironmentNames(doc ?? '', new Set(env)), runtime),
        membersText(shape, runtime, key, described),
      ]
        .filter(Boolean)
        .join(' ');
      rows.push({ env, key, defaultText: formatValue(defaultValue), description });
    }
  };
  walk(root.fields, [], sources.schema as ZodLike);

  for (const [name, path] of Object.entries(sources.envSettings)) {
    if (!used.has(name)) problems.push(`ENV_SETTINGS maps ${name} to ${path}, which is not a setting of ConfigSchema`);
  }
  if (problems.length > 0) throw new Error(`The configuration table cannot be built:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return rows;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** The rows as a Markdown table. */
export function renderConfigTable(rows: ConfigTableRow[]): string {
  const lines = ['| Environment variable | File key | Default | Description |', '| --- | --- | --- | --- |'];
  for (const row of rows) {
    const env = row.env.length ? row.env.map(code).join(', ') : row.defaultText === '' ? '' : '—';
    const key = row.key === undefined ? '—' : code(row.key);
    lines.push(`| ${cell(env)} | ${cell(key)} | ${cell(row.defaultText)} | ${cell(row.description)} |`);
  }
  return lines.join('\n');
}

/** The README with the text between the markers replaced by the table. */
export function replaceConfigTable(readme: string, table: string): string {
  const start = readme.indexOf(CONFIG_TABLE_START);
  const end = readme.indexOf(CONFIG_TABLE_END);
  if (start === -1 || end === -1 || end < start)
    throw new Error(`README.md needs the markers ${CONFIG_TABLE_START} and ${CONFIG_TABLE_END} around the configuration table`);
  return `${readme.slice(0, start + CONFIG_TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}

export const README_PATH = join(import.meta.dirname, '../../../README.md');

/** Reads the schema, `load-config.ts` and the defaults of an empty environment. */
export function readConfigTableSources(): ConfigTableSources {
  const cwd = mkdtempSync(join(tmpdir(), 'axon-config-table-'));
  try {
    return {
      schemaSource: readFileSync(join(import.meta.dirname, 'config-schema.ts'), 'utf8'),
      loadConfigSource: readFileSync(join(import.meta.dirname, 'load-config.ts'), 'utf8'),
      envSettings: ENV_SETTINGS,
      schema: ConfigSchema,
      defaults: loadConfig({ env: {}, cwd }),
    };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** The configuration table of the current schema. */
export function buildConfigTable(sources: ConfigTableSources = readConfigTableSources()): string {
  return renderConfigTable(configTableRows(sources));
}
