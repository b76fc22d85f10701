import pino, { type DestinationStream, type Logger } from 'pino';
import { createRedactor, type Redactor } from '../redaction/redact';

/**
 * Paths removed from every log line. Secrets travel in these places; the logger never prints them,
 * whatever a caller passes.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.passwordHash',
  '*.apiKey',
  '*.key',
  '*.token',
  '*.csrfToken',
  'password',
  'apiKey',
  'token',
];

/**
 * Fields of the access line and other structured lines that Axon itself fills with identifiers,
 * route patterns, numbers and enums: never free text, so never scanned (most of a line's cost).
 */
const STRUCTURAL_FIELDS = new Set([
  'method',
  'route',
  'status',
  'userId',
  'apiKeyId',
  'reqId',
  'latencyMs',
  'outcome',
  'ttftMs',
  'totalMs',
  'inputTokens',
  'outputTokens',
  'conversationId',
  'collectionId',
  'documentId',
  'provider',
  'code',
  'service',
]);

/**
 * Longest free text a log line carries per field: longer text (a client's query string, an
 * upstream's error body) is cut here, so that neither a line nor its redaction grows with what a
 * client sends.
 */
export const LOG_TEXT_LIMIT = 2000;

/** Text cut to {@link LOG_TEXT_LIMIT}, then redacted. */
function redactText(text: string, redactor: Redactor): string {
  const cut = text.length > LOG_TEXT_LIMIT ? `${text.slice(0, LOG_TEXT_LIMIT)}…(${text.length - LOG_TEXT_LIMIT} more characters)` : text;
  return cut.length > 5 ? redactor.redact(cut).text : cut;
}

/** Personal data and secrets in string fields of a log line become placeholders before it is written. */
function redactStrings(value: unknown, redactor: Redactor, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value, redactor);
  if (depth > 3 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, redactor, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = depth === 0 && STRUCTURAL_FIELDS.has(k) && typeof v !== 'object' ? v : redactStrings(v, redactor, depth + 1);
  }
  return out;
}

export function createLogger(options: { level: string; destination?: DestinationStream; redactor?: Redactor }): Logger {
  const redactor = options.redactor ?? createRedactor();
  return pino(
    {
      level: options.level,
      formatters: { log: (object) => redactStrings(object, redactor) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          // The message too: `log.info(obj, 'text')` or `log.info('text')`.
          const at = typeof args[0] === 'string' ? 0 : 1;
          if (typeof args[at] === 'string') args[at] = redactText(args[at] as string, redactor);
          return method.apply(this, args);
        },
      },
      base: { service: 'axon' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: {
        err: pino.stdSerializers.err,
      },
    },
    options.destination,
  );
}
