// maintctl session update: continue a failed session from where it failed, once the cause is
// fixed, with new options for the rest of it (longer deadlines, a policy for a project nobody
// answers for, other parallelism, and for a sim cloud its faults and timing reloaded).
import type { Command } from 'commander';
import type { SessionOptionChanges } from '../../domain/model.js';
import { MAX_PARALLEL_HOSTS, MAX_REPLY_SECONDS } from '../../domain/limits.js';
import type { ContinueChanges } from '../../client/client.js';
import type { Deps } from '../deps.js';
import { collect, parseCount, parsePolicies, parseSeconds, parseWait } from '../flags.js';
import { emit } from '../render/output.js';
import { followToEnd } from './follow.js';

export interface UpdateOptions {
  id: string;
  changes: ContinueChanges;
  wait: boolean;
  timeoutMs?: number;
}

interface UpdateFlags {
  replyTimeout?: string;
  scaleInTimeout?: string;
  maxParallel?: string;
  unsubscribed: string[];
  cloud?: string;
  wait?: boolean;
  timeout?: string;
}

export function register(session: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  session
    .command('update')
    .description('continue a MAINTENANCE_FAILED session from the state it failed in, with new options for the rest of it')
    .argument('<id>', 'session id or prefix')
    .option('--reply-timeout <duration>', 'from now on, time each project has to answer')
    .option('--scale-in-timeout <duration>', 'from now on, time to answer SCALE_IN and MAINTENANCE_COMPLETE')
    .option('--max-parallel <n|auto>', 'from now on, hosts in flight at once, or auto')
    .option('--unsubscribed <[project=]policy>', 'from now on, what to do with projects nobody answers for: fail, migrate or live_migrate (repeatable)', collect, [])
    .option('--cloud <file>', 'a sim cloud file: its faults and timing replace those of the session\'s simulated cloud')
    .option('--wait', 'follow the session to its end; exit 0 done, 3 failed')
    .option('--timeout <duration>', 'with --wait: give up after this long (exit 4)')
    .action((id: string, flags: UpdateFlags) => {
      const options = parseUpdateFlags(id, flags);
      return run((deps) => runUpdate(options, deps));
    });
}

export function parseUpdateFlags(id: string, flags: UpdateFlags): UpdateOptions {
  const options: SessionOptionChanges = {};
  if (flags.replyTimeout) options.projectMaintenanceReply = parseSeconds(flags.replyTimeout, '--reply-timeout', MAX_REPLY_SECONDS);
  if (flags.scaleInTimeout) options.projectScaleInReply = parseSeconds(flags.scaleInTimeout, '--scale-in-timeout', MAX_REPLY_SECONDS);
  if (flags.maxParallel !== undefined) options.maxParallelHosts = parseCount(flags.maxParallel, '--max-parallel', 'hosts', MAX_PARALLEL_HOSTS, true);
  if (flags.unsubscribed.length) options.unsubscribed = parsePolicies(flags.unsubscribed);
  const changes: ContinueChanges = { options, ...(flags.cloud ? { cloudFile: flags.cloud } : {}) };
  return { id, changes, ...parseWait(flags) };
}

export async function runUpdate(options: UpdateOptions, deps: Deps): Promise<void> {
  const client = deps.client();
  // Only what happens from now on is followed: the events of the failed attempt are history.
  const after = options.wait ? await client.latestEventId() : 0;
  const doc = await client.continueSession(options.id, options.changes);
  if (!options.wait) {
    emit(deps.io, deps.format, doc, () => `session ${doc.session_id} continues in ${doc.state}`);
    return;
  }
  await followToEnd(doc.session_id, deps, { timeoutMs: options.timeoutMs, after });
}
