import pino, { type DestinationStream, type Logger } from 'pino';
import { createRedactor, type Redactor } from '../redaction/redact';

/**
 * Fields whose values never reach a log line, at any depth, whatever a caller passes: secrets
 * travel in them (credentials, and the request and response headers that carry them). Matched by
 * name in the formatter below, which walks every line's fields anyway (a path-based `redact`
 * option would parse its paths and clone the line again for each one written).
 */
const SECRET_FIELDS = new Set([
  'password',
  'passwordHash',
  'apiKey',
  'key',
  'token',
  'csrfToken',
  'authorization',
  'cookie',
  'set-cookie',
  'x-csrf-token',
  'x-api-key',
]);

const CENSOR = '[redacted]';

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
  'model',
  'failure',
  'code',
  'service',
  'address',
  'dataDir',
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

/**
 * A message redacted except where it quotes a structural field of its own line ("Axon is listening
 * on {address}"): those values are Axon's, and the person reading the log needs them as they are.
 */
function redactMessage(message: string, fields: unknown, redactor: Redactor): string {
  const quoted =
    typeof fields === 'object' && fields !== null && message.length <= LOG_TEXT_LIMIT
      ? Object.entries(fields).flatMap(([k, v]) =>
          STRUCTURAL_FIELDS.has(k) && typeof v === 'string' && v.length > 0 && message.includes(v) ? [v] : [],
        )
      : [];
  if (quoted.length === 0) return redactText(message, redactor);
  const pattern = new RegExp(`(${quoted.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`);
  // With a capturing group, the quoted values sit at the odd places of the split.
  return message
    .split(pattern)
    .map((piece, i) => (i % 2 === 1 ? piece : redactText(piece, redactor)))
    .join('');
}

/**
 * An error as pino's serializer writes it (type, message, stack, code and other own fields, and its
 * `cause` chain), so that a formatter working on the raw object does not see an empty `{}`.
 */
function serializeError(error: Error): Record<string, unknown> {
  const serialized = pino.stdSerializers.errWithCause(error) as unknown as Record<string, unknown>;
  return { ...serialized };
}

/** An `Error` of any realm (an error from a worker or another copy of a module is one too). */
const isError = (value: unknown): value is Error => value instanceof Error || Object.prototype.toString.call(value) === '[object Error]';

/** Personal data and secrets in string fields of a log line become placeholders before it is written. */
function redactStrings(value: unknown, redactor: Redactor, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value, redactor);
  if (isError(value)) return redactStrings(serializeError(value), redactor, depth);
  if (depth > 3 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, redactor, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_FIELDS.has(k)) out[k] = CENSOR;
    else out[k] = depth === 0 && STRUCTURAL_FIELDS.has(k) && typeof v !== 'object' ? v : redactStrings(v, redactor, depth + 1);
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
          if (typeof args[at] === 'string') args[at] = redactMessage(args[at] as string, at === 1 ? args[0] : undefined, redactor);
          return method.apply(this, args);
        },
      },
      base: { service: 'axon' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Errors are serialized by the formatter above (it sees the raw object first); a second pass
      // would turn the result into a plain `Object`.
      serializers: {
        err: (value: unknown) => value,
      },
    },
    // Standard output written asynchronously: lines logged while a write is under way go out
    // together in the next one, instead of one blocking write per line (flushed when the process exits).
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
