// maintctl session update: continue a failed session from where it failed, once the cause is fixed.
import type { Command } from 'commander';
import { MAX_WAIT_MS } from '../../domain/time.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../exit-codes.js';
import { parseDuration } from '../flags.js';
import { emit } from '../render/output.js';
import { followToEnd } from './follow.js';

export interface UpdateOptions {
  id: string;
  wait: boolean;
  timeoutMs?: number;
}

export function register(session: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  session
    .command('update')
    .description('continue a MAINTENANCE_FAILED session from the state it failed in')
    .argument('<id>', 'session id or prefix')
    .option('--wait', 'follow the session to its end; exit 0 done, 3 failed')
    .option('--timeout <duration>', 'with --wait: give up after this long (exit 4)')
    .action((id: string, flags: { wait?: boolean; timeout?: string }) => {
      if (flags.timeout && !flags.wait) throw new UsageError('--timeout needs --wait');
      const timeoutMs = flags.timeout ? parseDuration(flags.timeout, '--timeout', MAX_WAIT_MS) : undefined;
      return run((deps) => runUpdate({ id, wait: Boolean(flags.wait), timeoutMs }, deps));
    });
}

export async function runUpdate(options: UpdateOptions, deps: Deps): Promise<void> {
  const client = deps.client();
  const doc = await client.continueSession(options.id);
  if (!options.wait) {
    emit(deps.io, deps.format, doc, () => `session ${doc.session_id} continues in ${doc.state}`);
    return;
  }
  await followToEnd(doc.session_id, deps, { timeoutMs: options.timeoutMs });
}
