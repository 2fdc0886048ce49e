// What the engine needs from persistence, as an async interface: SQLite (sqlite-repository.ts)
// is the embedded implementation; a shared SQL database is the next one. Every implementation
// must pass test/repository-contract.test.ts.
import type { ConstraintRows, GroupConstraint, InstanceConstraint } from '../domain/constraints.js';
import { RefusedError } from '../domain/errors.js';
import type { Delivery, Host, Instance, Project, Session, SessionEvent, Subscription } from '../domain/model.js';
import type { Cluster, ClusterOperation, NewNotification, Notification, Release } from '../domain/releases.js';
import type { NewPluginRun, PluginRun, PluginRunFilter, PluginRunUpdate } from './plugin-runs.js';
import type { ChangeSet, HostClaim, Lease, NewEvent, SessionCount, SessionRows } from './store.js';
import type { DeliveryOutcome, NewSubscription, SubscriptionFilter } from './subscriptions.js';
import type { NotificationFilter } from './releases.js';

export type { ChangeSet, HostClaim, Lease, NewEvent, SessionCount, SessionRows };

/** The lease a runner writes under: a write whose fence no longer holds is refused. */
export interface Fence {
  owner: string;
  epoch: number;
}

/** Thrown by a fenced write when another engine has taken the session over. */
export class LeaseLostError extends Error {
  constructor(sessionId: string) {
    super(`this engine no longer holds the lease on session ${sessionId}`);
    this.name = 'LeaseLostError';
  }
}

/** Thrown when hosts of a new session belong to another active session. */
export class HostsClaimedError extends RefusedError {
  constructor(readonly claims: HostClaim[]) {
    const bySession = new Map<string, string[]>();
    for (const c of claims) bySession.set(c.sessionId, [...(bySession.get(c.sessionId) ?? []), c.host]);
    const parts = [...bySession].map(([id, hosts]) => `${hosts.join(', ')} (session ${id})`);
    super(`hosts already in another active session: ${parts.join('; ')}: wait for it to end or delete it`);
  }
}

export interface ReplyRecord {
  id: number;
  projectId: string;
  state: string;
  instanceActions: Record<string, string>;
  receivedAt: number;
}

/** What a decision made inside a transaction writes: rows and events. */
export interface Write {
  changes: ChangeSet;
  events: NewEvent[];
}

/** The rows a reply is checked against: the session, the project and the instances its question is about. */
export interface ProjectRows {
  session: Session;
  project: Project | null;
  instances: Instance[];
}

export interface Repository {
  // ---- sessions
  /** Records a new session with its hosts, claiming them on the infrastructure; refuses (HostsClaimedError) hosts another session holds. */
  createSession(session: Session, hosts: Host[], infrastructure: string, events: NewEvent[], now: number, operation?: ClusterOperation): Promise<SessionEvent[]>;
  findSession(id: string): Promise<Session | null>;
  loadSession(id: string): Promise<SessionRows | null>;
  activeSessionIds(): Promise<string[]>;
  /** Deletes the session; a cluster operation it had under way or failed is settled (notices returned). */
  deleteSession(id: string, now: number): Promise<SessionEvent[]>;
  /** Writes a runner's batch in one transaction, if the fence still holds (else LeaseLostError). */
  commit(sessionId: string, fence: Fence, write: Write, now: number): Promise<SessionEvent[]>;
  /**
   * Reads the session's rows for a project, lets `decide` (pure; it may throw to refuse) say what
   * to write, and writes it, all in one transaction. For replies and other commands.
   */
  updateProject(sessionId: string, projectId: string, decide: (rows: ProjectRows) => Write, now: number): Promise<SessionEvent[]>;
  /** The same for the whole session's rows (continue, delete clean-up). */
  updateSession(sessionId: string, decide: (rows: SessionRows) => Write, now: number): Promise<SessionEvent[]>;
  /** Writes rows and events without a lease (an engine recording what it could not run). */
  record(sessionId: string, write: Write, now: number): Promise<SessionEvent[]>;
  repliesSince(sessionId: string, afterId: number): Promise<ReplyRecord[]>;
  latestReplyId(sessionId: string): Promise<number>;
  /** Releases the session's hosts (it ended or was deleted). */
  releaseClaims(sessionId: string): Promise<void>;

  // ---- releases and clusters (a session's writes also record what they change for its cluster)
  cluster(name: string): Promise<Cluster | null>;
  clusters(): Promise<Cluster[]>;
  /** Records a new cluster: its release must exist (NotFoundError), its name be new and each host in no other cluster (RefusedError). */
  createCluster(cluster: Cluster): Promise<void>;
  release(name: string): Promise<Release | null>;
  releases(): Promise<Release[]>;
  /** Records a release; refuses (RefusedError) a name there is already. */
  addRelease(release: Release): Promise<void>;
  /** Deletes a release no cluster runs or moves to (NotFoundError, RefusedError) and returns it. */
  removeRelease(name: string): Promise<Release>;
  /** Notifications after an id, narrowed to a cluster or a topic, oldest first. */
  notifications(filter?: NotificationFilter): Promise<Notification[]>;
  /** What the session does to a cluster, or null (a plain maintenance). */
  clusterOperation(sessionId: string): Promise<ClusterOperation | null>;
  /** Failed sessions that asked to be rolled back by themselves and are not yet. */
  pendingAutoRollbacks(): Promise<string[]>;
  /** Writes the cluster row (a rollback with no host to move settles it at once) with a notification. */
  settleCluster(cluster: Cluster, notice: NewNotification, now: number): Promise<SessionEvent[]>;

