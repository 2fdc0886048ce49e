// maintctl release add: a release with its version and the versions it can be updated from.
import type { Command } from 'commander';
import type { Deps } from '../deps.js';
import { UsageError } from '../exit-codes.js';
import { collect, parseMetadata } from '../flags.js';
import { emit } from '../render/output.js';
import { releaseView } from '../render/releases.js';

interface AddFlags {
  version: string;
  canUpdateFrom?: string;
  compatibleWith?: string;
  repoSource?: string;
  metadata: string[];
}

export function register(release: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  release
    .command('add')
    .description('add a release')
    .argument('<name>', 'release name')
    .requiredOption('--version <v>', 'its version, e.g. 2.0')
    .option('--can-update-from <v1,v2,...>', 'versions a cluster can be updated from to this release')
    .option('--compatible-with <range>', 'maintctl versions it works with, e.g. ">=0.1 <2"')
    .option('--repo-source <url>', 'where its packages are (plug-ins get it as MAINTCTL_REPO_SOURCE)')
    .option('--metadata <key=value>', 'what it brings, for projects and plug-ins (repeatable)', collect, [])
    .action((name: string, flags: AddFlags) => run((deps) => runAdd(parseAddFlags(name, flags), deps)));
}

export function parseAddFlags(name: string, flags: AddFlags): Record<string, unknown> {
  const from = flags.canUpdateFrom === undefined ? [] : flags.canUpdateFrom.split(',').map((v) => v.trim());
  if (from.some((v) => !v)) throw new UsageError(`invalid --can-update-from "${flags.canUpdateFrom}": give versions separated by commas, e.g. 1.0,1.1`);
  return {
    name,
    version: flags.version,
    can_update_from: from,
    compatible_with: flags.compatibleWith ?? null,
    repo_source: flags.repoSource ?? null,
    metadata: parseMetadata(flags.metadata),
  };
}

export async function runAdd(body: Record<string, unknown>, deps: Deps): Promise<void> {
  const added = await deps.client().addRelease(body);
  emit(deps.io, deps.format, added, () => `added release ${added.name}\n\n${releaseView(deps.io, added)}`);
}
