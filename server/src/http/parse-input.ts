import type { z } from 'zod';
import { AppError } from '../errors';

/** Validates a request part with a zod schema; failures become `validation_failed` naming each field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params'): z.infer<S> {
  const result = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }));
  throw new AppError('validation_failed', {
    detail: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
    errors,
  });
}
