import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildConfigTable,
  CONFIG_TABLE_END,
  CONFIG_TABLE_START,
  configTableRows,
  README_PATH,
  readConfigTableSources,
  replaceConfigTable,
} from './config-table';
import { ENV_SETTINGS } from './load-config';

const sources = readConfigTableSources();

function readmeTable(): string {
  const readme = readFileSync(README_PATH, 'utf8');
  const start = readme.indexOf(CONFIG_TABLE_START);
  const end = readme.indexOf(CONFIG_TABLE_END);
  expect(start, `README.md has no ${CONFIG_TABLE_START} marker`).toBeGreaterThanOrEqual(0);
  expect(end, `README.md has no ${CONFIG_TABLE_END} marker`).toBeGreaterThan(start);
  return readme.slice(start + CONFIG_TABLE_START.length, end).trim();
}

describe('the configuration table', () => {
  it('in README.md is the one the schema gives (else run npm run docs:config)', () => {
    expect(readmeTable(), 'README.md is out of date: run npm run docs:config').toBe(buildConfigTable(sources));
  });

  it('has a row for every environment variable, on the setting it sets', () => {
    const rows = configTableRows(sources);
    for (const [name, path] of Object.entries(ENV_SETTINGS)) {
      const row = rows.find((r) => r.env.includes(name));
      expect(row, `${name} has no row`).toBeDefined();
      expect(row?.key?.replace(/\[\]$/, '')).toBe(path);
      expect(row?.description, `${name} has no description`).not.toBe('');
    }
    const sso = rows.find((r) => r.key === 'sso[]');
    expect(sso?.env).toEqual(
      expect.arrayContaining(['AXON_OIDC_ISSUER', 'AXON_OIDC_CLIENT_ID', 'AXON_OIDC_CLIENT_SECRET', 'AXON_OIDC_NAME']),
    );
    expect(rows.find((r) => r.env.includes('AXON_CONFIG'))?.key).toBeUndefined();
  });

  it('describes settings of the file alone and the members of lists, with the parsed defaults', () => {
    const rows = configTableRows(sources);
    const row = (key: string) => rows.find((r) => r.key === key);
    expect(row('rag.maxFilesPerUpload')).toMatchObject({ env: [], defaultText: '`20`', description: 'Most files in one upload.' });
    expect(row('upstreamTimeouts.firstByteMs')).toMatchObject({ env: ['AXON_UPSTREAM_FIRST_BYTE_TIMEOUT_MS'], defaultText: '`300000`' });
    // A default inside an optional group comes from the schema, since the parsed config has no such group.
    expect(row('jwt.jwksCooldownSeconds')?.defaultText).toBe('`30`');
    expect(row('connections[]')?.description).toMatch(/`client` \(default `axon`\): Client for this upstream/);
    expect(row('sso[]')?.description).toMatch(/`scopes` \(default `openid email profile`\)/);
    expect(row('logLevel')?.description).toContain('One of `fatal`, `error`');
    // The variable is in its own column, not repeated in the comment's parenthesis.
    expect(row('port')?.description).toBe('TCP port to listen on.');
    // Internal fields are left out.
    expect(rows.some((r) => r.key?.startsWith('secrets'))).toBe(false);
  });

  it('refuses a setting without a comment', () => {
    const schemaSource = sources.schemaSource.replace('/** Most files in one upload. */', '');
    expect(schemaSource).not.toBe(sources.schemaSource);
    expect(() => configTableRows({ ...sources, schemaSource })).toThrow('rag.maxFilesPerUpload has no TSDoc comment');
  });

  it('refuses an environment variable whose path is not a setting', () => {
    const envSettings = { ...ENV_SETTINGS, AXON_MAX_FILES: 'rag.maxFiles' };
    expect(() => configTableRows({ ...sources, envSettings })).toThrow('ENV_SETTINGS maps AXON_MAX_FILES to rag.maxFiles');
  });

  it('refuses a variable that loadConfig reads outside ENV_SETTINGS without saying what it sets', () => {
    const loadConfigSource = `${sources.loadConfigSource}\nconst extra = (env: Record<string, string>) => env.AXON_SOMETHING_NEW;\n`;
    expect(() => configTableRows({ ...sources, loadConfigSource })).toThrow('load-config.ts reads AXON_SOMETHING_NEW');
  });

  it('replaces only the text between the markers', () => {
    const readme = `# Title\n\nBefore.\n\n${CONFIG_TABLE_START}\n| old |\n${CONFIG_TABLE_END}\n\nAfter.\n`;
    expect(replaceConfigTable(readme, '| new |')).toBe(
      `# Title\n\nBefore.\n\n${CONFIG_TABLE_START}\n| new |\n${CONFIG_TABLE_END}\n\nAfter.\n`,
    );
    expect(() => replaceConfigTable('no markers', '| new |')).toThrow('needs the markers');
  });
});
