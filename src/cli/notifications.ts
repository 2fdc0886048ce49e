// maintctl notifications: Nailgun-shaped notices (topic discover, done, error, warning) about
// clusters, hosts and sessions, oldest first. With --follow, new ones as they come: until the
// cluster's operation ends with --cluster, else until interrupted.
import type { Command } from 'commander';
import { NOTIFICATION_TOPICS } from '../domain/releases.js';
import type { NotificationDocument } from '../engine/release-view.js';
import type { Deps } from './deps.js';
import { UsageError } from './exit-codes.js';
import { emit } from './render/output.js';
import { notificationLines } from './render/releases.js';

export interface NotificationsOptions {
  cluster?: string;
  topic?: string;
  follow: boolean;
}

const POLL_MS = 250;
/** Cluster statuses with an operation under way: a followed cluster's notices go on. */
const RUNNING = new Set(['update', 'downgrade', 'rollback']);

export function register(program: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  program
    .command('notifications')
    .description('notifications about clusters, hosts and sessions (topic discover, done, error or warning)')
    .option('--cluster <name>', "only this cluster's")
    .option('--topic <topic>', `only this topic: ${NOTIFICATION_TOPICS.join(', ')}`)
    .option('--follow', "go on printing new ones: with --cluster until the cluster's operation ends, else until interrupted")
    .action((flags: { cluster?: string; topic?: string; follow?: boolean }) => run((deps) => runNotifications(parseNotificationsFlags(flags), deps)));
}

export function parseNotificationsFlags(flags: { cluster?: string; topic?: string; follow?: boolean }): NotificationsOptions {
  if (flags.topic !== undefined && !(NOTIFICATION_TOPICS as readonly string[]).includes(flags.topic)) {
    throw new UsageError(`invalid --topic "${flags.topic}": use one of ${NOTIFICATION_TOPICS.join(', ')}`);
  }
  return { ...(flags.cluster ? { cluster: flags.cluster } : {}), ...(flags.topic ? { topic: flags.topic } : {}), follow: Boolean(flags.follow) };
}

export async function runNotifications(options: NotificationsOptions, deps: Deps): Promise<void> {
  const client = deps.client();
  const query = { ...(options.cluster ? { cluster: options.cluster } : {}), ...(options.topic ? { topic: options.topic } : {}) };
  const seen = await client.notifications(query);
  if (!options.follow) {
    emit(deps.io, deps.format, seen, () => notificationLines(deps.io, seen));
    return;
  }
  // Followed: a line (or a JSON object) per notification as it comes.
  const print = (notes: NotificationDocument[]) => {
    if (!notes.length) return;
    if (deps.format === 'json') for (const n of notes) deps.io.out.write(`${JSON.stringify(n)}\n`);
    else if (deps.format === 'yaml') emit(deps.io, 'yaml', notes, () => '');
    else deps.io.out.write(`${notificationLines(deps.io, notes, false)}\n`);
  };
  print(seen);
  let after = Number(seen.at(-1)?.id ?? 0);
  const going = async () => !options.cluster || RUNNING.has((await client.showCluster(options.cluster)).status);
  for (let more = await going(); ; ) {
    await new Promise<void>((resolve) => deps.clock.at(deps.clock.now() + POLL_MS, resolve));
    const notes = await client.notifications({ ...query, afterId: after });
    print(notes);
    after = Number(notes.at(-1)?.id ?? after);
    if (!more) return;
    more = await going();
  }
}
