// maintctl project constrain-instance: one instance's constraints (later Fenix instance): its
// default action, how long it may be interrupted, the notice it needs. Flags not given keep their values.
import type { Command } from 'commander';
import type { InstanceDocument } from '../../domain/constraint-documents.js';
import { MAX_REPLY_SECONDS } from '../../domain/limits.js';
import { INSTANCE_ACTIONS } from '../../domain/states.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../exit-codes.js';
import { parseDurationSeconds } from '../flags.js';
import type { Run } from '../main.js';
import { knownConstraints } from './constraints.js';
import { emit } from '../render/output.js';

interface InstanceFlags {
  group?: string;
  name?: string;
  migrationType?: string;
  maxInterruption?: string;
  leadTime?: string;
  resourceMitigation?: boolean;
}

export interface ConstrainInstanceOptions {
  projectId: string;
  instanceId: string;
  fields: Record<string, unknown>;
}

export function register(project: Command, run: Run): void {
  project
    .command('constrain-instance')
    .description("declare an instance's constraints: default action, longest interruption, notice (later Fenix instance)")
    .argument('<project>', 'project id')
    .argument('<instance>', 'instance id')
    .option('--group <id>', 'the instance group it belongs to')
    .option('--name <name>', 'instance name')
    .option('--migration-type <action>', `its action when the project names none: ${INSTANCE_ACTIONS.join(', ')}`)
    .option('--max-interruption <duration>', 'longest interruption it takes: a live migration estimated longer is not used, e.g. 10s')
    .option('--lead-time <duration>', 'notice it needs before it is acted on (actions_at), e.g. 2m')
    .option('--resource-mitigation', 'it can run on fewer resources (kept, as Fenix does)')
    .action((projectId: string, instanceId: string, flags: InstanceFlags) =>
      run((deps) => runConstrainInstance(parseConstrainInstanceFlags(projectId, instanceId, flags), deps)),
    );
}

export function parseConstrainInstanceFlags(projectId: string, instanceId: string, flags: InstanceFlags): ConstrainInstanceOptions {
  const fields: Record<string, unknown> = {};
  if (flags.group !== undefined) fields.group_id = flags.group;
  if (flags.name !== undefined) fields.instance_name = flags.name;
  if (flags.migrationType !== undefined) {
    const action = flags.migrationType.toUpperCase();
    if (!(INSTANCE_ACTIONS as readonly string[]).includes(action)) throw new UsageError(`invalid --migration-type "${flags.migrationType}": use ${INSTANCE_ACTIONS.join(', ')}`);
    fields.migration_type = action;
  }
  if (flags.maxInterruption !== undefined) fields.max_interruption_time = parseDurationSeconds(flags.maxInterruption, '--max-interruption', MAX_REPLY_SECONDS);
  if (flags.leadTime !== undefined) fields.lead_time = parseDurationSeconds(flags.leadTime, '--lead-time', MAX_REPLY_SECONDS);
  if (flags.resourceMitigation) fields.resource_mitigation = true;
  return { projectId, instanceId, fields };
}

export async function runConstrainInstance(options: ConstrainInstanceOptions, deps: Deps): Promise<void> {
  const client = deps.client();
  const before = (await knownConstraints(client, options.projectId)).instances.find((i) => i.instance_id === options.instanceId);
  const doc = await client.putInstanceConstraint(options.instanceId, { ...before, ...options.fields, instance_id: options.instanceId, project_id: options.projectId });
  emit(deps.io, deps.format, doc, () => instanceLine(doc));
}

function instanceLine(i: InstanceDocument): string {
  const parts = [
    i.group_id ? `group ${i.group_id}` : null,
    i.migration_type ? `migration ${i.migration_type}` : null,
    i.max_interruption_time !== null ? `max interruption ${i.max_interruption_time}s` : null,
    i.lead_time ? `lead time ${i.lead_time}s` : null,
  ].filter(Boolean);
  return `instance ${i.instance_id} of ${i.project_id}: ${parts.join(', ') || 'no limits'}`;
}
