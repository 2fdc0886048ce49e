// maintctl store: the noun only assembles its verbs.
import type { Command } from 'commander';
import type { Run } from '../main.js';
import * as copy from './copy.js';

export function register(program: Command, run: Run): void {
  const store = program.command('store').description('move sessions and their history between a state directory and a shared PostgreSQL');
  copy.register(store, run);
}
