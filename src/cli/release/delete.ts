// maintctl release delete: refused (exit 6) while a cluster runs the release or moves to it.
import type { Command } from 'commander';
import type { Deps } from '../deps.js';
import { emit } from '../render/output.js';

export function register(release: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  release
    .command('delete')
    .alias('rm')
    .description('delete a release no cluster uses')
    .argument('<name>', 'release name')
    .action((name: string) => run((deps) => runDelete(name, deps)));
}

export async function runDelete(name: string, deps: Deps): Promise<void> {
  const deleted = await deps.client().deleteRelease(name);
  emit(deps.io, deps.format, { name: deleted.name, deleted: true }, () => `deleted release ${deleted.name}`);
}
