// maintctl session: the noun only assembles its verbs.
import type { Command } from 'commander';
import type { Deps } from '../deps.js';
import * as create from './create.js';
import * as del from './delete.js';
import * as events from './events.js';
import * as list from './list.js';
import * as logs from './logs.js';
import * as rollback from './rollback.js';
import * as show from './show.js';
import * as update from './update.js';

export function register(program: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  const session = program.command('session').description('create, follow and manage maintenance sessions');
  for (const verb of [create, list, show, events, del, update, logs, rollback]) verb.register(session, run);
}
