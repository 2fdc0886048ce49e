// maintctl session delete: stop a session and forget it; re-enable the hosts it disabled.
import type { Command } from 'commander';
import type { Deps } from '../deps.js';
import { emit } from '../render/output.js';

export interface DeleteOptions {
  id: string;
  keepDisabled: boolean;
}

export function register(session: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  session
    .command('delete')
    .alias('rm')
    .description('stop and delete a session; hosts it disabled are enabled again')
    .argument('<id>', 'session id or prefix')
    .option('--keep-disabled', 'leave the hosts this session disabled disabled')
    .action((id: string, flags: { keepDisabled?: boolean }) => run((deps) => runDelete({ id, keepDisabled: Boolean(flags.keepDisabled) }, deps)));
}

export async function runDelete(options: DeleteOptions, deps: Deps): Promise<void> {
  const client = deps.client();
  const id = await client.resolveId(options.id);
  // The hosts --keep-disabled leaves out of scheduling: someone has to enable them later.
  const kept = options.keepDisabled ? (await client.showSession(id)).hosts.filter((h) => h.disabled && !h.disabled_before).map((h) => h.name) : [];
  const { reenabled } = await client.deleteSession(id, { keepDisabled: options.keepDisabled });
  const text =
    `deleted session ${id}` +
    (reenabled.length ? `; enabled again: ${reenabled.join(', ')}` : '') +
    (kept.length ? `; left disabled: ${kept.join(', ')}` : '');
  emit(deps.io, deps.format, { session_id: id, deleted: true, reenabled, kept_disabled: kept }, () => text);
}
