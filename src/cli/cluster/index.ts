// maintctl cluster: the noun only assembles its verbs.
import type { Command } from 'commander';
import type { Deps } from '../deps.js';
import * as create from './create.js';
import * as list from './list.js';
import * as show from './show.js';

export function register(program: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  const cluster = program.command('cluster').description('clusters of hosts on a release: their status and the release each host runs');
  for (const verb of [create, list, show]) verb.register(cluster, run);
}
