// Later Fenix's constraint routes: PUT|GET|DELETE /v1/instance_group/{group_id} and
// /v1/instance/{instance_id}, plus lists of each. A project token reads and writes only its own
// project's constraints (the body's project_id, or the stored row's); admins all of them.
import type { GroupConstraint, InstanceConstraint } from '../domain/constraints.js';
import { NotFoundError } from '../domain/errors.js';
import { groupConstraintSchema, instanceConstraintSchema } from '../domain/schemas.js';
import { parseWith } from '../domain/validate.js';
import type { Engine } from '../engine/engine.js';
import { deleteGroup, deleteInstance, findGroup, findInstance, listConstraints, putGroup, putInstance } from '../store/constraints.js';
import { requireProject, type Principal } from './auth.js';
import { HttpError } from './http.js';

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
  if (given !== undefined && given !== path) throw new HttpError(400, `${field}: the body says ${JSON.stringify(given)} but the path names ${JSON.stringify(path)}`);
}

/** A project token may change a row only when it is its project's now and stays so. */
function mayWrite(principal: Principal, stored: { projectId: string } | null, projectId: string): void {
  if (stored) requireProject(principal, stored.projectId);
  requireProject(principal, projectId);
}

export function putGroupRoute(engine: Engine, principal: Principal, groupId: string, body: unknown) {
  const b = parseWith(groupConstraintSchema, body, 'instance group');
  samePathId('group_id', b.group_id, groupId);
  mayWrite(principal, findGroup(engine.store, groupId), b.project_id);
  const group: GroupConstraint = {
    groupId,
    projectId: b.project_id,
    groupName: b.group_name,
    antiAffinityGroup: b.anti_affinity_group,
    maxInstancesPerHost: b.max_instances_per_host,
    maxImpactedMembers: b.max_impacted_members,
    recoveryTime: b.recovery_time,
    resourceMitigation: b.resource_mitigation,
  };
  return groupDocument(putGroup(engine.store, group, engine.clock.now()));
}

export function putInstanceRoute(engine: Engine, principal: Principal, instanceId: string, body: unknown) {
  const b = parseWith(instanceConstraintSchema, body, 'instance constraints');
  samePathId('instance_id', b.instance_id, instanceId);
  mayWrite(principal, findInstance(engine.store, instanceId), b.project_id);
  const row: InstanceConstraint = {
    instanceId,
    projectId: b.project_id,
    groupId: b.group_id,
    instanceName: b.instance_name,
    maxInterruptionTime: b.max_interruption_time,
    migrationType: b.migration_type,
    resourceMitigation: b.resource_mitigation,
    leadTime: b.lead_time,
  };
  return instanceDocument(putInstance(engine.store, row, engine.clock.now()));
}

function owned<T extends { projectId: string }>(principal: Principal, row: T | null, what: string): T {
  if (!row) throw new NotFoundError(`no ${what}`);
  requireProject(principal, row.projectId);
  return row;
}

export const getGroupRoute = (engine: Engine, principal: Principal, groupId: string) =>
  groupDocument(owned(principal, findGroup(engine.store, groupId), `instance group ${groupId}`));

export const getInstanceRoute = (engine: Engine, principal: Principal, instanceId: string) =>
  instanceDocument(owned(principal, findInstance(engine.store, instanceId), `constraints for instance ${instanceId}`));

export function deleteGroupRoute(engine: Engine, principal: Principal, groupId: string) {
  const doc = getGroupRoute(engine, principal, groupId);
  deleteGroup(engine.store, groupId);
  return doc;
}

export function deleteInstanceRoute(engine: Engine, principal: Principal, instanceId: string) {
  const doc = getInstanceRoute(engine, principal, instanceId);
  deleteInstance(engine.store, instanceId);
  return doc;
}

/** The project a list is about: `?project_id=`, or a project token's own; admins without one see all. */
function listedProject(principal: Principal, query: URLSearchParams): string | undefined {
  const asked = query.get('project_id') ?? undefined;
  if (asked !== undefined) requireProject(principal, asked);
  return asked ?? (principal.role === 'project' ? principal.project : undefined);
}

export const listGroupsRoute = (engine: Engine, principal: Principal, query: URLSearchParams) => ({
  instance_groups: listConstraints(engine.store, listedProject(principal, query)).groups.map(groupDocument),
});

export const listInstancesRoute = (engine: Engine, principal: Principal, query: URLSearchParams) => ({
  instances: listConstraints(engine.store, listedProject(principal, query)).instances.map(instanceDocument),
});
