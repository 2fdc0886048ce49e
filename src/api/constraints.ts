// Later Fenix's constraint routes: PUT|GET|DELETE /v1/instance_group/{group_id} and
// /v1/instance/{instance_id}, plus lists of each. A project token reads and writes only its own
// project's constraints (the body's project_id, or the stored row's); admins all of them.
import { groupDocument, groupFromBody, instanceDocument, instanceFromBody } from '../domain/constraint-documents.js';
import { NotFoundError } from '../domain/errors.js';
import type { Engine } from '../engine/engine.js';
import { requireProject, type Principal } from './auth.js';

/** A project token may change a row only when it is its project's now and stays so. */
function mayWrite(principal: Principal, stored: { projectId: string } | null, projectId: string): void {
  if (stored) requireProject(principal, stored.projectId);
  requireProject(principal, projectId);
}

export async function putGroupRoute(engine: Engine, principal: Principal, groupId: string, body: unknown) {
  const group = groupFromBody(groupId, body);
  mayWrite(principal, await engine.repo.instanceGroup(groupId), group.projectId);
  return groupDocument(await engine.repo.putInstanceGroup(group, engine.clock.now()));
}

export async function putInstanceRoute(engine: Engine, principal: Principal, instanceId: string, body: unknown) {
  const row = instanceFromBody(instanceId, body);
  mayWrite(principal, await engine.repo.instanceConstraint(instanceId), row.projectId);
  return instanceDocument(await engine.repo.putInstanceConstraint(row, engine.clock.now()));
}

function owned<T extends { projectId: string }>(principal: Principal, row: T | null, what: string): T {
  if (!row) throw new NotFoundError(`no ${what}`);
  requireProject(principal, row.projectId);
  return row;
}

export const getGroupRoute = async (engine: Engine, principal: Principal, groupId: string) =>
  groupDocument(owned(principal, await engine.repo.instanceGroup(groupId), `instance group ${groupId}`));

export const getInstanceRoute = async (engine: Engine, principal: Principal, instanceId: string) =>
  instanceDocument(owned(principal, await engine.repo.instanceConstraint(instanceId), `constraints for instance ${instanceId}`));

export async function deleteGroupRoute(engine: Engine, principal: Principal, groupId: string) {
  const doc = await getGroupRoute(engine, principal, groupId);
  await engine.repo.deleteInstanceGroup(groupId);
  return doc;
}

export async function deleteInstanceRoute(engine: Engine, principal: Principal, instanceId: string) {
  const doc = await getInstanceRoute(engine, principal, instanceId);
  await engine.repo.deleteInstanceConstraint(instanceId);
  return doc;
}

/** The project a list is about: `?project_id=`, or a project token's own; admins without one see all. */
function listedProject(principal: Principal, query: URLSearchParams): string | undefined {
  const asked = query.get('project_id') ?? undefined;
  if (asked !== undefined) requireProject(principal, asked);
  return asked ?? (principal.role === 'project' ? principal.project : undefined);
}

export const listGroupsRoute = async (engine: Engine, principal: Principal, query: URLSearchParams) => ({
  instance_groups: (await engine.repo.listConstraints(listedProject(principal, query))).groups.map(groupDocument),
});

export const listInstancesRoute = async (engine: Engine, principal: Principal, query: URLSearchParams) => ({
  instances: (await engine.repo.listConstraints(listedProject(principal, query))).instances.map(instanceDocument),
});
