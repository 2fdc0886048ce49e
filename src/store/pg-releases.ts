// Releases, clusters, their operations, notifications and application constraints on PostgreSQL:
// the same rows and rules as the embedded store's (releases.ts, constraints.ts), as async queries
// run inside the repository's transactions. What a session's progress changes is decided by
// domain/releases.ts, as there.
import type { ConstraintRows, GroupConstraint, InstanceConstraint } from '../domain/constraints.js';
import type { Host, Session, SessionEvent } from '../domain/model.js';
import { RefusedError } from '../domain/errors.js';
import {
  checkDeletable,
  checkStartable,
  deletedSession,
  releaseProgress,
  startedCluster,
  startNotice,
  type Cluster,
  type ClusterOperation,
  type ClusterStatus,
  type NewNotification,
  type Release,
} from '../domain/releases.js';
import { groupValues, instanceValues, toGroup, toInstanceConstraint, UPSERT_GROUP, UPSERT_INSTANCE } from './constraints.js';
import { appendEvent, numbered, type Db } from './pg-db.js';
import {
  clusterExists,
  hostsTaken,
  noCluster,
  noRelease,
  NOTIFICATION_EVENT,
  notificationPayload,
  releaseExists,
  toClusterOperation,
  toNotification,
  toRelease,
  type NotificationFilter,
} from './releases.js';
import { json, text } from './rows.js';

// ---- releases

export async function findRelease(db: Db, name: string): Promise<Release | null> {
  const { rows } = await db.query('SELECT * FROM releases WHERE name = $1', [name]);
  return rows[0] ? toRelease(rows[0]) : null;
}

export async function listReleases(db: Db): Promise<Release[]> {
  return (await db.query('SELECT * FROM releases ORDER BY created_at, name')).rows.map(toRelease);
}

export async function insertRelease(db: Db, r: Release): Promise<void> {
  if (await findRelease(db, r.name)) throw releaseExists(r.name);
  await db.query(
    'INSERT INTO releases (name, version, can_update_from, compatible_with, repo_source, metadata, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [r.name, r.version, json(r.canUpdateFrom), r.compatibleWith, r.repoSource, json(r.metadata), r.createdAt],
  );
}

export async function removeRelease(db: Db, name: string): Promise<Release> {
  const release = await findRelease(db, name);
  if (!release) throw noRelease(name);
  checkDeletable(name, await listClusters(db));
  await db.query('DELETE FROM releases WHERE name = $1', [name]);
  return release;
}

// ---- clusters

