// maintctl release list: every release, oldest first.
import type { Command } from 'commander';
import type { Deps } from '../deps.js';
import { emit } from '../render/output.js';
import { releaseTable } from '../render/releases.js';

export function register(release: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  release
    .command('list')
    .alias('ls')
    .description('list releases')
    .action(() => run((deps) => runList(deps)));
}

export async function runList(deps: Deps): Promise<void> {
  const releases = await deps.client().listReleases();
  emit(deps.io, deps.format, releases, () => releaseTable(deps.io, releases));
}
