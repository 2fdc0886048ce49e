// maintctl project constrain-group: declares (or changes) one of a project's instance groups, and
// optionally which instances belong to it. Flags not given keep the group's current values.
import type { Command } from 'commander';
import type { GroupDocument } from '../../domain/constraint-documents.js';
import { MAX_REPLY_SECONDS } from '../../domain/limits.js';
import type { Deps } from '../deps.js';
import { UsageError } from '../exit-codes.js';
import { parseDurationSeconds, parseWhole } from '../flags.js';
import type { Run } from '../main.js';
import { knownConstraints } from './constraints.js';
import { emit } from '../render/output.js';

interface GroupFlags {
  name?: string;
  maxImpacted?: string;
  recoveryTime?: string;
  antiAffinity?: boolean;
  maxPerHost?: string;
  resourceMitigation?: boolean;
  instances?: string;
}

export interface ConstrainGroupOptions {
  projectId: string;
  groupId: string;
  /** The fields given (Fenix's names); the others keep their values. */
  fields: Record<string, unknown>;
  /** Instances made members of the group. */
  instances: string[];
}

const MAX_MEMBERS = 100_000;

export function register(project: Command, run: Run): void {
  project
    .command('constrain-group')
    .description('declare a group of instances and how much disruption it takes (later Fenix instance_group)')
    .argument('<project>', 'project id')
    .argument('<group>', 'group id')
    .option('--name <name>', 'group name')
    .option('--max-impacted <n>', 'at most this many members moved or recovering at once (0: none may be)')
    .option('--recovery-time <duration>', 'how long a member recovers after its move, e.g. 30s')
    .option('--anti-affinity', 'never two members on one host')
    .option('--max-per-host <n>', 'at most this many members on one host (0: no limit)')
    .option('--resource-mitigation', 'the group can run on fewer resources (kept, as Fenix does)')
    .option('--instances <ids>', 'make these instances (comma-separated ids) members of the group')
    .action((projectId: string, groupId: string, flags: GroupFlags) => run((deps) => runConstrainGroup(parseConstrainGroupFlags(projectId, groupId, flags), deps)));
}

export function parseConstrainGroupFlags(projectId: string, groupId: string, flags: GroupFlags): ConstrainGroupOptions {
  const fields: Record<string, unknown> = {};
  if (flags.name !== undefined) fields.group_name = flags.name;
  if (flags.maxImpacted !== undefined) fields.max_impacted_members = parseWhole(flags.maxImpacted, '--max-impacted', 'members', MAX_MEMBERS);
  if (flags.recoveryTime !== undefined) fields.recovery_time = parseDurationSeconds(flags.recoveryTime, '--recovery-time', MAX_REPLY_SECONDS);
  if (flags.antiAffinity) fields.anti_affinity_group = true;
  if (flags.maxPerHost !== undefined) fields.max_instances_per_host = parseWhole(flags.maxPerHost, '--max-per-host', 'members', MAX_MEMBERS);
  if (flags.resourceMitigation) fields.resource_mitigation = true;
  return { projectId, groupId, fields, instances: flags.instances === undefined ? [] : parseIds(flags.instances) };
}

function parseIds(text: string): string[] {
  const ids = text.split(',').map((id) => id.trim());
  if (ids.some((id) => !id)) throw new UsageError(`invalid --instances "${text}": give instance ids separated by commas, e.g. --instances vm-1,vm-2`);
  return ids;
}

export async function runConstrainGroup(options: ConstrainGroupOptions, deps: Deps): Promise<void> {
  const client = deps.client();
  const current = await knownConstraints(client, options.projectId);
  const before = current.instance_groups.find((g) => g.group_id === options.groupId);
  const group = await client.putGroupConstraint(options.groupId, { ...before, ...options.fields, group_id: options.groupId, project_id: options.projectId });
  for (const id of options.instances) {
    const known = current.instances.find((i) => i.instance_id === id);
    await client.putInstanceConstraint(id, { ...known, instance_id: id, project_id: options.projectId, group_id: options.groupId });
  }
  const doc = { ...group, members: options.instances };
  emit(deps.io, deps.format, doc, () => groupLine(group, options.instances));
}

function groupLine(g: GroupDocument, members: string[]): string {
  const limits = [`max impacted ${g.max_impacted_members}`, `recovery ${g.recovery_time}s`, g.anti_affinity_group ? 'anti-affinity' : null, g.max_instances_per_host ? `at most ${g.max_instances_per_host} per host` : null];
  const joined = members.length ? `; members ${members.join(', ')}` : '';
  return `instance group ${g.group_id} of ${g.project_id}: ${limits.filter(Boolean).join(', ')}${joined}`;
}
