import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config';
import { createServer } from '../server';
import { startTestServer } from '../testing/test-server';

describe('AXON_DEFAULT_MODEL checked at start', () => {
  it('refuses to start when it names a connection that does not exist', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'axon-default-model-'));
    try {
      const config = loadConfig({
        cwd: dataDir,
        overrides: { dataDir, port: 0, defaultModel: 'nowhere/model-1', connections: [{ name: 'sim', baseURL: 'http://127.0.0.1:9/v1' }] },
      });
      const started = createServer(config);
      await expect(started).rejects.toBeInstanceOf(ConfigError);
      await expect(started).rejects.toThrow(/AXON_DEFAULT_MODEL \(defaultModel\): 'nowhere\/model-1' names no connection.*sim/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('warns in the log and in /readyz when its connection does not offer it', async () => {
    const t = await startTestServer({ overrides: { defaultModel: 'sim/not-there' } });
    try {
      await expect
        .poll(async () => ((await (await fetch(`${t.url}/readyz`)).json()) as { modelProblems: Record<string, string> }).modelProblems)
        .toMatchObject({
          'default model': expect.stringMatching(/'sim\/not-there', which is not offered \(offered: sim\/sim-1, sim\/sim-2\)/),
        });
      const warning = t.logs.map((l) => JSON.parse(l)).find((l) => l.level === 40 && /AXON_DEFAULT_MODEL/.test(l.msg));
      expect(warning?.msg).toContain('sim/not-there');
    } finally {
      await t.close();
    }
  });

  it('reports nothing when the default model is offered', async () => {
    const t = await startTestServer({ overrides: { defaultModel: 'sim/sim-2' } });
    try {
      const ready = (await (await fetch(`${t.url}/readyz`)).json()) as { modelProblems: Record<string, string> };
      expect(ready.modelProblems).toEqual({});
      expect(t.logs.some((l) => l.includes('AXON_DEFAULT_MODEL'))).toBe(false);
    } finally {
      await t.close();
    }
  });
});
