// The wire form of application constraints (later Fenix's field names): request bodies checked
// and turned into rows, rows into documents. Shared by the API and the embedded client, so both
// refuse and answer alike.
import type { GroupConstraint, InstanceConstraint } from './constraints.js';
import { InvalidInputError } from './errors.js';
import { groupConstraintSchema, instanceConstraintSchema } from './schemas.js';
import { parseWith } from './validate.js';

export type GroupDocument = ReturnType<typeof groupDocument>;
export type InstanceDocument = ReturnType<typeof instanceDocument>;

/** A project's constraints (`project constraints -o json`). */
export interface ConstraintsDocument {
  instance_groups: GroupDocument[];
  instances: InstanceDocument[];
}

/** The wire document of a group (Fenix's field names). */
export const groupDocument = (g: GroupConstraint) => ({
  group_id: g.groupId,
  project_id: g.projectId,
  group_name: g.groupName,
  anti_affinity_group: g.antiAffinityGroup,
  max_instances_per_host: g.maxInstancesPerHost,
  max_impacted_members: g.maxImpactedMembers,
  recovery_time: g.recoveryTime,
  resource_mitigation: g.resourceMitigation,
});

export const instanceDocument = (i: InstanceConstraint) => ({
  instance_id: i.instanceId,
  project_id: i.projectId,
  group_id: i.groupId,
  instance_name: i.instanceName,
  max_interruption_time: i.maxInterruptionTime,
  migration_type: i.migrationType,
  resource_mitigation: i.resourceMitigation,
  lead_time: i.leadTime,
});

/** A body's id must agree with the path's (Doctor's VNFM sends both). */
function samePathId(field: string, given: string | undefined, path: string): void {
  if (given !== undefined && given !== path) throw new InvalidInputError(`${field}: the body says ${JSON.stringify(given)} but the path names ${JSON.stringify(path)}`);
}

export function groupFromBody(groupId: string, body: unknown): GroupConstraint {
  const b = parseWith(groupConstraintSchema, body, 'instance group');
  samePathId('group_id', b.group_id, groupId);
  return {
    groupId,
    projectId: b.project_id,
    groupName: b.group_name,
    antiAffinityGroup: b.anti_affinity_group,
    maxInstancesPerHost: b.max_instances_per_host,
    maxImpactedMembers: b.max_impacted_members,
    recoveryTime: b.recovery_time,
    resourceMitigation: b.resource_mitigation,
  };
}

export function instanceFromBody(instanceId: string, body: unknown): InstanceConstraint {
  const b = parseWith(instanceConstraintSchema, body, 'instance constraints');
  samePathId('instance_id', b.instance_id, instanceId);
  return {
    instanceId,
    projectId: b.project_id,
    groupId: b.group_id,
    instanceName: b.instance_name,
    maxInterruptionTime: b.max_interruption_time,
    migrationType: b.migration_type,
    resourceMitigation: b.resource_mitigation,
    leadTime: b.lead_time,
  };
}
