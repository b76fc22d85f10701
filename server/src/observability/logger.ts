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
  'messageId',
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

/** Short texts remembered with their redacted form: most messages are the same few literals. */
const REMEMBERED_TEXT_LENGTH = 256;
const REMEMBERED_TEXTS = 1000;

/** Redacts one text of a log line. */
type RedactText = (text: string) => string;

/**
 * Text cut to {@link LOG_TEXT_LIMIT}, then redacted. Redaction depends only on the text, so short
 * texts seen before (a message such as `request`, an error's wording) are answered from memory; the
 * memory is emptied when it holds {@link REMEMBERED_TEXTS} of them.
 */
function textRedactor(redactor: Redactor): RedactText {
  const remembered = new Map<string, string>();
  return (text) => {
    if (text.length <= 5) return text;
    if (text.length > REMEMBERED_TEXT_LENGTH) {
      const cut =
        text.length > LOG_TEXT_LIMIT ? `${text.slice(0, LOG_TEXT_LIMIT)}…(${text.length - LOG_TEXT_LIMIT} more characters)` : text;
      return redactor.redact(cut).text;
    }
    let redacted = remembered.get(text);
    if (redacted === undefined) {
      redacted = redactor.redact(text).text;
      if (remembered.size >= REMEMBERED_TEXTS) remembered.clear();
      remembered.set(text, redacted);
    }
    return redacted;
  };
}

/**
 * A message redacted except where it quotes a structural field of its own line ("Axon is listening
 * on {address}"): those values are Axon's, and the person reading the log needs them as they are.
 */
function redactMessage(message: string, fields: unknown, redactText: RedactText): string {
  let quoted: string[] | undefined;
  if (typeof fields === 'object' && fields !== null && message.length <= LOG_TEXT_LIMIT)
    for (const k in fields) {
      if (!STRUCTURAL_FIELDS.has(k) || !Object.hasOwn(fields, k)) continue;
      const v = (fields as Record<string, unknown>)[k];
      if (typeof v !== 'string' || v.length === 0 || !message.includes(v)) continue;
      quoted ??= [];
      quoted.push(v);
    }
  if (!quoted) return redactText(message);
  const pattern = new RegExp(`(${quoted.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`);
  // With a capturing group, the quoted values sit at the odd places of the split.
  return message
    .split(pattern)
    .map((piece, i) => (i % 2 === 1 ? piece : redactText(piece)))
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
function redactStrings(value: unknown, redactText: RedactText, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (isError(value)) return redactStrings(serializeError(value), redactText, depth);
  if (depth > 3 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, redactText, depth + 1));
  const out: Record<string, unknown> = {};
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    const v = (value as Record<string, unknown>)[k];
    if (SECRET_FIELDS.has(k)) out[k] = CENSOR;
    else if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) out[k] = v;
    else out[k] = depth === 0 && STRUCTURAL_FIELDS.has(k) && typeof v !== 'object' ? v : redactStrings(v, redactText, depth + 1);
  }
  return out;
}

export function createLogger(options: { level: string; destination?: DestinationStream; redactor?: Redactor }): Logger {
  const redactText = textRedactor(options.redactor ?? createRedactor());
  return pino(
    {
      level: options.level,
      formatters: { log: (object) => redactStrings(object, redactText) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          // The message too: `log.info(obj, 'text')` or `log.info('text')`.
          const at = typeof args[0] === 'string' ? 0 : 1;
          if (typeof args[at] === 'string') args[at] = redactMessage(args[at] as string, at === 1 ? args[0] : undefined, redactText);
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
