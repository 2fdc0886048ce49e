// maintctl cluster create: a cluster of hosts, all on one release.
import type { Command } from 'commander';
import type { Deps } from '../deps.js';
import { parseHosts } from '../flags.js';
import { emit } from '../render/output.js';
import { clusterView } from '../render/releases.js';

interface CreateFlags {
  release: string;
  hosts: string;
  cloud?: string;
}

export function register(cluster: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  cluster
    .command('create')
    .description('create a cluster')
    .argument('<name>', 'cluster name')
    .requiredOption('--release <name>', 'the release its hosts run now')
    .requiredOption('--hosts <a,b,...>', 'its hosts')
    .option('--cloud <openstack[:name]|file>', 'the cloud its sessions run on unless session create names one')
    .action((name: string, flags: CreateFlags) => run((deps) => runCreate(parseCreateFlags(name, flags), deps)));
}

export function parseCreateFlags(name: string, flags: CreateFlags): Record<string, unknown> {
  return { name, release: flags.release, hosts: parseHosts(flags.hosts), cloud: flags.cloud ?? null };
}

export async function runCreate(body: Record<string, unknown>, deps: Deps): Promise<void> {
  const created = await deps.client().createCluster(body);
  emit(deps.io, deps.format, created, () => `created cluster ${created.name}\n\n${clusterView(deps.io, created)}`);
}
