// One output helper for -o table|json|yaml: a command builds its data once and hands it over.
import { createRequire } from 'node:module';
import { UsageError } from '../exit-codes.js';
import type { IO } from '../io.js';

export const FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof FORMATS)[number];

export function parseFormat(text: string | undefined): OutputFormat {
  const format = (text ?? 'table') as OutputFormat;
  if (!FORMATS.includes(format)) throw new UsageError(`invalid -o "${text}": use table, json or yaml`);
  return format;
}

/** Writes `data` as JSON or YAML, or calls `table` for people. */
export function emit(io: IO, format: OutputFormat, data: unknown, table: () => string): void {
  if (format === 'json') io.out.write(`${JSON.stringify(data, null, 2)}\n`);
  else if (format === 'yaml') io.out.write(yaml().stringify(data));
  else io.out.write(table().replace(/\n?$/, '\n'));
}

/** The yaml package, loaded only for -o yaml (synchronously: emit is called from sync code too). */
const yaml = () => createRequire(import.meta.url)('yaml') as typeof import('yaml');
