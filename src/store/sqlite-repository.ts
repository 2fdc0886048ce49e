// The Repository on the embedded SQLite store. SQLite is synchronous and single-writer, so each
// method is one transaction run to its end; the promises only keep the interface the same as a
// networked database's.
import type { Host, Session, SessionEvent } from '../domain/model.js';
import { NotFoundError } from '../domain/errors.js';
import { HostsClaimedError, LeaseLostError, type Fence, type ProjectRows, type Repository, type Write } from './repository.js';
import type { NewEvent, SessionRows, Store } from './store.js';
import { insertPluginRun, pluginRunTails, pluginRuns, updatePluginRun, type NewPluginRun, type PluginRunFilter, type PluginRunUpdate } from './plugin-runs.js';
import {
  findSubscription,
  headOfLine,
  isSubscribed,
  listSubscriptions,
  nextDeliveryAt,
  recordAttempt,
  sessionDeliveries,
  subscribe,
  unsubscribe,
  type DeliveryOutcome,
  type NewSubscription,
  type SubscriptionFilter,
} from './subscriptions.js';
import type { Cluster, ClusterOperation, NewNotification } from '../domain/releases.js';
import {
  addNotification,
  createCluster,
  findCluster,
  findOperation,
  findRelease,
  insertRelease,
  listClusters,
  listNotifications,
  listReleases,
  pendingAutoRollbacks,
  recordDeletion,
  recordProgress,
  removeRelease,
  startOperation,
  writeCluster,
  type NotificationFilter,
} from './releases.js';
import { constraintsOf, deleteGroup, deleteInstance, findGroup, findInstance, listConstraints, putGroup, putInstance } from './constraints.js';
import type { GroupConstraint, InstanceConstraint } from '../domain/constraints.js';
import type { Release } from '../domain/releases.js';

export class SqliteRepository implements Repository {
  constructor(readonly store: Store) {}

  private write(sessionId: string, write: Write, now: number): SessionEvent[] {
    this.store.applyChanges(sessionId, write.changes);
    const events = write.events.map((e) => this.store.appendEvent(sessionId, now, e.eventType, e.payload));
    // A host's release and its cluster's status change with the host's or session's own rows.
    return [...events, ...recordProgress(this.store, sessionId, write.changes, now)];
  }

  async createSession(session: Session, hosts: Host[], infrastructure: string, events: NewEvent[], now: number, operation?: ClusterOperation) {
    return this.store.tx(() => {
      this.store.insertSession(session);
      const started = operation ? startOperation(this.store, operation, hosts.map((h) => h.name), now) : [];
      const held = this.store.claimHosts(infrastructure, hosts.map((h) => h.name), session.id);
      if (held.length) throw new HostsClaimedError(held);
      return [...this.write(session.id, { changes: { hosts }, events }, now), ...started];
    });
  }

  async cluster(name: string) {
    return findCluster(this.store, name);
  }

  async clusters() {
    return listClusters(this.store);
  }

  async createCluster(cluster: Cluster) {
    createCluster(this.store, cluster);
  }

  async release(name: string) {
    return findRelease(this.store, name);
  }

  async releases() {
    return listReleases(this.store);
  }

  async addRelease(release: Release) {
    this.store.tx(() => insertRelease(this.store, release));
  }

  async removeRelease(name: string) {
    return removeRelease(this.store, name);
  }

  async notifications(filter?: NotificationFilter) {
    return listNotifications(this.store, filter);
  }

  async clusterOperation(sessionId: string) {
    return findOperation(this.store, sessionId);
  }

  async pendingAutoRollbacks() {
    return pendingAutoRollbacks(this.store);
  }

  async settleCluster(cluster: Cluster, notice: NewNotification, now: number) {
    return this.store.tx(() => {
      writeCluster(this.store, cluster);
      return [addNotification(this.store, notice, now)];
    });
  }

  async findSession(id: string) {
    return this.store.findSession(id);
  }

  async loadSession(id: string) {
    return this.store.loadRows(id);
  }

  async activeSessionIds() {
    return this.store.activeSessionIds();
  }

  async deleteSession(id: string, now: number) {
    return this.store.tx(() => {
      this.store.deleteSession(id);
      return recordDeletion(this.store, id, now);
    });
  }

  async commit(sessionId: string, fence: Fence, write: Write, now: number) {
    return this.store.tx(() => {
      if (!this.store.holdsLease(sessionId, fence.owner, fence.epoch)) throw new LeaseLostError(sessionId);
      // A session that is done gives its hosts back in the same transaction.
      if (write.changes.session?.state === 'MAINTENANCE_DONE') this.store.releaseClaims(sessionId);
      return this.write(sessionId, write, now);
    });
  }

