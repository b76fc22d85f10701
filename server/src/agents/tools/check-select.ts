import { ToolRefusal } from '../tool';

type Node = Record<string, unknown>;

/** SQLite functions a query may call: arithmetic, text, dates and aggregates; nothing that reads files, allocates blobs or formats without bounds. */
const ALLOWED_FUNCTIONS = new Set([
  'abs',
  'avg',
  'ceil',
  'ceiling',
  'coalesce',
  'count',
  'date',
  'datetime',
  'exp',
  'floor',
  'group_concat',
  'ifnull',
  'iif',
  'instr',
  'julianday',
  'length',
  'ln',
  'log',
  'log10',
  'lower',
  'ltrim',
  'max',
  'min',
  'nullif',
  'pow',
  'power',
  'round',
  'rtrim',
  'sign',
  'sqrt',
  'strftime',
  'substr',
  'substring',
  'sum',
  'time',
  'total',
  'trim',
  'typeof',
  'unixepoch',
  'upper',
]);

const STATEMENT_KINDS = new Set([
  'insert',
  'update',
  'delete',
  'replace',
  'create',
  'drop',
  'alter',
  'attach',
  'detach',
  'pragma',
  'vacuum',
]);

function functionName(node: Node): string {
  const name = node.name;
  if (typeof name === 'string') return name.toLowerCase();
  const parts = (name as { name?: Array<{ value?: unknown }> } | undefined)?.name;
  if (Array.isArray(parts))
    return parts
      .map((p) => String(p.value ?? ''))
      .join('.')
      .toLowerCase();
  return '';
}

/**
 * Checks that `sql` is one SQLite `SELECT` over the allow-listed tables: parsed with node-sql-parser
 * (a statement that does not parse is refused), no other statement kind (`PRAGMA`, `ATTACH`, `DROP`…),
 * one statement only, tables named only from `tables` or the query's own `WITH` names (no schema
 * prefixes, no table-valued functions such as `pragma_table_info`), and functions only from a short
 * allow-list. The database is opened read-only besides; this is the first of two locks.
 */
export async function checkSelect(sql: string, tables: string[]): Promise<void> {
  const { Parser } = (await import('node-sql-parser')).default ?? (await import('node-sql-parser'));
  const parser = new Parser();
  let ast: unknown;
  try {
    ast = parser.astify(sql, { database: 'sqlite' });
  } catch (error) {
    throw new ToolRefusal(
      `The query is not one SQLite SELECT this tool accepts: ${(error as Error).message.split('\n')[0]?.slice(0, 200)}`,
    );
  }
  const statements = Array.isArray(ast) ? ast : [ast];
  if (statements.length !== 1) throw new ToolRefusal('Send exactly one statement (no ";"-separated statements).');
  const root = statements[0] as Node;
  if (root.type !== 'select') throw new ToolRefusal(`Only SELECT is allowed; this is ${String(root.type).toUpperCase()}.`);

  const allowed = new Set(tables.map((t) => t.toLowerCase()));
  const ctes = new Set<string>();
  const walk = (value: unknown, inFrom: boolean): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, inFrom);
      return;
    }
    if (!value || typeof value !== 'object') return;
    const node = value as Node;
    if (STATEMENT_KINDS.has(String(node.type)))
      throw new ToolRefusal(`Only SELECT is allowed; the query holds ${String(node.type).toUpperCase()}.`);
    if (Array.isArray(node.with))
      for (const cte of node.with as Node[]) {
        const name = (cte.name as Node | undefined)?.value ?? cte.name;
        if (typeof name === 'string') ctes.add(name.toLowerCase());
      }
    if (node.type === 'function' || node.type === 'aggr_func') {
      const name = functionName(node);
      if (!ALLOWED_FUNCTIONS.has(name)) throw new ToolRefusal(`The function ${name || '(unnamed)'} is not allowed.`);
    }
    if (inFrom && typeof node.table === 'string') {
      if (node.db !== null && node.db !== undefined) throw new ToolRefusal('Name tables without a schema prefix.');
      const table = node.table.toLowerCase();
      if (!allowed.has(table) && !ctes.has(table))
        throw new ToolRefusal(`The table ${node.table} is not one this agent may read (${tables.join(', ') || 'none'}).`);
    }
    if (inFrom && (node.expr as Node | undefined)?.type === 'function')
      throw new ToolRefusal('Table-valued functions are not allowed in FROM.');
    for (const [key, child] of Object.entries(node)) walk(child, key === 'from');
  };
  walk(root, false);
  // The parser's own table list, as a second opinion on what the query reads.
  for (const entry of parser.tableList(sql, { database: 'sqlite' })) {
    const [kind, , table = ''] = entry.split('::');
    if (kind !== 'select') throw new ToolRefusal(`Only SELECT is allowed; the query would ${kind}.`);
    if (!allowed.has(table.toLowerCase()) && !ctes.has(table.toLowerCase()))
      throw new ToolRefusal(`The table ${table} is not one this agent may read (${tables.join(', ') || 'none'}).`);
  }
}
