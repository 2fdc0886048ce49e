// maintctl release: the noun only assembles its verbs.
import type { Command } from 'commander';
import type { Deps } from '../deps.js';
import * as add from './add.js';
import * as del from './delete.js';
import * as list from './list.js';
import * as show from './show.js';

export function register(program: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  const release = program.command('release').description('releases clusters are updated to: versions, the versions they update from, repositories');
  for (const verb of [add, list, show, del]) verb.register(release, run);
}