export async function findCluster(db: Db, name: string): Promise<Cluster | null> {
  const { rows } = await db.query('SELECT * FROM clusters WHERE name = $1', [name]);
  const row = rows[0];
  if (!row) return null;
  const hosts = await db.query('SELECT host, release FROM cluster_hosts WHERE cluster = $1 ORDER BY host', [name]);
  return {
    name: String(row.name),
    cloud: text(row.cloud),
    currentRelease: String(row.current_release),
    pendingRelease: text(row.pending_release),
    status: row.status as ClusterStatus,
    sessionId: text(row.session_id),
    hosts: hosts.rows.map((h) => ({ host: String(h.host), release: String(h.release) })),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

async function getCluster(db: Db, name: string): Promise<Cluster> {
  const c = await findCluster(db, name);
  if (!c) throw noCluster(name);
  return c;
}

export async function listClusters(db: Db): Promise<Cluster[]> {
  const { rows } = await db.query('SELECT name FROM clusters ORDER BY created_at, name');
  const clusters: Cluster[] = [];
  for (const r of rows) clusters.push((await findCluster(db, String(r.name)))!);
  return clusters;
}

/** Records a new cluster: its release must exist, its name be new and each host in no other cluster. */
export async function createCluster(db: Db, c: Cluster): Promise<void> {
  if (!(await findRelease(db, c.currentRelease))) throw noRelease(c.currentRelease);
  const { rows } = await db.query('SELECT host, cluster FROM cluster_hosts WHERE host = ANY($1::text[]) ORDER BY cluster', [c.hosts.map((h) => h.host)]);
  // In the order the hosts were given, as the embedded store names them.
  const taken = c.hosts.flatMap(({ host }) => rows.filter((r) => r.host === host).map((r) => ({ host, cluster: String(r.cluster) })));
  if (taken.length) throw hostsTaken(taken);
  if (await findCluster(db, c.name)) throw clusterExists(c.name);
  await db.query(
    'INSERT INTO clusters (name, cloud, current_release, pending_release, status, session_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [c.name, c.cloud, c.currentRelease, c.pendingRelease, c.status, c.sessionId, c.createdAt, c.updatedAt],
  );
  await writeHostReleases(db, c.name, c.hosts, c.createdAt);
}

export async function writeCluster(db: Db, c: Cluster): Promise<void> {
  await db.query('UPDATE clusters SET current_release = $1, pending_release = $2, status = $3, session_id = $4, updated_at = $5 WHERE name = $6', [
    c.currentRelease, c.pendingRelease, c.status, c.sessionId, c.updatedAt, c.name,
  ]);
}

async function writeHostReleases(db: Db, cluster: string, hosts: ReadonlyArray<{ host: string; release: string }>, now: number): Promise<void> {
  for (const h of hosts) {
    await db.query(
      `INSERT INTO cluster_hosts (cluster, host, release, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (cluster, host) DO UPDATE SET release = excluded.release, updated_at = excluded.updated_at`,
      [cluster, h.host, h.release, now],
    );
  }
}

// ---- operations

export async function findOperation(db: Db, sessionId: string): Promise<ClusterOperation | null> {
  const { rows } = await db.query('SELECT * FROM cluster_operations WHERE session_id = $1', [sessionId]);
  return rows[0] ? toClusterOperation(rows[0]) : null;
}

export async function pendingAutoRollbacks(db: Db): Promise<string[]> {
  const { rows } = await db.query(
    `SELECT o.session_id FROM cluster_operations o JOIN sessions s ON s.id = o.session_id
     WHERE o.auto_rollback = 1 AND o.rollback_session IS NULL AND s.state = 'MAINTENANCE_FAILED' ORDER BY o.created_at`,
  );
  return rows.map((r) => String(r.session_id));
}

async function insertOperation(db: Db, op: ClusterOperation): Promise<void> {
  await db.query(
    `INSERT INTO cluster_operations (session_id, cluster, kind, from_release, to_release, rollback_of, rollback_session, auto_rollback, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [op.sessionId, op.cluster, op.kind, op.from, op.to, op.rollbackOf, op.rollbackSession, op.autoRollback ? 1 : 0, op.createdAt],
  );
  if (op.rollbackOf) await db.query('UPDATE cluster_operations SET rollback_session = $1 WHERE session_id = $2', [op.sessionId, op.rollbackOf]);
}

// ---- notifications

export async function addNotification(db: Db, n: NewNotification, now: number): Promise<SessionEvent> {
  const { rows } = await db.query('INSERT INTO notifications (topic, message, cluster, host, session_id, time) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id', [
    n.topic, n.message, n.cluster, n.host, n.sessionId, now,
  ]);
  const payload = notificationPayload({ ...n, id: Number(rows[0]!.id), time: now });
  return appendEvent(db, n.sessionId, now, { eventType: NOTIFICATION_EVENT, payload });
}

export async function listNotifications(db: Db, filter: NotificationFilter = {}) {
  const { rows } = await db.query(
    'SELECT * FROM notifications WHERE id > $1 AND ($2::text IS NULL OR cluster = $2) AND ($3::text IS NULL OR topic = $3) ORDER BY id',
    [filter.afterId ?? 0, filter.cluster ?? null, filter.topic ?? null],
  );
  return rows.map(toNotification);
}

// ---- in a session's transaction (as releases.ts: startOperation, recordProgress, recordDeletion)

export async function startOperation(db: Db, op: ClusterOperation, hosts: readonly string[], now: number): Promise<SessionEvent[]> {
  const cluster = await getCluster(db, op.cluster);
  if (op.kind === 'rollback') {
    const undone = op.rollbackOf ? await findOperation(db, op.rollbackOf) : null;
    if (!undone || undone.rollbackSession) throw new RefusedError(`session ${op.rollbackOf} was rolled back already, by session ${undone?.rollbackSession}`);
  } else {
    checkStartable(cluster);
  }
  await insertOperation(db, op);
  await writeCluster(db, startedCluster(cluster, op, now));
  if (op.rollbackOf) await db.query('DELETE FROM host_claims WHERE session_id = $1', [op.rollbackOf]);
  return [await addNotification(db, startNotice(op, hosts), now)];
}

export async function recordProgress(db: Db, sessionId: string, changes: { session?: Session; hosts?: readonly Host[] }, now: number): Promise<SessionEvent[]> {
  if (!changes.session && !changes.hosts?.some((h) => h.state === 'MAINTAINED')) return [];
  const op = await findOperation(db, sessionId);
  const cluster = op ? await findCluster(db, op.cluster) : null;
  if (!op || !cluster) return [];
  const progress = releaseProgress(op, cluster, changes, now);
  await writeHostReleases(db, op.cluster, progress.hosts, now);
  if (progress.cluster) await writeCluster(db, progress.cluster);
  const notices: SessionEvent[] = [];
  for (const n of progress.notifications) notices.push(await addNotification(db, n, now));
  return notices;
}

export async function recordDeletion(db: Db, sessionId: string, now: number): Promise<SessionEvent[]> {
  const op = await findOperation(db, sessionId);
  const cluster = op ? await findCluster(db, op.cluster) : null;
  const settled = op && cluster ? deletedSession(op, cluster, now) : null;
  if (!settled) return [];
  await writeCluster(db, settled.cluster);
  return [await addNotification(db, settled.notice, now)];
}

// ---- application constraints

export async function putGroup(db: Db, g: GroupConstraint, now: number): Promise<GroupConstraint> {
  await db.query(numbered(UPSERT_GROUP), groupValues(g, now));
  return g;
}

export async function putInstance(db: Db, i: InstanceConstraint, now: number): Promise<InstanceConstraint> {
  await db.query(numbered(UPSERT_INSTANCE), instanceValues(i, now));
  return i;
}

export async function findGroup(db: Db, groupId: string): Promise<GroupConstraint | null> {
  const { rows } = await db.query('SELECT * FROM instance_groups WHERE group_id = $1', [groupId]);
  return rows[0] ? toGroup(rows[0]) : null;
}

export async function findInstance(db: Db, instanceId: string): Promise<InstanceConstraint | null> {
  const { rows } = await db.query('SELECT * FROM instance_constraints WHERE instance_id = $1', [instanceId]);
  return rows[0] ? toInstanceConstraint(rows[0]) : null;
}

export async function deleteGroup(db: Db, groupId: string): Promise<boolean> {
  return ((await db.query('DELETE FROM instance_groups WHERE group_id = $1', [groupId])).rowCount ?? 0) > 0;
}

export async function deleteInstance(db: Db, instanceId: string): Promise<boolean> {
  return ((await db.query('DELETE FROM instance_constraints WHERE instance_id = $1', [instanceId])).rowCount ?? 0) > 0;
}

/** Every project's constraints, or one project's (ordered as the embedded store's). */
export async function listConstraints(db: Db, projectId?: string): Promise<ConstraintRows> {
  const where = projectId === undefined ? '' : ' WHERE project_id = $1';
  const args = projectId === undefined ? [] : [projectId];
  // One after the other: db may be one transaction's connection, which runs one query at a time.
  const groups = await db.query(`SELECT * FROM instance_groups${where} ORDER BY project_id, group_id`, args);
  const instances = await db.query(`SELECT * FROM instance_constraints${where} ORDER BY project_id, instance_id`, args);
  return { groups: groups.rows.map(toGroup), instances: instances.rows.map(toInstanceConstraint) };
}

export async function constraintsOf(db: Db, projectIds: readonly string[]): Promise<ConstraintRows> {
  const ids = [...projectIds];
  const groups = await db.query('SELECT * FROM instance_groups WHERE project_id = ANY($1::text[]) ORDER BY group_id', [ids]);
  const instances = await db.query('SELECT * FROM instance_constraints WHERE project_id = ANY($1::text[]) ORDER BY instance_id', [ids]);
  return { groups: groups.rows.map(toGroup), instances: instances.rows.map(toInstanceConstraint) };
}
