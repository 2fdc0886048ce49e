// maintctl project unconstrain: removes instance groups and instance constraints of a project (a
// VNFM's DELETE /v1/instance_group/{id} and /v1/instance/{id}). Only the project's own are removed.
import type { Command } from 'commander';
import { NotFoundError } from '../../domain/errors.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../exit-codes.js';
import { collect } from '../flags.js';
import type { Run } from '../main.js';
import { emit } from '../render/output.js';

export interface UnconstrainOptions {
  projectId: string;
  groups: string[];
  instances: string[];
}

export function register(project: Command, run: Run): void {
  project
    .command('unconstrain')
    .description("remove a project's instance groups (--group) and instance constraints (--instance)")
    .argument('<project>', 'project id')
    .option('--group <id>', 'an instance group to remove (repeatable)', collect, [])
    .option('--instance <id>', "an instance's constraints to remove (repeatable)", collect, [])
    .action((projectId: string, flags: { group: string[]; instance: string[] }) =>
      run((deps) => runUnconstrain(parseUnconstrainFlags(projectId, flags), deps)),
    );
}

export function parseUnconstrainFlags(projectId: string, flags: { group: string[]; instance: string[] }): UnconstrainOptions {
  if (!flags.group.length && !flags.instance.length) throw new UsageError('name what to remove: --group ID or --instance ID (repeatable)');
  return { projectId, groups: flags.group, instances: flags.instance };
}

/** Checks all are the project's before removing any, so a mistake removes nothing. */
export async function runUnconstrain(options: UnconstrainOptions, deps: Deps): Promise<void> {
  const client = deps.client();
  const current = await client.constraints(options.projectId);
  const missingGroup = options.groups.find((g) => !current.instance_groups.some((x) => x.group_id === g));
  if (missingGroup) throw new NotFoundError(`project ${options.projectId} has no instance group ${missingGroup}`);
  const missingInstance = options.instances.find((i) => !current.instances.some((x) => x.instance_id === i));
  if (missingInstance) throw new NotFoundError(`project ${options.projectId} has no constraints for instance ${missingInstance}`);
  for (const id of options.instances) await client.removeInstanceConstraint(id);
  for (const id of options.groups) await client.removeGroupConstraint(id);
  const doc = { project_id: options.projectId, removed_groups: options.groups, removed_instances: options.instances };
  emit(deps.io, deps.format, doc, () => `removed from ${options.projectId}: ${[...options.groups.map((g) => `group ${g}`), ...options.instances.map((i) => `instance ${i}`)].join(', ')}`);
}
