// maintctl cluster list: every cluster with its status and releases.
import type { Command } from 'commander';
import type { Deps } from '../deps.js';
import { emit } from '../render/output.js';
import { clusterTable } from '../render/releases.js';

export function register(cluster: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  cluster
    .command('list')
    .alias('ls')
    .description('list clusters')
    .action(() => run((deps) => runList(deps)));
}

export async function runList(deps: Deps): Promise<void> {
  const clusters = await deps.client().listClusters();
  emit(deps.io, deps.format, clusters, () => clusterTable(deps.io, clusters));
}
