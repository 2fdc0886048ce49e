// Releases and clusters as people and scripts handle them: the checked commands (release add and
// delete, cluster create) and the documents `-o json` and the API show (snake_case, README
// "Releases and clusters"). The embedded client and the server both go through here.
import { newClusterSchema, newReleaseSchema } from '../domain/schemas.js';
import { checkDeletable, parseRange, type Cluster, type Notification, type Release } from '../domain/releases.js';
import { InvalidInputError, RefusedError } from '../domain/errors.js';
import { formatIso } from '../domain/time.js';
import { parseWith } from '../domain/validate.js';
import {
  deleteRelease,
  findOperation,
  getCluster,
  getRelease,
  hostsInOtherClusters,
  insertCluster,
  insertRelease,
  listClusters,
  listNotifications,
  listReleases,
  notificationPayload,
  type NotificationFilter,
} from '../store/releases.js';
import type { Store } from '../store/store.js';

export interface ReleaseDocument {
  name: string;
  version: string;
  can_update_from: string[];
  compatible_with: string | null;
  repo_source: string | null;
  metadata: Record<string, string>;
  created_at: string;
}

export interface ClusterDocument {
  name: string;
  status: string;
  current_release: string;
  pending_release: string | null;
  session_id: string | null;
  operation: string | null;
  cloud: string | null;
  hosts: Array<{ host: string; release: string }>;
  created_at: string;
  updated_at: string;
}

export type NotificationDocument = ReturnType<typeof notificationPayload>;

export const releaseDocument = (r: Release): ReleaseDocument => ({
  name: r.name,
  version: r.version,
  can_update_from: r.canUpdateFrom,
  compatible_with: r.compatibleWith,
  repo_source: r.repoSource,
  metadata: r.metadata,
  created_at: formatIso(r.createdAt),
});

export function clusterDocument(store: Store, c: Cluster): ClusterDocument {
  return {
    name: c.name,
    status: c.status,
    current_release: c.currentRelease,
    pending_release: c.pendingRelease,
    session_id: c.sessionId,
    operation: c.sessionId ? (findOperation(store, c.sessionId)?.kind ?? null) : null,
    cloud: c.cloud,
    hosts: c.hosts,
    created_at: formatIso(c.createdAt),
    updated_at: formatIso(c.updatedAt),
  };
}

/** release add: checked, then recorded; a release of the same name is refused. */
export function addRelease(store: Store, input: unknown, now: number): ReleaseDocument {
  const body = parseWith(newReleaseSchema, input, 'release');
  if (body.compatible_with !== null) parseRange(body.compatible_with);
  if (body.can_update_from.includes(body.version)) {
    throw new InvalidInputError(`release ${body.name} lists its own version ${body.version} in can_update_from: list the versions it updates from`);
  }
  const release: Release = {
    name: body.name,
    version: body.version,
    canUpdateFrom: [...new Set(body.can_update_from)],
    compatibleWith: body.compatible_with,
    repoSource: body.repo_source,
    metadata: body.metadata,
    createdAt: now,
  };
  store.tx(() => insertRelease(store, release));
  return releaseDocument(release);
}

/** release delete: refused while a cluster runs it (or moves to it). */
export function removeRelease(store: Store, name: string): ReleaseDocument {
  return store.tx(() => {
    const release = getRelease(store, name);
    checkDeletable(name, listClusters(store));
    deleteRelease(store, name);
    return releaseDocument(release);
  });
}

/** cluster create: its release must exist, and each host belongs to one cluster only. */
export function createCluster(store: Store, input: unknown, now: number): ClusterDocument {
  const body = parseWith(newClusterSchema, input, 'cluster');
  const hosts = [...new Set(body.hosts)];
  return store.tx(() => {
    getRelease(store, body.release);
    const taken = hostsInOtherClusters(store, hosts);
    if (taken.length) {
      throw new RefusedError(`hosts already in a cluster: ${taken.map((t) => `${t.host} (${t.cluster})`).join(', ')}: a host belongs to one cluster`);
    }
    const cluster: Cluster = {
      name: body.name,
      cloud: body.cloud,
      currentRelease: body.release,
      pendingRelease: null,
      status: 'operational',
      sessionId: null,
      hosts: hosts.map((host) => ({ host, release: body.release })),
      createdAt: now,
      updatedAt: now,
    };
    insertCluster(store, cluster);
    return clusterDocument(store, cluster);
  });
}

export const releaseDocuments = (store: Store) => listReleases(store).map(releaseDocument);
export const showRelease = (store: Store, name: string) => releaseDocument(getRelease(store, name));
export const clusterDocuments = (store: Store) => listClusters(store).map((c) => clusterDocument(store, c));
export const showCluster = (store: Store, name: string) => clusterDocument(store, getCluster(store, name));

/** Notifications after `afterId`, narrowed to a cluster or a topic; a cluster named must exist. */
export function notificationDocuments(store: Store, filter: NotificationFilter): NotificationDocument[] {
  if (filter.cluster !== undefined) getCluster(store, filter.cluster);
  return listNotifications(store, filter).map((n: Notification) => notificationPayload(n));
}
