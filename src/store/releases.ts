// Releases, clusters, their operations and Nailgun-shaped notifications on SQLite. What changes
// when a session progresses is decided by domain/releases.ts; it is written here, in the
// transaction of the session's own rows (called from the repository's writes).
import type { Host, Session, SessionEvent } from '../domain/model.js';
import { NotFoundError, RefusedError } from '../domain/errors.js';
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
  type Notification,
  type NotificationTopic,
  type Release,
} from '../domain/releases.js';
import type { Store } from './store.js';

type Row = Record<string, unknown>;
const json = (v: unknown) => JSON.stringify(v);
const parse = <T>(v: unknown): T => JSON.parse(String(v)) as T;
const text = (v: unknown) => (v === null || v === undefined ? null : String(v));

/** Event type of a notification in the event log and to webhooks. */
export const NOTIFICATION_EVENT = 'maintctl.notification';

export const toRelease = (r: Row): Release => ({
  name: String(r.name),
  version: String(r.version),
  canUpdateFrom: parse(r.can_update_from),
  compatibleWith: text(r.compatible_with),
  repoSource: text(r.repo_source),
  metadata: parse(r.metadata),
  createdAt: Number(r.created_at),
});

export const toClusterOperation = (r: Row): ClusterOperation => ({
  sessionId: String(r.session_id),
  cluster: String(r.cluster),
  kind: r.kind as ClusterOperation['kind'],
  from: String(r.from_release),
  to: String(r.to_release),
  rollbackOf: text(r.rollback_of),
  rollbackSession: text(r.rollback_session),
  autoRollback: Number(r.auto_rollback) === 1,
  createdAt: Number(r.created_at),
});

export const toNotification = (r: Row): Notification => ({
  id: Number(r.id),
  topic: r.topic as NotificationTopic,
  message: String(r.message),
  cluster: text(r.cluster),
  host: text(r.host),
  sessionId: text(r.session_id),
  time: Number(r.time),
});

// ---- what either store refuses, in the same words

export const releaseExists = (name: string) => new RefusedError(`release ${name} exists already: delete it first, or give another name`);
export const noRelease = (name: string) => new NotFoundError(`no release ${name}: release list shows those there are`);
export const clusterExists = (name: string) => new RefusedError(`cluster ${name} exists already: give another name`);
export const noCluster = (name: string) => new NotFoundError(`no cluster ${name}: cluster list shows those there are`);
export const hostsTaken = (taken: ReadonlyArray<{ host: string; cluster: string }>) =>
  new RefusedError(`hosts already in a cluster: ${taken.map((t) => `${t.host} (${t.cluster})`).join(', ')}: a host belongs to one cluster`);

// ---- releases

