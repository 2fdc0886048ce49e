// Application constraints (instance groups, instance constraints) in the store. They belong to
// projects, not to sessions: a VNFM declares them once and every session reads them.
import type { ConstraintRows, GroupConstraint, InstanceConstraint } from '../domain/constraints.js';
import type { InstanceAction } from '../domain/states.js';
import type { Store } from './store.js';
import { readStoreAt } from './subscriptions.js';

type Row = Record<string, unknown>;

export const toGroup = (r: Row): GroupConstraint => ({
  groupId: String(r.group_id),
  projectId: String(r.project_id),
  groupName: String(r.group_name),
  antiAffinityGroup: Boolean(r.anti_affinity_group),
  maxInstancesPerHost: Number(r.max_instances_per_host),
  maxImpactedMembers: Number(r.max_impacted_members),
  recoveryTime: Number(r.recovery_time),
  resourceMitigation: Boolean(r.resource_mitigation),
});

export const toInstanceConstraint = (r: Row): InstanceConstraint => ({
  instanceId: String(r.instance_id),
  projectId: String(r.project_id),
  groupId: (r.group_id as string | null) ?? null,
  instanceName: String(r.instance_name),
  maxInterruptionTime: r.max_interruption_time === null ? null : Number(r.max_interruption_time),
  migrationType: (r.migration_type as InstanceAction | null) ?? null,
  resourceMitigation: Boolean(r.resource_mitigation),
  leadTime: Number(r.lead_time),
});

/** The upsert of a group, with `?` placeholders: SQLite runs it as it is, PostgreSQL numbered (pg-db.ts). */
export const UPSERT_GROUP = `INSERT INTO instance_groups (group_id, project_id, group_name, anti_affinity_group, max_instances_per_host, max_impacted_members, recovery_time, resource_mitigation, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (group_id) DO UPDATE SET project_id = excluded.project_id, group_name = excluded.group_name,
         anti_affinity_group = excluded.anti_affinity_group, max_instances_per_host = excluded.max_instances_per_host,
         max_impacted_members = excluded.max_impacted_members, recovery_time = excluded.recovery_time,
         resource_mitigation = excluded.resource_mitigation, updated_at = excluded.updated_at`;
export const groupValues = (g: GroupConstraint, now: number) => [g.groupId, g.projectId, g.groupName, Number(g.antiAffinityGroup), g.maxInstancesPerHost, g.maxImpactedMembers, g.recoveryTime, Number(g.resourceMitigation), now];

/** The upsert of an instance's constraints, as UPSERT_GROUP. */
export const UPSERT_INSTANCE = `INSERT INTO instance_constraints (instance_id, project_id, group_id, instance_name, max_interruption_time, migration_type, resource_mitigation, lead_time, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (instance_id) DO UPDATE SET project_id = excluded.project_id, group_id = excluded.group_id,
         instance_name = excluded.instance_name, max_interruption_time = excluded.max_interruption_time,
         migration_type = excluded.migration_type, resource_mitigation = excluded.resource_mitigation,
         lead_time = excluded.lead_time, updated_at = excluded.updated_at`;
export const instanceValues = (i: InstanceConstraint, now: number) => [i.instanceId, i.projectId, i.groupId, i.instanceName, i.maxInterruptionTime, i.migrationType, Number(i.resourceMitigation), i.leadTime, now];

export function putGroup(store: Store, g: GroupConstraint, now: number): GroupConstraint {
  store.statement(UPSERT_GROUP).run(...groupValues(g, now));
  return g;
}

export function putInstance(store: Store, i: InstanceConstraint, now: number): InstanceConstraint {
  store.statement(UPSERT_INSTANCE).run(...instanceValues(i, now));
  return i;
}

export function findGroup(store: Store, groupId: string): GroupConstraint | null {
  const row = store.statement('SELECT * FROM instance_groups WHERE group_id = ?').get(groupId) as Row | undefined;
  return row ? toGroup(row) : null;
}

export function findInstance(store: Store, instanceId: string): InstanceConstraint | null {
  const row = store.statement('SELECT * FROM instance_constraints WHERE instance_id = ?').get(instanceId) as Row | undefined;
  return row ? toInstanceConstraint(row) : null;
}

/** Deletes the group; its instances' constraints stay (they name a group that no longer limits them). */
export function deleteGroup(store: Store, groupId: string): boolean {
  return store.statement('DELETE FROM instance_groups WHERE group_id = ?').run(groupId).changes > 0;
}

export function deleteInstance(store: Store, instanceId: string): boolean {
  return store.statement('DELETE FROM instance_constraints WHERE instance_id = ?').run(instanceId).changes > 0;
}

/** Every project's constraints, or one project's. */
export function listConstraints(store: Store, projectId?: string): ConstraintRows {
  const where = projectId === undefined ? '' : ' WHERE project_id = ?';
  const args = projectId === undefined ? [] : [projectId];
  return {
    groups: (store.statement(`SELECT * FROM instance_groups${where} ORDER BY project_id, group_id`).all(...args) as Row[]).map(toGroup),
    instances: (store.statement(`SELECT * FROM instance_constraints${where} ORDER BY project_id, instance_id`).all(...args) as Row[]).map(toInstanceConstraint),
  };
}

/** The constraints of these projects (a session's), in one read. */
export function constraintsOf(store: Store, projectIds: readonly string[]): ConstraintRows {
  const ids = JSON.stringify([...projectIds]);
  const inProjects = 'WHERE project_id IN (SELECT value FROM json_each(?))';
  return {
    groups: (store.statement(`SELECT * FROM instance_groups ${inProjects} ORDER BY group_id`).all(ids) as Row[]).map(toGroup),
    instances: (store.statement(`SELECT * FROM instance_constraints ${inProjects} ORDER BY instance_id`).all(ids) as Row[]).map(toInstanceConstraint),
  };
}

/** Every constraint in the store at `path`, read without writing there (for a rehearsal). */
export function constraintsIn(path: string): ConstraintRows {
  return readStoreAt<ConstraintRows>(path, { groups: [], instances: [] }, (db) => ({
    groups: (db.prepare('SELECT * FROM instance_groups ORDER BY group_id').all() as Row[]).map(toGroup),
    instances: (db.prepare('SELECT * FROM instance_constraints ORDER BY instance_id').all() as Row[]).map(toInstanceConstraint),
  }));
}
