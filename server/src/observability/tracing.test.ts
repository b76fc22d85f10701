import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { startTestServer, type TestServer } from '../testing/test-server';

// A collector on loopback receiving OTLP/HTTP JSON, as the exporter sends it.
type OtlpValue = { stringValue?: string; intValue?: string | number; arrayValue?: { values: OtlpValue[] } };
type OtlpSpan = {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Array<{ key: string; value: OtlpValue }>;
};
const spans: OtlpSpan[] = [];
let collector: Server;
let t: TestServer;

beforeAll(async () => {
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const parsed = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
      for (const r of parsed.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const port = (collector.address() as { port: number }).port;
  t = await startTestServer({ overrides: { tracing: { endpoint: `http://127.0.0.1:${port}`, exportDelayMs: 50 } } });
});
afterAll(async () => {
  await t?.close();
  collector?.close();
});

const attr = (span: OtlpSpan | undefined, key: string) => {
  const value = span?.attributes.find((a) => a.key === key)?.value;
  return (
    value?.stringValue ?? (value?.intValue !== undefined ? Number(value.intValue) : value?.arrayValue?.values.map((v) => v.stringValue))
  );
};

describe('OpenTelemetry traces', () => {
  it('export a server span per request and a gen_ai client span per model call, without prompt text', async () => {
    const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
    const user = await auth.createUser({ email: 'tracer@example.com', password: 'tracer password 1', role: 'member' });
    const { key } = await auth.createApiKey(user.id, 'k');
    const response = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim/sim-1', max_tokens: 50, messages: [{ role: 'user', content: 'a secret question' }] }),
    });
    expect(response.status).toBe(200);
    await expect.poll(() => spans.some((s) => s.name === 'chat sim/sim-1'), { timeout: 5000 }).toBe(true);
    await expect.poll(() => spans.some((s) => s.name === 'POST /v1/chat/completions'), { timeout: 5000 }).toBe(true);
    const server = spans.find((s) => s.name === 'POST /v1/chat/completions');
    const model = spans.find((s) => s.name === 'chat sim/sim-1');
    expect(server?.kind).toBe(2); // SERVER
    expect(model?.kind).toBe(3); // CLIENT
    expect(model?.parentSpanId).toBe(server?.spanId);
    expect(model?.traceId).toBe(server?.traceId);
    expect(attr(model, 'gen_ai.operation.name')).toBe('chat');
    expect(attr(model, 'gen_ai.provider.name')).toBe('sim');
    expect(attr(model, 'gen_ai.request.model')).toBe('sim/sim-1');
    expect(attr(model, 'gen_ai.request.max_tokens')).toBe(50);
    expect(attr(model, 'gen_ai.usage.output_tokens')).toBeGreaterThan(0);
    expect(attr(server, 'http.response.status_code')).toBe(200);
    expect(JSON.stringify(spans)).not.toContain('a secret question');
  });
});
