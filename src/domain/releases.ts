// Releases, clusters and what a session does to them (seed 003, Nailgun's patching): which
// operation a target release is, the cluster statuses and their transitions, and what a session's
// progress changes (a host's release, the cluster's). Pure: the store applies what this decides,
// in the transaction of the session's own change, so a crash never separates the two.
import { InvalidInputError, RefusedError } from './errors.js';
import type { Host, Session } from './model.js';

export const CLUSTER_STATUSES = ['operational', 'update', 'downgrade', 'rollback', 'update_error', 'downgrade_error', 'rollback_error'] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];
export type ReleaseOperationKind = 'update' | 'downgrade' | 'rollback';
export const NOTIFICATION_TOPICS = ['discover', 'done', 'error', 'warning'] as const;
export type NotificationTopic = (typeof NOTIFICATION_TOPICS)[number];

export interface Release {
  name: string;
  version: string;
  /** Versions a cluster can be updated from to this release. */
  canUpdateFrom: string[];
  /** The maintctl versions this release works with (e.g. ">=0.1 <2"), or null: any. */
  compatibleWith: string | null;
  repoSource: string | null;
  metadata: Record<string, string>;
  createdAt: number;
}

export interface ClusterHost {
  host: string;
  release: string;
}

export interface Cluster {
  name: string;
  /** The infrastructure its sessions run on unless told otherwise (a --cloud value). */
  cloud: string | null;
  currentRelease: string;
  /** The release an operation under way (or failed) moves the cluster to. */
  pendingRelease: string | null;
  status: ClusterStatus;
  /** The session of the cluster's latest operation. */
  sessionId: string | null;
  hosts: ClusterHost[];
  createdAt: number;
  updatedAt: number;
}

/** What one session does to a cluster. */
export interface ClusterOperation {
  sessionId: string;
  cluster: string;
  kind: ReleaseOperationKind;
  from: string;
  to: string;
  /** For a rollback: the update or downgrade session it undoes. */
  rollbackOf: string | null;
  /** For an update or downgrade: its rollback session, once there is one. */
  rollbackSession: string | null;
  autoRollback: boolean;
  createdAt: number;
}

export interface NewNotification {
  topic: NotificationTopic;
  message: string;
  cluster: string | null;
  host: string | null;
  sessionId: string | null;
}

export interface Notification extends NewNotification {
  id: number;
  time: number;
}

/** The cluster statuses each status may go to (an operation starts, ends, fails, is continued). */
export const STATUS_TRANSITIONS: Record<ClusterStatus, readonly ClusterStatus[]> = {
  operational: ['update', 'downgrade', 'rollback'],
  update: ['operational', 'update_error'],
  downgrade: ['operational', 'downgrade_error'],
  rollback: ['operational', 'rollback_error'],
  update_error: ['update', 'rollback'],
  downgrade_error: ['downgrade', 'rollback'],
  rollback_error: ['rollback'],
};

export const allowedStatus = (from: ClusterStatus, to: ClusterStatus) => STATUS_TRANSITIONS[from].includes(to);
const errorStatus = (kind: ReleaseOperationKind) => `${kind}_error` as ClusterStatus;

/** The one-line name of a release in messages: "queens-2 (2.0)". */
export const releaseLabel = (r: Release) => `${r.name} (${r.version})`;

/**
 * Whether moving a cluster from `current` to `target` is an update (the current version is in the
 * target's can_update_from) or a downgrade (the target's version is in the current's list);
 * anything else is refused with what is allowed.
 */
export function chooseOperation(cluster: string, current: Release, target: Release, all: readonly Release[]): 'update' | 'downgrade' {
  if (target.name === current.name) {
    throw new InvalidInputError(`cluster ${cluster} already runs ${releaseLabel(current)}: ${allowedText(current, all)}`);
  }
  if (target.canUpdateFrom.includes(current.version)) return 'update';
  if (current.canUpdateFrom.includes(target.version)) return 'downgrade';
  throw new InvalidInputError(
    `${releaseLabel(target)} is neither an update nor a downgrade of cluster ${cluster}'s ${releaseLabel(current)}: ${allowedText(current, all)}`,
  );
}

function allowedText(current: Release, all: readonly Release[]): string {
  const updates = all.filter((r) => r.name !== current.name && r.canUpdateFrom.includes(current.version)).map(releaseLabel);
  const downgrades = all.filter((r) => r.name !== current.name && current.canUpdateFrom.includes(r.version)).map(releaseLabel);
  if (!updates.length && !downgrades.length) return `no release can be applied to it (add one with release add NAME --version V --can-update-from ${current.version})`;
  return [updates.length ? `updates: ${updates.join(', ')}` : '', downgrades.length ? `downgrades: ${downgrades.join(', ')}` : ''].filter(Boolean).join('; ');
}

