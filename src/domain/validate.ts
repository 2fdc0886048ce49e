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
    const message = inOurWords(issue);
    return where ? `${where}: ${message}` : message;
  });
  // One mistake can break several rules that say the same thing: say it once.
  throw new InvalidInputError(`invalid ${what}: ${[...new Set(problems)].join('; ')}`);
}

type Issue = z.core.$ZodIssue;

/**
 * The schema library's own wording ("Too big: expected int to be <=9007199254740991") said the way
 * the rest of maintctl says it; messages the schemas give themselves are kept as they are.
 */
function inOurWords(issue: Issue): string {
  if (!/^(Too big|Too small|Invalid input|Invalid option):/.test(issue.message)) return issue.message;
  const kind = (origin: unknown) => (origin === 'int' ? 'whole number' : 'number');
  const number = (n: unknown) => (typeof n === 'number' || typeof n === 'bigint' ? n.toLocaleString('en-US') : String(n));
  switch (issue.code) {
    case 'too_big':
      if (issue.origin === 'int' || issue.origin === 'number') return `too large: give a ${kind(issue.origin)} of at most ${number(issue.maximum)}`;
      if (issue.origin === 'string') return `too long: at most ${number(issue.maximum)} characters`;
      if (issue.origin === 'array') return `too many: at most ${number(issue.maximum)}`;
      break;
    case 'too_small':
      if (issue.origin === 'int' || issue.origin === 'number') {
        return `too small: give a ${kind(issue.origin)} ${issue.inclusive ? 'of at least' : 'more than'} ${number(issue.minimum)}`;
      }
      if (issue.origin === 'string') return Number(issue.minimum) === 1 ? 'must not be empty' : `too short: at least ${number(issue.minimum)} characters`;
      if (issue.origin === 'array') return `too few: at least ${number(issue.minimum)}`;
      break;
    case 'invalid_type':
      return issue.expected === 'int' ? 'must be a whole number' : `must be ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return issue.message;
}