  // ---- subscriptions (whether a project answers for itself)
  isSubscribed(projectId: string, sessionId: string): Promise<boolean>;

  // ---- application constraints (instance groups and instance constraints of projects)
  /** The constraints of these projects (a session's), read together. */
  constraintsOf(projectIds: readonly string[]): Promise<ConstraintRows>;
  /** Every project's constraints, or one project's. */
  listConstraints(projectId?: string): Promise<ConstraintRows>;
  instanceGroup(groupId: string): Promise<GroupConstraint | null>;
  instanceConstraint(instanceId: string): Promise<InstanceConstraint | null>;
  /** Writes the group (a new one, or over the one of that id). */
  putInstanceGroup(group: GroupConstraint, now: number): Promise<GroupConstraint>;
  putInstanceConstraint(row: InstanceConstraint, now: number): Promise<InstanceConstraint>;
  /** Deletes the group (its members' constraints stay); false when there was none. */
  deleteInstanceGroup(groupId: string): Promise<boolean>;
  deleteInstanceConstraint(instanceId: string): Promise<boolean>;

  // ---- leases
  acquireLease(sessionId: string, owner: string, now: number, ttlMs: number): Promise<number | null>;
  releaseLease(sessionId: string, owner: string): Promise<void>;
  leaseHeld(sessionId: string, now: number): Promise<boolean>;
  lease(sessionId: string): Promise<Lease | null>;
  /** The leases valid at `now`, of every session (which engine or replica runs what). */
  heldLeases(now: number): Promise<Array<Lease & { sessionId: string }>>;

  // ---- other processes
  /** A token that changes whenever another process has written (replies, new sessions). */
  changeToken(): Promise<number>;

  pendingRequests(): Promise<Array<{ id: number; sessionId: string; kind: string; params: Record<string, unknown> }>>;
  finishRequest(id: number, result: object, now: number): Promise<void>;

  // ---- plug-in runs and their output (not fenced: a record of what ran, written as it runs)
  startPluginRun(run: NewPluginRun): Promise<number>;
  updatePluginRun(id: number, update: PluginRunUpdate): Promise<void>;
  pluginRuns(sessionId: string, filter?: PluginRunFilter): Promise<PluginRun[]>;

  // ---- events and the outbox
  events(sessionId: string | null, afterId?: number): Promise<SessionEvent[]>;
  event(id: number): Promise<SessionEvent | null>;
  latestEventId(): Promise<number>;
  /**
   * When the next webhook delivery is due (the head of a subscription's line, not claimed by
   * anyone), leaving out the subscriptions given (busy ones); null when none is pending.
   */
  nextDeliveryAt(exceptSubscriptions?: number[]): Promise<number | null>;
  /**
   * Claims the due heads of line (one per subscription, not the ones given) for `owner` for
   * `claimMs`: nobody else attempts them meanwhile (FOR UPDATE SKIP LOCKED on a shared store).
   */
  claimDeliveries(owner: string, now: number, claimMs: number, exceptSubscriptions: number[]): Promise<Delivery[]>;
  /** Records the attempt of a claimed delivery (nothing when it was cancelled, or claimed by another since). */
  recordDelivery(id: number, owner: string, outcome: DeliveryOutcome): Promise<void>;
  findSubscription(id: number): Promise<Subscription | null>;

  // ---- what the views read (session show, project show, the API's documents)
  /** A full id or an unambiguous prefix of one (NotFoundError, or InvalidInputError naming the matches). */
  resolveSessionId(idOrPrefix: string): Promise<string>;
  /** Each session's state and host counts, oldest first. */
  sessionCounts(): Promise<SessionCount[]>;
  /** The session's plug-in runs with only the end of their output. */
  pluginRunTails(sessionId: string): Promise<PluginRun[]>;
  sessionDeliveries(sessionId: string): Promise<Delivery[]>;

  // ---- subscriptions
  /** Adds a subscription, or returns the same one if it exists (its format updated). */
  subscribe(sub: NewSubscription, now: number): Promise<Subscription>;
  /** Removes the project's matching subscriptions, cancelling their pending deliveries; returns how many. */
  unsubscribe(projectId: string, filter: SubscriptionFilter): Promise<number>;
  listSubscriptions(projectId?: string): Promise<Subscription[]>;
}
