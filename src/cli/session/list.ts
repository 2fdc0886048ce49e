// maintctl session list: every session in the store, newest last; --state narrows it to one state.
import type { Command } from 'commander';
import { SESSION_STATES } from '../../domain/states.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../exit-codes.js';
import { emit } from '../render/output.js';
import { sessionList } from '../render/session.js';
import { styleFor } from '../render/style.js';

export interface ListOptions {
  /** Only sessions in this state. */
  state?: string;
}

export function register(session: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  session
    .command('list')
    .alias('ls')
    .description('list maintenance sessions')
    .option('--state <state>', 'only sessions in this state, e.g. MAINTENANCE_FAILED (any case)')
    .action((flags: { state?: string }) => {
      const options = parseListFlags(flags);
      return run((deps) => runList(options, deps));
    });
}

export function parseListFlags(flags: { state?: string }): ListOptions {
  if (flags.state === undefined) return {};
  const state = flags.state.toUpperCase();
  if (!(SESSION_STATES as readonly string[]).includes(state)) {
    throw new UsageError(`invalid --state "${flags.state}": use one of ${SESSION_STATES.join(', ')}`);
  }
  return { state };
}

export async function runList(options: ListOptions, deps: Deps): Promise<void> {
  const all = await deps.client().listSessions();
  const sessions = options.state ? all.filter((s) => s.state === options.state) : all;
  const view = () => (options.state && !sessions.length ? `No sessions in ${options.state}.` : sessionList(styleFor(deps.io), sessions, deps.clock.now()));
  emit(deps.io, deps.format, sessions, view);
}
