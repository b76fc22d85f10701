import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { renderTemplate } from '../prompts/render-template';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

// A file where liquidjs would look by default (its root is the working directory), holding a marker.
const SECRET_FILE = 'axon-template-probe.yaml';
const MARKER = 'sk-probe-should-never-render';

let t: TestServer;
let builder: WebClient;

beforeAll(async () => {
  writeFileSync(join(process.cwd(), SECRET_FILE), `apiKey: ${MARKER}\n`);
  t = await startTestServer();
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  await auth.createUser({ email: 'builder@example.com', password: 'builder password 1', role: 'builder' });
  builder = new WebClient(t.url);
  await builder.login('builder@example.com', 'builder password 1');
});
afterAll(async () => {
  rmSync(join(process.cwd(), SECRET_FILE), { force: true });
  await t.close();
});

const version = (system: string) => ({ system, message: '', variables: [] });

describe('prompt templates have no file system', () => {
  const reading = [
    `{% include '${SECRET_FILE}' %}`,
    `{% render '${SECRET_FILE}' %}`,
    `{% layout '${SECRET_FILE}' %}hello`,
    `{% assign f = '${SECRET_FILE}' %}{% include f %}`,
    `{% include "${SECRET_FILE}" with x %}`,
  ];

  it.each(reading)('refuses to save %s', async (system) => {
    const saved = await builder.json<{ detail: string }>('POST', '/api/prompts', {
      name: `t${Math.random().toString(36).slice(2, 8)}`,
      system,
    });
    expect(saved.status).toBe(400);
    expect(saved.body.detail).toMatch(/cannot read files/);
  });

  it.each(reading)('renders no file even when %s is already stored', async (system) => {
    const outcome = await renderTemplate(version(system), {}, 'hi').then(
      (r) => r.system,
      (e: Error) => e.message,
    );
    expect(outcome).not.toContain(MARKER);
    expect(outcome).toMatch(/cannot read files/);
  });
});

describe('prompt templates cannot hold the server', () => {
  const runaway = [
    '{% for i in (1..20000) %}{% for j in (1..20000) %}{% endfor %}{% endfor %}',
    '{% for i in (1..20000) %}{% for j in (1..20000) %}x{% endfor %}{% endfor %}',
    "{% assign s = 'xxxxxxxxxx' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s }}",
  ];

  it.each(runaway)('refuses to save %s', async (system) => {
    const saved = await builder.json<{ detail: string }>('POST', '/api/prompts', {
      name: `r${Math.random().toString(36).slice(2, 8)}`,
      system,
    });
    expect(saved.status).toBe(400);
    expect(saved.body.detail).toMatch(/too costly/);
  });

  it('stops a render whose cost depends on a variable, and the server keeps answering meanwhile', async () => {
    const system = '{% for i in (1..n) %}{% for j in (1..n) %}{{ i }}{% endfor %}{% endfor %}';
    const saved = await builder.json<{ id: string }>('POST', '/api/prompts', {
      name: 'sized',
      system,
      variables: [{ name: 'n', type: 'number', default: 2 }],
    });
    expect(saved.status).toBe(201);
    const started = performance.now();
    const [rendered, health] = await Promise.all([
      builder.json<{ detail: string }>('POST', `/api/prompts/${saved.body.id}/render`, { variables: { n: 20000 }, input: 'x' }),
      fetch(`${t.url}/healthz`),
    ]);
    expect(rendered.status).toBe(400);
    expect(rendered.body.detail).toMatch(/limit exceeded/);
    expect(health.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('keeps ordinary templates working', async () => {
    const out = await renderTemplate(
      {
        system: 'Answer in {{ language }}. {% for i in (1..3) %}{{ i }}{% endfor %}',
        message: 'Q: {{ input }}',
        variables: [{ name: 'language', type: 'string', required: true }],
      },
      { language: 'French' },
      'why?',
    );
    expect(out).toEqual({ system: 'Answer in French. 123', message: 'Q: why?' });
  });
});