/** A cluster takes a new update or downgrade only when no other operation is under way or failed. */
export function checkStartable(cluster: Cluster): void {
  if (cluster.status === 'operational') return;
  const how = cluster.status.endsWith('_error')
    ? `roll back session ${cluster.sessionId} (session rollback) or continue it (session update)`
    : `wait for session ${cluster.sessionId} to end`;
  throw new RefusedError(`cluster ${cluster.name} is ${cluster.status}: ${how} first`);
}

/** A release a cluster runs, is moving to, or has a host on, cannot be deleted. */
export function checkDeletable(release: string, clusters: readonly Cluster[]): void {
  const users = clusters.filter((c) => c.currentRelease === release || c.pendingRelease === release || c.hosts.some((h) => h.release === release));
  if (users.length) {
    throw new RefusedError(`release ${release} is in use by cluster ${users.map((c) => c.name).join(', ')}: it can be deleted once no cluster runs it`);
  }
}

/**
 * Whether `op` (an update or downgrade) can be rolled back now: it ended, it is the cluster's
 * latest operation, and it was not rolled back already.
 */
export function checkRollback(op: ClusterOperation, session: Session, cluster: Cluster): void {
  if (op.kind === 'rollback') throw new RefusedError(`session ${op.sessionId} is itself a rollback: continue it with session update if it failed`);
  if (op.rollbackSession) throw new RefusedError(`session ${op.sessionId} was rolled back already, by session ${op.rollbackSession}`);
  if (session.state !== 'MAINTENANCE_FAILED' && session.state !== 'MAINTENANCE_DONE') {
    throw new RefusedError(`session ${op.sessionId} is ${session.state}: only a failed or done ${op.kind} can be rolled back`);
  }
  if (cluster.sessionId !== op.sessionId) {
    throw new RefusedError(`cluster ${cluster.name} had a later operation (session ${cluster.sessionId}): only its latest one can be rolled back`);
  }
}

/** The rollback of `op`: its versions swapped, over the hosts it moved. */
export function rollbackOf(op: ClusterOperation, cluster: Cluster): { from: string; to: string; hosts: string[] } {
  return { from: op.to, to: op.from, hosts: cluster.hosts.filter((h) => h.release === op.to).map((h) => h.host) };
}

/** What a cluster looks like once `op` starts. */
export function startedCluster(cluster: Cluster, op: ClusterOperation, now: number): Cluster {
  if (!allowedStatus(cluster.status, op.kind)) throw new RefusedError(`cluster ${cluster.name} is ${cluster.status}: a ${op.kind} cannot start now`);
  return { ...cluster, status: op.kind, pendingRelease: op.to, sessionId: op.sessionId, updatedAt: now };
}

export const startNotice = (op: ClusterOperation, hosts: readonly string[]): NewNotification => ({
  topic: 'warning',
  message: `${op.kind} of cluster ${op.cluster} from ${op.from} to ${op.to} started on ${hosts.length} host(s): ${hosts.join(', ')}`,
  cluster: op.cluster,
  host: null,
  sessionId: op.sessionId,
});

export interface ReleaseProgress {
  hosts: ClusterHost[];
  cluster: Cluster | null;
  notifications: NewNotification[];
}

/**
 * What a session's written rows change for its cluster: a host maintained now runs the target
 * release; the session DONE makes it the cluster's; FAILED leaves the cluster in `<kind>_error`,
 * and continuing it brings the operation back.
 */
