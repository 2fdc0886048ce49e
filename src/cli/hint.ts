// Commands printed for people to paste (in time-outs, failures, "no engine runs"): they must work
// as pasted, so they carry the --state-dir this command was given when it is not the default.
// A remote endpoint joins the same way once there is one (the `endpoint` field).
import { resolveStateDir } from '../client/state-dir.js';
import type { IO } from './io.js';

export interface HintContext {
  io: Pick<IO, 'env'>;
  stateDir?: string;
  /** The --endpoint of a remote engine, when not the default. */
  endpoint?: string;
}

/** `maintctl [--endpoint URL] [--state-dir DIR] ARGS`, quoted for a POSIX shell. */
export function hintCommand(context: HintContext, args: string): string {
  const flags: string[] = [];
  if (context.endpoint) flags.push('--endpoint', shellQuote(context.endpoint));
  else if (context.stateDir && context.stateDir !== resolveStateDir(undefined, context.io.env)) flags.push('--state-dir', shellQuote(context.stateDir));
  return ['maintctl', ...flags, args].join(' ');
}

export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