export function insertRelease(store: Store, r: Release): void {
  if (findRelease(store, r.name)) throw releaseExists(r.name);
  store
    .statement('INSERT INTO releases (name, version, can_update_from, compatible_with, repo_source, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(r.name, r.version, json(r.canUpdateFrom), r.compatibleWith, r.repoSource, json(r.metadata), r.createdAt);
}

export function findRelease(store: Store, name: string): Release | null {
  const row = store.statement('SELECT * FROM releases WHERE name = ?').get(name) as Row | undefined;
  return row ? toRelease(row) : null;
}

export function getRelease(store: Store, name: string): Release {
  const r = findRelease(store, name);
  if (!r) throw noRelease(name);
  return r;
}

export function listReleases(store: Store): Release[] {
  return (store.statement('SELECT * FROM releases ORDER BY created_at, name').all() as Row[]).map(toRelease);
}

export function deleteRelease(store: Store, name: string): void {
  store.statement('DELETE FROM releases WHERE name = ?').run(name);
}

/** Deletes a release no cluster runs or moves to, in one transaction; returns it. */
export function removeRelease(store: Store, name: string): Release {
  return store.tx(() => {
    const release = getRelease(store, name);
    checkDeletable(name, listClusters(store));
    deleteRelease(store, name);
    return release;
  });
}

// ---- clusters

export function insertCluster(store: Store, c: Cluster): void {
  if (findCluster(store, c.name)) throw clusterExists(c.name);
  store
    .statement('INSERT INTO clusters (name, cloud, current_release, pending_release, status, session_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    .run(c.name, c.cloud, c.currentRelease, c.pendingRelease, c.status, c.sessionId, c.createdAt, c.updatedAt);
  writeHostReleases(store, c.name, c.hosts, c.createdAt);
}

/** Writes the cluster's own row (its hosts are written by writeHostReleases). */
export function writeCluster(store: Store, c: Cluster): void {
  store
    .statement('UPDATE clusters SET current_release = ?, pending_release = ?, status = ?, session_id = ?, updated_at = ? WHERE name = ?')
    .run(c.currentRelease, c.pendingRelease, c.status, c.sessionId, c.updatedAt, c.name);
}

export function writeHostReleases(store: Store, cluster: string, hosts: ReadonlyArray<{ host: string; release: string }>, now: number): void {
  for (const h of hosts) {
    store.statement('INSERT OR REPLACE INTO cluster_hosts (cluster, host, release, updated_at) VALUES (?, ?, ?, ?)').run(cluster, h.host, h.release, now);
  }
}

export function findCluster(store: Store, name: string): Cluster | null {
  const row = store.statement('SELECT * FROM clusters WHERE name = ?').get(name) as Row | undefined;
  if (!row) return null;
  const hosts = (store.statement('SELECT host, release FROM cluster_hosts WHERE cluster = ? ORDER BY host').all(name) as Row[]).map((h) => ({
    host: String(h.host),
    release: String(h.release),
  }));
  return {
    name: String(row.name),
    cloud: text(row.cloud),
    currentRelease: String(row.current_release),
    pendingRelease: text(row.pending_release),
    status: row.status as ClusterStatus,
    sessionId: text(row.session_id),
    hosts,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function getCluster(store: Store, name: string): Cluster {
  const c = findCluster(store, name);
  if (!c) throw noCluster(name);
  return c;
}

/** Records a new cluster: its release must exist and each of its hosts be in no other cluster. */
export function createCluster(store: Store, c: Cluster): void {
  store.tx(() => {
    getRelease(store, c.currentRelease);
    const taken = hostsInOtherClusters(store, c.hosts.map((h) => h.host));
    if (taken.length) throw hostsTaken(taken);
    insertCluster(store, c);
  });
}

export function listClusters(store: Store): Cluster[] {
  return (store.statement('SELECT name FROM clusters ORDER BY created_at, name').all() as Row[]).map((r) => findCluster(store, String(r.name))!);
}

/** Hosts of `hosts` that another cluster has already. */
export function hostsInOtherClusters(store: Store, hosts: readonly string[]): Array<{ host: string; cluster: string }> {
  return hosts.flatMap((host) =>
    (store.statement('SELECT cluster FROM cluster_hosts WHERE host = ?').all(host) as Row[]).map((r) => ({ host, cluster: String(r.cluster) })),
  );
}

// ---- operations

export function insertOperation(store: Store, op: ClusterOperation): void {
  store
    .statement(
      'INSERT INTO cluster_operations (session_id, cluster, kind, from_release, to_release, rollback_of, rollback_session, auto_rollback, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    .run(op.sessionId, op.cluster, op.kind, op.from, op.to, op.rollbackOf, op.rollbackSession, op.autoRollback ? 1 : 0, op.createdAt);
  if (op.rollbackOf) store.statement('UPDATE cluster_operations SET rollback_session = ? WHERE session_id = ?').run(op.sessionId, op.rollbackOf);
}

export function findOperation(store: Store, sessionId: string): ClusterOperation | null {
  const row = store.statement('SELECT * FROM cluster_operations WHERE session_id = ?').get(sessionId) as Row | undefined;
  return row ? toClusterOperation(row) : null;
}

/** Failed updates and downgrades asked to roll back by themselves that have no rollback yet. */
export function pendingAutoRollbacks(store: Store): string[] {
  return (
    store
      .statement(
        `SELECT o.session_id FROM cluster_operations o JOIN sessions s ON s.id = o.session_id
         WHERE o.auto_rollback = 1 AND o.rollback_session IS NULL AND s.state = 'MAINTENANCE_FAILED' ORDER BY o.created_at`,
      )
      .all() as Row[]
  ).map((r) => String(r.session_id));
}

// ---- notifications

/** Records a notification and appends it to the event log (which queues it for webhooks). */
export function addNotification(store: Store, n: NewNotification, now: number): SessionEvent {
  const info = store
    .statement('INSERT INTO notifications (topic, message, cluster, host, session_id, time) VALUES (?, ?, ?, ?, ?, ?)')
    .run(n.topic, n.message, n.cluster, n.host, n.sessionId, now);
  return store.appendEvent(n.sessionId, now, NOTIFICATION_EVENT, notificationPayload({ ...n, id: Number(info.lastInsertRowid), time: now }));
}

/** A notification as the API, the CLI's JSON and webhooks show it. */
export function notificationPayload(n: Notification): Record<string, unknown> {
  return { id: n.id, topic: n.topic, message: n.message, cluster: n.cluster, host: n.host, session_id: n.sessionId, time: new Date(n.time).toISOString() };
}

export interface NotificationFilter {
  cluster?: string;
  topic?: string;
  afterId?: number;
}

export function listNotifications(store: Store, filter: NotificationFilter = {}): Notification[] {
  const rows = store
    .statement('SELECT * FROM notifications WHERE id > ? AND (? IS NULL OR cluster = ?) AND (? IS NULL OR topic = ?) ORDER BY id')
    .all(filter.afterId ?? 0, filter.cluster ?? null, filter.cluster ?? null, filter.topic ?? null, filter.topic ?? null) as Row[];
  return rows.map(toNotification);
}

// ---- in a session's transaction

/**
 * Starts a cluster operation with its session (call inside the session's create transaction): the
 * cluster is read again here, so two sessions never both start an operation on it.
 */
export function startOperation(store: Store, op: ClusterOperation, hosts: readonly string[], now: number): SessionEvent[] {
  const cluster = getCluster(store, op.cluster);
  if (op.kind === 'rollback') {
    const undone = op.rollbackOf ? findOperation(store, op.rollbackOf) : null;
    if (!undone || undone.rollbackSession) throw new RefusedError(`session ${op.rollbackOf} was rolled back already, by session ${undone?.rollbackSession}`);
  } else {
    checkStartable(cluster);
  }
  insertOperation(store, op);
  writeCluster(store, startedCluster(cluster, op, now));
  // A rollback takes over hosts the failed session it undoes still holds.
  if (op.rollbackOf) store.releaseClaims(op.rollbackOf);
  return [addNotification(store, startNotice(op, hosts), now)];
}

/** Writes what the session's rows change for its cluster, if it has one (call inside the transaction). */
export function recordProgress(store: Store, sessionId: string, changes: { session?: Session; hosts?: readonly Host[] }, now: number): SessionEvent[] {
  if (!changes.session && !changes.hosts?.some((h) => h.state === 'MAINTAINED')) return [];
  const op = findOperation(store, sessionId);
  if (!op) return [];
  const cluster = findCluster(store, op.cluster);
  if (!cluster) return [];
  const progress = releaseProgress(op, cluster, changes, now);
  writeHostReleases(store, op.cluster, progress.hosts, now);
  if (progress.cluster) writeCluster(store, progress.cluster);
  return progress.notifications.map((n) => addNotification(store, n, now));
}

/** A deleted session's cluster is settled (call inside the delete's transaction). */
export function recordDeletion(store: Store, sessionId: string, now: number): SessionEvent[] {
  const op = findOperation(store, sessionId);
  const cluster = op ? findCluster(store, op.cluster) : null;
  const settled = op && cluster ? deletedSession(op, cluster, now) : null;
  if (!settled) return [];
  writeCluster(store, settled.cluster);
  return [addNotification(store, settled.notice, now)];
}