export function releaseProgress(op: ClusterOperation, cluster: Cluster, changes: { session?: Session; hosts?: readonly Host[] }, now: number): ReleaseProgress {
  const out: ReleaseProgress = { hosts: [], cluster: null, notifications: [] };
  const running = new Map(cluster.hosts.map((h) => [h.host, h.release]));
  const notice = (topic: NotificationTopic, message: string, host: string | null = null) =>
    out.notifications.push({ topic, message, cluster: op.cluster, host, sessionId: op.sessionId });
  for (const h of changes.hosts ?? []) {
    if (h.state !== 'MAINTAINED' || !running.has(h.name) || running.get(h.name) === op.to) continue;
    out.hosts.push({ host: h.name, release: op.to });
    notice('done', `host ${h.name} of cluster ${op.cluster} runs ${op.to} (${op.kind} from ${running.get(h.name)})`, h.name);
  }
  const session = changes.session;
  if (!session || cluster.sessionId !== op.sessionId) return out;
  const to = (status: ClusterStatus, patch: Partial<Cluster> = {}) => {
    if (cluster.status === status || !allowedStatus(cluster.status, status)) return false;
    out.cluster = { ...cluster, status, ...patch, updatedAt: now };
    return true;
  };
  if (session.state === 'MAINTENANCE_DONE') {
    if (to('operational', { currentRelease: op.to, pendingRelease: null })) notice('done', `${op.kind} of cluster ${op.cluster} to ${op.to} done: it is operational on ${op.to}`);
  } else if (session.state === 'MAINTENANCE_FAILED') {
    if (cluster.status === op.kind && to(errorStatus(op.kind))) {
      const next = op.kind === 'rollback' ? 'continue it with session update' : `roll it back with session rollback ${op.sessionId}`;
      notice('error', `${op.kind} of cluster ${op.cluster} to ${op.to} failed: ${session.failure ?? 'no cause recorded'}; ${next}`);
    }
  } else if (cluster.status === errorStatus(op.kind) && to(op.kind)) {
    notice('warning', `${op.kind} of cluster ${op.cluster} to ${op.to} continues`);
  }
  return out;
}

/**
 * A session deleted before its operation was settled: the cluster is operational again on its
 * current release, its hosts keep the release each runs, and a warning says which moved.
 */
export function deletedSession(op: ClusterOperation, cluster: Cluster, now: number): { cluster: Cluster; notice: NewNotification } | null {
  if (cluster.sessionId !== op.sessionId || cluster.status === 'operational') return null;
  const moved = cluster.hosts.filter((h) => h.release !== cluster.currentRelease).map((h) => `${h.host} (${h.release})`);
  const message =
    `session ${op.sessionId} (${op.kind} of cluster ${op.cluster} to ${op.to}) was deleted: the cluster is operational on ${cluster.currentRelease}` +
    (moved.length ? `; hosts on another release: ${moved.join(', ')}` : '');
  return {
    cluster: { ...cluster, status: 'operational', pendingRelease: null, updatedAt: now },
    notice: { topic: 'warning', message, cluster: op.cluster, host: null, sessionId: op.sessionId },
  };
}

/** The target release as projects (in the notification metadata) and plug-ins see it. */
export function releaseMetadata(op: ClusterOperation, from: Release, to: Release): Record<string, unknown> {
  return {
    cluster: op.cluster,
    operation: op.kind,
    from: { name: from.name, version: from.version },
    to: { name: to.name, version: to.version, repo_source: to.repoSource, metadata: to.metadata },
  };
}

/** The release a session's metadata names (releaseMetadata's shape), or null. */
export function sessionRelease(metadata: Record<string, unknown>): { from: string; to: string; repoSource: string | null } | null {
  const r = metadata.release as { from?: { version?: unknown }; to?: { version?: unknown; repo_source?: unknown } } | undefined;
  if (typeof r !== 'object' || r === null || typeof r.from?.version !== 'string' || typeof r.to?.version !== 'string') return null;
  return { from: r.from.version, to: r.to.version, repoSource: typeof r.to.repo_source === 'string' ? r.to.repo_source : null };
}

/**
 * Whether `version` (maintctl's) is in `range`: space-separated comparisons (>=, >, <=, <, =, or a
 * bare version), every one of which must hold, e.g. ">=0.1 <2".
 */
export function inRange(version: string, range: string): boolean {
  return parseRange(range).every(({ op, v }) => {
    const c = compareVersions(version, v);
    return op === '>=' ? c >= 0 : op === '>' ? c > 0 : op === '<=' ? c <= 0 : op === '<' ? c < 0 : c === 0;
  });
}

const COMPARISON = /^(>=|<=|>|<|=)?(\d+(?:\.\d+){0,2})$/;

/** The comparisons of a range; a malformed one is refused with the form expected. */
export function parseRange(range: string): Array<{ op: string; v: string }> {
  const parts = range.trim().split(/\s+/).filter(Boolean);
  if (!parts.length) throw new InvalidInputError('invalid --compatible-with "": give a version range such as ">=0.1 <2"');
  return parts.map((part) => {
    const m = COMPARISON.exec(part);
    if (!m) throw new InvalidInputError(`invalid --compatible-with "${range}": "${part}" is not a comparison such as >=0.1 or <2.0.0`);
    return { op: m[1] ?? '=', v: m[2]! };
  });
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
