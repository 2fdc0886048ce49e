// maintctl release show: one release with its metadata.
import type { Command } from 'commander';
import type { Deps } from '../deps.js';
import { emit } from '../render/output.js';
import { releaseView } from '../render/releases.js';

export function register(release: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  release
    .command('show')
    .description('show a release')
    .argument('<name>', 'release name')
    .action((name: string) => run((deps) => runShow(name, deps)));
}

export async function runShow(name: string, deps: Deps): Promise<void> {
  const release = await deps.client().showRelease(name);
  emit(deps.io, deps.format, release, () => releaseView(deps.io, release));
}
