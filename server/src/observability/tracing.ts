import { type Attributes, context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';

/**
 * OpenTelemetry traces, exported over OTLP/HTTP when an endpoint is configured and off (a no-op
 * tracer) otherwise. Model calls follow the GenAI semantic conventions (`gen_ai.*`); no prompt or
 * answer text is ever put on a span. The SDK and its exporter are loaded only when traces are on.
 */
export async function createTracing(options: {
  endpoint?: string | undefined;
  serviceName?: string;
  exportDelayMs?: number;
}): Promise<{ tracer: Tracer; enabled: boolean; shutdown: () => Promise<void> }> {
  if (!options.endpoint) return { tracer: trace.getTracer('axon-off'), enabled: false, shutdown: async () => {} };
  const [{ OTLPTraceExporter }, { resourceFromAttributes }, { BasicTracerProvider, BatchSpanProcessor }] = await Promise.all([
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
  ]);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName ?? 'axon' }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/$/, '')}/v1/traces` }), {
        scheduledDelayMillis: options.exportDelayMs ?? 5000,
      }),
    ],
  });
  return { tracer: provider.getTracer('axon'), enabled: true, shutdown: () => provider.shutdown() };
}

export type Tracing = Awaited<ReturnType<typeof createTracing>>;

/** Runs `work` in a child span of `parent` (or a root span), ending it with the outcome. */
export async function inSpan<T>(
  tracer: Tracer,
  name: string,
  attributes: Attributes,
  parent: Span | undefined,
  work: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
  const span = tracer.startSpan(name, { kind, attributes }, ctx);
  try {
    return await work(span);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

export { SpanKind };

/** What a model call span records (GenAI semantic conventions). */
export interface ModelCallDescription {
  model: string;
  provider: string;
  maxTokens?: number | undefined;
  temperature?: number | undefined;
}

interface ModelCallResult {
  status: string;
  finishReason?: string | null | undefined;
  usage: { inputTokens: number | null; outputTokens: number | null };
}

/** Runs a model call in a `chat {model}` client span carrying `gen_ai.*` attributes. */
export function traceModelCall<T extends ModelCallResult>(
  tracer: Tracer,
  parent: Span | undefined,
  call: ModelCallDescription,
  run: () => Promise<T>,
): Promise<T> {
  const attributes: Attributes = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': call.provider,
    'gen_ai.request.model': call.model,
    ...(call.maxTokens !== undefined ? { 'gen_ai.request.max_tokens': call.maxTokens } : {}),
    ...(call.temperature !== undefined ? { 'gen_ai.request.temperature': call.temperature } : {}),
  };
  return inSpan(
    tracer,
    `chat ${call.model}`,
    attributes,
    parent,
    async (span) => {
      const result = await run();
      span.setAttributes({
        'gen_ai.response.model': call.model,
        'gen_ai.response.finish_reasons': [result.finishReason ?? result.status],
        ...(result.usage.inputTokens !== null ? { 'gen_ai.usage.input_tokens': result.usage.inputTokens } : {}),
        ...(result.usage.outputTokens !== null ? { 'gen_ai.usage.output_tokens': result.usage.outputTokens } : {}),
      });
      if (result.status === 'error') span.setStatus({ code: SpanStatusCode.ERROR, message: 'the model call failed' });
      return result;
    },
    SpanKind.CLIENT,
  );
}
