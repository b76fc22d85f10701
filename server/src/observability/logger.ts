import pino, { type DestinationStream, type Logger } from 'pino';

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

export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
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
