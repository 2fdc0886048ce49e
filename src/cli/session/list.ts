// maintctl session list: every session in the store, newest last.
import type { Command } from 'commander';
import type { Deps } from '../deps.js';
import { emit } from '../render/output.js';
import { sessionList } from '../render/session.js';
import { styleFor } from '../render/style.js';

export function register(session: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  session
    .command('list')
    .alias('ls')
    .description('list maintenance sessions')
    .action(() => run((deps) => runList(deps)));
}

export async function runList(deps: Deps): Promise<void> {
  const sessions = await deps.client().listSessions();
  emit(deps.io, deps.format, sessions, () => sessionList(styleFor(deps.io), sessions, deps.clock.now()));
}