  async updateProject(sessionId: string, projectId: string, decide: (rows: ProjectRows) => Write, now: number) {
    return this.store.tx(() => {
      const session = this.store.getSession(sessionId);
      const project = this.store.project(sessionId, projectId);
      const rows = { session, project, instances: project ? this.store.questionInstances(sessionId, project) : [] };
      return this.write(sessionId, decide(rows), now);
    });
  }

  async updateSession(sessionId: string, decide: (rows: SessionRows) => Write, now: number) {
    return this.store.tx(() => {
      const rows = this.store.loadRows(sessionId);
      if (!rows) throw new NotFoundError(`no session ${sessionId}`);
      return this.write(sessionId, decide(rows), now);
    });
  }

  async record(sessionId: string, write: Write, now: number) {
    return this.store.tx(() => this.write(sessionId, write, now));
  }

  async repliesSince(sessionId: string, afterId: number) {
    return this.store.repliesSince(sessionId, afterId);
  }

  async latestReplyId(sessionId: string) {
    return this.store.latestReplyId(sessionId);
  }

  async releaseClaims(sessionId: string) {
    this.store.tx(() => this.store.releaseClaims(sessionId));
  }

  async isSubscribed(projectId: string, sessionId: string) {
    return isSubscribed(this.store, projectId, sessionId);
  }

  async constraintsOf(projectIds: readonly string[]) {
    return constraintsOf(this.store, projectIds);
  }

  async listConstraints(projectId?: string) {
    return listConstraints(this.store, projectId);
  }

  async instanceGroup(groupId: string) {
    return findGroup(this.store, groupId);
  }

  async instanceConstraint(instanceId: string) {
    return findInstance(this.store, instanceId);
  }

  async putInstanceGroup(group: GroupConstraint, now: number) {
    return putGroup(this.store, group, now);
  }

  async putInstanceConstraint(row: InstanceConstraint, now: number) {
    return putInstance(this.store, row, now);
  }

  async deleteInstanceGroup(groupId: string) {
    return deleteGroup(this.store, groupId);
  }

  async deleteInstanceConstraint(instanceId: string) {
    return deleteInstance(this.store, instanceId);
  }

  async acquireLease(sessionId: string, owner: string, now: number, ttlMs: number) {
    return this.store.acquireLease(sessionId, owner, now, ttlMs);
  }

  async releaseLease(sessionId: string, owner: string) {
    this.store.releaseLease(sessionId, owner);
  }

  async leaseHeld(sessionId: string, now: number) {
    return this.store.leaseHeld(sessionId, now);
  }

  async heldLeases(now: number) {
    return this.store.heldLeases(now);
  }

  async lease(sessionId: string) {
    return this.store.lease(sessionId);
  }

  async changeToken() {
    return this.store.dataVersion();
  }

  async pendingRequests() {
    return this.store.pendingRequests();
  }

  async finishRequest(id: number, result: object, now: number) {
    this.store.finishRequest(id, result, now);
  }

  async startPluginRun(run: NewPluginRun) {
    return insertPluginRun(this.store, run);
  }

  async updatePluginRun(id: number, update: PluginRunUpdate) {
    updatePluginRun(this.store, id, update);
  }

  async pluginRuns(sessionId: string, filter?: PluginRunFilter) {
    return pluginRuns(this.store, sessionId, filter);
  }

  async events(sessionId: string | null, afterId = 0) {
    return this.store.events(sessionId, afterId);
  }

  async nextDeliveryAt(exceptSubscriptions: number[] = []) {
    return nextDeliveryAt(this.store, exceptSubscriptions);
  }

  /** One engine delivers an embedded store's outbox: a claim is only the list of what is due. */
  async claimDeliveries(_owner: string, now: number, _claimMs: number, exceptSubscriptions: number[]) {
    return headOfLine(this.store, now).filter((d) => !exceptSubscriptions.includes(d.subscriptionId));
  }

  async recordDelivery(id: number, _owner: string, outcome: DeliveryOutcome) {
    recordAttempt(this.store, id, outcome);
  }

  async findSubscription(id: number) {
    return findSubscription(this.store, id);
  }

  async event(id: number) {
    return this.store.event(id);
  }

  async latestEventId() {
    return this.store.latestEventId();
  }

  async resolveSessionId(idOrPrefix: string) {
    return this.store.resolveSessionId(idOrPrefix);
  }

  async sessionCounts() {
    return this.store.sessionCounts();
  }

  async pluginRunTails(sessionId: string) {
    return pluginRunTails(this.store, sessionId);
  }

  async sessionDeliveries(sessionId: string) {
    return sessionDeliveries(this.store, sessionId);
  }

  async subscribe(sub: NewSubscription, now: number) {
    return subscribe(this.store, sub, now);
  }

  async unsubscribe(projectId: string, filter: SubscriptionFilter) {
    return unsubscribe(this.store, projectId, filter);
  }

  async listSubscriptions(projectId?: string) {
    return listSubscriptions(this.store, projectId);
  }
}
