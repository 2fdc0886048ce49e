// Releases and clusters as people and scripts handle them: the checked commands (release add and
// delete, cluster create) and the documents `-o json` and the API show (snake_case, README
// "Releases and clusters"). The embedded client and the server both go through here, on either
// store (through the Repository).
import { newClusterSchema, newReleaseSchema } from '../domain/schemas.js';
import { parseRange, type Cluster, type Notification, type Release } from '../domain/releases.js';
import { InvalidInputError } from '../domain/errors.js';
import { formatIso } from '../domain/time.js';
import { parseWith } from '../domain/validate.js';
import { noCluster, noRelease, notificationPayload, type NotificationFilter } from '../store/releases.js';
import type { Repository } from '../store/repository.js';

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

export async function clusterDocument(repo: Repository, c: Cluster): Promise<ClusterDocument> {
  return {
    name: c.name,
    status: c.status,
    current_release: c.currentRelease,
    pending_release: c.pendingRelease,
    session_id: c.sessionId,
    operation: c.sessionId ? ((await repo.clusterOperation(c.sessionId))?.kind ?? null) : null,
    cloud: c.cloud,
    hosts: c.hosts,
    created_at: formatIso(c.createdAt),
    updated_at: formatIso(c.updatedAt),
  };
}

/** release add: checked, then recorded; a release of the same name is refused. */
export async function addRelease(repo: Repository, input: unknown, now: number): Promise<ReleaseDocument> {
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
  await repo.addRelease(release);
  return releaseDocument(release);
}

/** release delete: refused while a cluster runs it (or moves to it). */
export async function removeRelease(repo: Repository, name: string): Promise<ReleaseDocument> {
  return releaseDocument(await repo.removeRelease(name));
}

/** cluster create: its release must exist, and each host belongs to one cluster only. */
export async function createCluster(repo: Repository, input: unknown, now: number): Promise<ClusterDocument> {
  const body = parseWith(newClusterSchema, input, 'cluster');
  const hosts = [...new Set(body.hosts)];
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
  await repo.createCluster(cluster);
  return clusterDocument(repo, cluster);
}

export const releaseDocuments = async (repo: Repository) => (await repo.releases()).map(releaseDocument);

export async function showRelease(repo: Repository, name: string): Promise<ReleaseDocument> {
  const release = await repo.release(name);
  if (!release) throw noRelease(name);
  return releaseDocument(release);
}

export async function clusterDocuments(repo: Repository): Promise<ClusterDocument[]> {
  const docs: ClusterDocument[] = [];
  for (const c of await repo.clusters()) docs.push(await clusterDocument(repo, c));
  return docs;
}

/** The cluster of that name (NotFoundError saying how to list them). */
export async function getCluster(repo: Repository, name: string): Promise<Cluster> {
  const cluster = await repo.cluster(name);
  if (!cluster) throw noCluster(name);
  return cluster;
}

export const showCluster = async (repo: Repository, name: string) => clusterDocument(repo, await getCluster(repo, name));

/** Notifications after `afterId`, narrowed to a cluster or a topic; a cluster named must exist. */
export async function notificationDocuments(repo: Repository, filter: NotificationFilter): Promise<NotificationDocument[]> {
  if (filter.cluster !== undefined) await getCluster(repo, filter.cluster);
  return (await repo.notifications(filter)).map((n: Notification) => notificationPayload(n));
}
