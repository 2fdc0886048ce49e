// maintctl cluster show: a cluster's status, releases, latest operation and each host's release.
import type { Command } from 'commander';
import type { Deps } from '../deps.js';
import { emit } from '../render/output.js';
import { clusterView } from '../render/releases.js';

export function register(cluster: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  cluster
    .command('show')
    .description('show a cluster')
    .argument('<name>', 'cluster name')
    .action((name: string) => run((deps) => runShow(name, deps)));
}

export async function runShow(name: string, deps: Deps): Promise<void> {
  const cluster = await deps.client().showCluster(name);
  emit(deps.io, deps.format, cluster, () => clusterView(deps.io, cluster));
}
