import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load-config';

const emptyDir = () => mkdtempSync(join(tmpdir(), 'axon-config-'));

describe('loadConfig', () => {
  it('gives the embedded defaults with no file and no env', () => {
    const config = loadConfig({ env: {}, cwd: emptyDir() });
    expect(config.port).toBe(3000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.dataDir).toBe('./data');
    expect(config.localModel.enabled).toBe(true);
    expect(config.openai).toBeUndefined();
    expect(config.connections).toEqual([]);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads environment variables, with lists and booleans', () => {
    const config = loadConfig({
      cwd: emptyDir(),
      env: { PORT: '8080', OPENAI_API_KEY: 'sk-test', OPENAI_MODELS: 'gpt-4o-mini, gpt-4o', AXON_LOCAL_MODEL: 'false' },
    });
    expect(config.port).toBe(8080);
    expect(config.openai).toEqual({
      apiKey: 'sk-test',
      models: [
        { id: 'gpt-4o-mini', type: 'chat' },
        { id: 'gpt-4o', type: 'chat' },
      ],
    });
    expect(config.localModel.enabled).toBe(false);
  });

  it('reads axon.config.yaml and lets the environment win over it', () => {
    const dir = emptyDir();
    writeFileSync(
      join(dir, 'axon.config.yaml'),
      'port: 4000\nconnections:\n  - name: ollama\n    baseURL: http://127.0.0.1:11434/v1\n    models:\n      - id: llama3.1:8b\n        name: Llama 3.1 8B\n',
    );
    const config = loadConfig({ cwd: dir, env: { PORT: '5000' } });
    expect(config.port).toBe(5000);
    expect(config.connections[0]).toMatchObject({
      name: 'ollama',
      baseURL: 'http://127.0.0.1:11434/v1',
      models: [{ id: 'llama3.1:8b', name: 'Llama 3.1 8B' }],
    });
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT \(port\)/],
    [{ PORT: '70000' }, /PORT \(port\)/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL \(logLevel\)/],
    [{ AXON_LOCAL_MODEL: 'maybe' }, /AXON_LOCAL_MODEL \(localModel\.enabled\): "maybe" is not a boolean/],
    [{ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'not a url' }, /OPENAI_BASE_URL \(openai\.baseURL\)/],
    [
      { AXON_ADMIN_EMAIL: 'admin@example.com', AXON_ADMIN_PASSWORD: 'short' },
      /AXON_ADMIN_PASSWORD \(admin\.password\): AXON_ADMIN_PASSWORD needs at least 10/,
    ],
    [{ AZURE_OPENAI_API_KEY: 'k', AZURE_OPENAI_DEPLOYMENTS: 'gpt4' }, /set AZURE_OPENAI_RESOURCE or AZURE_OPENAI_BASE_URL/],
  ])('stops with a message naming the setting for %o', (env, message) => {
    expect(() => loadConfig({ cwd: emptyDir(), env })).toThrow(message);
  });

  it('refuses unknown keys, reserved and duplicate connection names in the file', () => {
    const dir = emptyDir();
    writeFileSync(join(dir, 'axon.config.yaml'), 'prot: 1\n');
    expect(() => loadConfig({ cwd: dir, env: {} })).toThrow(/prot/);
    writeFileSync(
      join(dir, 'axon.config.yaml'),
      'connections:\n  - name: openai\n    baseURL: http://127.0.0.1:1/v1\n  - name: a\n    baseURL: http://127.0.0.1:1/v1\n  - name: a\n    baseURL: http://127.0.0.1:2/v1\n',
    );
    const error = (() => {
      try {
        loadConfig({ cwd: dir, env: {} });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.problems.join('\n')).toMatch(/connections\.0\.name: "openai" is reserved/);
    expect(error?.problems.join('\n')).toMatch(/connections\.2\.name: "a" is used twice/);
  });

  it('reports a file that is not YAML or missing', () => {
    const dir = emptyDir();
    writeFileSync(join(dir, 'bad.yaml'), 'port: [1,\n');
    expect(() => loadConfig({ cwd: dir, env: { AXON_CONFIG: 'bad.yaml' } })).toThrow(/bad\.yaml/);
    expect(() => loadConfig({ cwd: dir, env: { AXON_CONFIG: 'missing.yaml' } })).toThrow(/does not exist/);
  });
});
