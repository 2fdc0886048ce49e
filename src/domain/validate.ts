// One way to check input against a schema and say exactly what is wrong.
import type { z } from 'zod';
import { InvalidInputError } from './errors.js';

function describePath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

/** Parses `input` or throws InvalidInputError naming every problem with its field path. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = describePath(issue.path);
    return where ? `${where}: ${issue.message}` : issue.message;
  });
  throw new InvalidInputError(`invalid ${what}: ${problems.join('; ')}`);
}
