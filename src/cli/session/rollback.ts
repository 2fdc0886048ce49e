// maintctl session rollback: undo a failed (or done) update or downgrade of a cluster: a new
// session over the hosts it moved, the versions swapped, run like any session.
import type { Command } from 'commander';
import type { Deps } from '../deps.js';
import { parseWait } from '../flags.js';
import { emit } from '../render/output.js';
import { followToEnd } from './follow.js';

export interface RollbackOptions {
  id: string;
  wait: boolean;
  timeoutMs?: number;
}

export function register(session: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  session
    .command('rollback')
    .description('roll back a failed or done update (or downgrade) of a cluster: the hosts it moved go back to their release')
    .argument('<id>', 'session id or prefix of the update')
    .option('--wait', 'follow the rollback to its end; exit 0 done, 3 failed')
    .option('--timeout <duration>', 'with --wait: give up after this long (exit 4)')
    .action((id: string, flags: { wait?: boolean; timeout?: string }) => run((deps) => runRollback({ id, ...parseWait(flags) }, deps)));
}

export async function runRollback(options: RollbackOptions, deps: Deps): Promise<void> {
  const client = deps.client();
  const id = await client.resolveId(options.id);
  const { session_id, hosts } = await client.rollbackSession(id);
  const text = session_id
    ? `rolling back session ${id} on ${hosts.join(', ')}: session ${session_id}`
    : `no host of session ${id} had moved: its cluster is back on its old release`;
  if (!options.wait || !session_id) {
    emit(deps.io, deps.format, { session_id, rollback_of: id, hosts }, () => text);
    return;
  }
  deps.io.err.write(`${text}\n`);
  await followToEnd(session_id, deps, { timeoutMs: options.timeoutMs });
}
