// The Repository in this process's memory: Maps and arrays, nothing durable. For rehearsals
// (src/engine/rehearsal.ts), where the session is thrown away when it ends and nobody else reads
// it: no SQL, no serialising of rows, no transaction per batch. It keeps what the interface can
// give back and no more (a finished move's operation is never read again, so it is not kept).
// Rows are copied going in and coming out, so a caller's later change never reaches the store
// (instance and operation rows are shared instead for a caller that never changes them: sharesRows).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ConstraintRows, GroupConstraint, InstanceConstraint } from '../domain/constraints.js';
import { InvalidInputError, NotFoundError, RefusedError } from '../domain/errors.js';
import type { Delivery, Host, Instance, Operation, Project, Session, SessionEvent, Subscription } from '../domain/model.js';
import type { Cluster, ClusterOperation, Notification, Release } from '../domain/releases.js';
import { isTerminal } from '../domain/states.js';
import { TAIL_CHARS, type NewPluginRun, type PluginRun, type PluginRunFilter, type PluginRunUpdate } from './plugin-runs.js';
import { HostsClaimedError, LeaseLostError, type Fence, type ProjectRows, type ReplyRecord, type Repository, type Write } from './repository.js';
import { AMBIGUOUS_SHOWN, pickSessionId, type ChangeSet, type HostClaim, type Lease, type NewEvent, type SessionCount, type SessionRows } from './store.js';
import { matchesFilter, type DeliveryOutcome, type NewSubscription, type SubscriptionFilter } from './subscriptions.js';

/** One session's rows, indexed the ways the interface reads them. */
interface SessionData {
  session: Session;
  hosts: Map<string, Host>;
  projects: Map<string, Project>;
  instances: Map<string, Instance>;
  /** Instance ids by project, and by project and wave: what a question is about. */
  byProject: Map<string, Set<string>>;
  byWave: Map<string, Set<string>>;
  /** Kept operations by key and attempt (see keepsOperation). */
  operations: Map<string, Operation>;
  /**
   * Replies with their instance actions as pairs: an object keyed by instance ids has a shape of
   * its own in V8, and a rehearsal's replies would keep hundreds of thousands of them alive.
   */
  replies: Array<Omit<ReplyRecord, 'instanceActions'> & { actions: Array<[string, string]> }>;
  claims: string[];
}

const opKey = (key: string, attempt: number) => `${key}\u0000${attempt}`;
const waveKey = (projectId: string, wave: number) => `${projectId}\u0000${wave}`;
const byId = <T extends { id: number }>(a: T, b: T) => a.id - b.id;
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Session-wide steps and lane steps are read again by loadSession; a move only while it is open. */
const isStep = (key: string) => key === 'download' || key.startsWith('pre:') || key.startsWith('post:') || key.startsWith('host:');
const isOpen = (op: Operation) => op.status === 'started' || op.status === 'requested';

/** The same question (state, visit, wave, deadline) as the row stored: a reply recorded for it is kept. */
const sameQuestion = (a: Project, b: Project) => a.state === b.state && a.visit === b.visit && a.wave === b.wave && a.replyAt === b.replyAt;

/** Why a rehearsal's repository takes no release or cluster (a rehearsal copies neither). */
export const NOT_IN_REHEARSAL = 'a rehearsal keeps no releases or clusters: rehearse the maintenance without --cluster and --release';

export class MemoryRepository implements Repository {
  private readonly sessions = new Map<string, SessionData>();
  private readonly claims = new Map<string, string>();
  private readonly leases = new Map<string, Lease>();
  private readonly events_: SessionEvent[] = [];
  private readonly sessionEvents = new Map<string, SessionEvent[]>();
  private readonly subscriptions = new Map<number, Subscription>();
  private readonly deliveries: Delivery[] = [];
  private readonly runs: PluginRun[] = [];
  /** Events recorded per session, kept or not. */
  private readonly eventCounts = new Map<string, number>();
  private readonly constraints: ConstraintRows;
  private readonly keepEvent: (e: NewEvent) => boolean;
  private readonly sharesRows: boolean;
  private ids = { event: 0, reply: 0, operation: 0, subscription: 0, delivery: 0, run: 0 };
  /** The first four groups of a random UUID (its version digit included): message ids end in the event's id. */
  private readonly idPrefix = randomUUID().slice(0, 24);

  /**
   * `constraints`: the application constraints sessions read (a rehearsal's copy of the real ones).
   * `keepEvent`: which events are kept to be read back (default: all); the others are still
   * recorded (ids, the bus, webhooks, eventCount) but not held: a rehearsal of 10,000 computes
   * records 860,000 events and reads back only the fifth its plan is made of.
   * `sharesRows`: instance and operation rows are kept as written (instances read back as kept),
   * not copied, for callers that never change a row they gave or got (the engine makes a new row
   * for every change): a rehearsal's 200,000 instances are then one set of rows, its model's,
   * and each of its moves' three operation writes copies nothing.
   */
  constructor(options: { constraints?: ConstraintRows; keepEvent?: (e: NewEvent) => boolean; sharesRows?: boolean } = {}) {
    const constraints = options.constraints ?? { groups: [], instances: [] };
    this.constraints = { groups: constraints.groups.map((g) => ({ ...g })), instances: constraints.instances.map((i) => ({ ...i })) };
    this.keepEvent = options.keepEvent ?? (() => true);
    this.sharesRows = options.sharesRows ?? false;
  }

  // ---- writing rows

  private data(sessionId: string): SessionData {
    const data = this.sessions.get(sessionId);
    if (!data) throw new NotFoundError(`no session ${sessionId}`);
    return data;
  }

  private write(sessionId: string, write: Write, now: number): SessionEvent[] {
    this.applyChanges(this.data(sessionId), write.changes);
    return write.events.map((e) => this.appendEvent(sessionId, now, e));
  }

  private applyChanges(d: SessionData, c: ChangeSet): void {
    if (c.session) d.session = keepFixed(d.session, c.session);
    for (const h of c.hosts ?? []) d.hosts.set(h.name, { ...h });
    for (const p of c.projects ?? []) this.writeProject(d, p);
    for (const id of c.removedInstances ?? []) this.removeInstance(d, id);
    for (const i of c.instances ?? []) this.writeInstance(d, i);
    for (const op of c.operations ?? []) op.id = this.writeOperation(d, op);
    for (const r of c.replies ?? []) {
      d.replies.push({ id: ++this.ids.reply, projectId: r.projectId, state: r.state, actions: Object.entries(r.instanceActions), receivedAt: r.receivedAt });
    }
  }

  /** A reply recorded for the same question is never erased by a runner's copy without it (as the SQL store does). */
  private writeProject(d: SessionData, p: Project): void {
    const stored = d.projects.get(p.projectId);
    const keep = stored !== undefined && sameQuestion(stored, p);
    d.projects.set(p.projectId, {
      ...p,
      replyState: keep ? (p.replyState ?? stored.replyState) : p.replyState,
      repliedAt: keep ? (p.repliedAt ?? stored.repliedAt) : p.repliedAt,
    });
  }

  /** The same for an instance's chosen action, kept while the copy written has none for the same question. */
  private writeInstance(d: SessionData, i: Instance): void {
    const stored = d.instances.get(i.instanceId);
    let row = this.sharesRows ? i : { ...i };
    if (!stored) {
      d.instances.set(row.instanceId, row);
      return this.index(d, row);
    }
    const keepsAction = i.action === null && stored.action !== null && stored.wave === i.wave && stored.projectState === i.projectState && stored.actionDone === i.actionDone;
    if (row === i && (keepsAction || i.projectId !== stored.projectId)) row = { ...i };
    row.projectId = stored.projectId;
    if (keepsAction) row.action = stored.action;
    d.instances.set(row.instanceId, row);
    // Most writes leave the instance in its wave (its action, host or question changed): the indexes stay as they are.
    if (stored.wave !== row.wave) {
      this.unindex(d, stored);
      this.index(d, row);
    }
  }

  private index(d: SessionData, i: Instance): void {
    add(d.byProject, i.projectId, i.instanceId);
    if (i.wave !== null) add(d.byWave, waveKey(i.projectId, i.wave), i.instanceId);
  }

  private removeInstance(d: SessionData, id: string): void {
    const stored = d.instances.get(id);
    if (!stored) return;
    this.unindex(d, stored);
    d.instances.delete(id);
  }

  private unindex(d: SessionData, i: Instance): void {
    d.byProject.get(i.projectId)?.delete(i.instanceId);
    if (i.wave !== null) d.byWave.get(waveKey(i.projectId, i.wave))?.delete(i.instanceId);
  }

  /** Inserted or updated by (key, attempt); returns its id. A finished move is dropped: nothing reads it again. */
  private writeOperation(d: SessionData, op: Operation): number {
    const k = opKey(op.key, op.attempt);
    const stored = d.operations.get(k);
    const id = stored?.id ?? (op.id > 0 ? op.id : ++this.ids.operation);
    if (id > this.ids.operation) this.ids.operation = id;
    let row: Operation;
    if (this.sharesRows && (!stored || sameFixed(stored, op))) {
      // The stored row's fixed fields are the same: the caller's row is the stored one from now on.
      row = op;
      row.id = id;
    } else {
      row = stored
        ? { ...stored, status: op.status, checkAt: op.checkAt, deadline: op.deadline, cause: op.cause, result: op.result, updatedAt: op.updatedAt }
        : { ...op, id };
    }
    if (isStep(op.key) || isOpen(row)) d.operations.set(k, row);
    else d.operations.delete(k);
    return id;
  }

  private appendEvent(sessionId: string | null, time: number, e: NewEvent): SessionEvent {
    const id = ++this.ids.event;
    const event: SessionEvent = { id, sessionId, time, eventType: e.eventType, messageId: this.messageId(id), payload: e.payload as Record<string, unknown> };
    if (sessionId !== null) this.eventCounts.set(sessionId, (this.eventCounts.get(sessionId) ?? 0) + 1);
    if (this.subscriptions.size) this.queueDeliveries(event);
    if (!this.keepEvent(e)) return event;
    this.events_.push(event);
    if (sessionId !== null) {
      let list = this.sessionEvents.get(sessionId);
      if (!list) this.sessionEvents.set(sessionId, (list = []));
      list.push(event);
    }
    return event;
  }

  /**
   * A message id in the form of a UUID: this repository's random prefix and the event's id (a
   * random UUID per event was a tenth of what recording one cost).
   */
  private messageId(eventId: number): string {
    return this.idPrefix + eventId.toString(16).padStart(12, '0');
  }

  /** A project's question goes to its subscribers (either name of the event), a notice to its type's; one delivery per URL and format. */
  private queueDeliveries(e: SessionEvent): void {
    const projectId = e.payload.project_id ?? null;
    const planned = e.eventType === 'maintenance.planned';
    const notice = ['maintenance.host', 'maintenance.session', 'maintctl.notification'].includes(e.eventType);
    const first = new Map<string, Subscription>();
    for (const s of [...this.subscriptions.values()].sort(byId)) {
      if (s.url === null || (s.sessionId !== null && s.sessionId !== e.sessionId)) continue;
      const wanted = planned ? (s.eventType === 'maintenance.planned' || s.eventType === 'maintenance.scheduled') && s.projectId === projectId : notice && s.eventType === e.eventType;
      const k = `${s.url}\u0000${s.format}`;
      if (wanted && !first.has(k)) first.set(k, s);
    }
    for (const s of first.values()) {
      this.deliveries.push({
        id: ++this.ids.delivery, eventId: e.id, subscriptionId: s.id, sessionId: e.sessionId, url: s.url!, format: s.format,
        status: 'pending', attempts: 0, nextAttemptAt: e.time, lastError: null, deliveredAt: null,
      });
    }
  }

  // ---- sessions

  async createSession(session: Session, hosts: Host[], infrastructure: string, events: NewEvent[], now: number, operation?: ClusterOperation) {
    if (operation) throw new RefusedError(NOT_IN_REHEARSAL);
    const keys = hosts.map((h) => `${infrastructure}\u0000${h.name}`);
    const held: HostClaim[] = [];
    keys.forEach((k, n) => {
      const owner = this.claims.get(k);
      if (owner !== undefined && owner !== session.id) held.push({ host: hosts[n]!.name, sessionId: owner });
    });
    if (held.length) throw new HostsClaimedError(held);
    for (const k of keys) this.claims.set(k, session.id);
    this.sessions.set(session.id, {
      session: copySession(session),
      hosts: new Map(),
      projects: new Map(),
      instances: new Map(),
      byProject: new Map(),
      byWave: new Map(),
      operations: new Map(),
      replies: [],
      claims: keys,
    });
    return this.write(session.id, { changes: { hosts }, events }, now);
  }

  async findSession(id: string) {
    const d = this.sessions.get(id);
    return d ? copySession(d.session) : null;
  }

  async loadSession(id: string): Promise<SessionRows | null> {
    const d = this.sessions.get(id);
    if (!d) return null;
    const down = new Set([...d.hosts.values()].filter((h) => h.state === 'IN_MAINTENANCE' || h.state === 'FAILED').map((h) => h.name));
    const operations = [...d.operations.values()]
      .filter((op) => isOpen(op) || !op.key.startsWith('host:') || down.has(op.target))
      .sort(byId)
      .map((op) => ({ ...op }));
    return {
      session: copySession(d.session),
      hosts: [...d.hosts.values()].sort((a, b) => byText(a.name, b.name)).map((h) => ({ ...h })),
      projects: [...d.projects.values()].sort((a, b) => byText(a.projectId, b.projectId)).map((p) => ({ ...p })),
      instances: this.sortedInstances(d, d.instances.keys()),
      operations,
    };
  }

  async activeSessionIds() {
    return [...this.sessions.values()]
      .filter((d) => !isTerminal(d.session.state))
      .sort((a, b) => a.session.createdAt - b.session.createdAt)
      .map((d) => d.session.id);
  }

  async deleteSession(id: string) {
    const d = this.sessions.get(id);
    if (d) for (const k of d.claims) if (this.claims.get(k) === id) this.claims.delete(k);
    this.sessions.delete(id);
    this.leases.delete(id);
    for (let n = this.runs.length - 1; n >= 0; n--) if (this.runs[n]!.sessionId === id) this.runs.splice(n, 1);
    return [];
  }

  async commit(sessionId: string, fence: Fence, write: Write, now: number) {
    const lease = this.leases.get(sessionId);
    if (!lease || lease.owner !== fence.owner || lease.epoch !== fence.epoch) throw new LeaseLostError(sessionId);
    // A session that is done gives its hosts back with the same write.
    if (write.changes.session?.state === 'MAINTENANCE_DONE') await this.releaseClaims(sessionId);
    return this.write(sessionId, write, now);
  }

  async updateProject(sessionId: string, projectId: string, decide: (rows: ProjectRows) => Write, now: number) {
    const d = this.data(sessionId);
    const stored = d.projects.get(projectId);
    const project = stored ? { ...stored } : null;
    const ids = !project ? [] : project.wave === null ? (d.byProject.get(projectId) ?? []) : (d.byWave.get(waveKey(projectId, project.wave)) ?? []);
    const rows = { session: copySession(d.session), project, instances: this.sortedInstances(d, ids) };
    return this.write(sessionId, decide(rows), now);
  }

  async updateSession(sessionId: string, decide: (rows: SessionRows) => Write, now: number) {
    const rows = await this.loadSession(sessionId);
    if (!rows) throw new NotFoundError(`no session ${sessionId}`);
    return this.write(sessionId, decide(rows), now);
  }

  async record(sessionId: string, write: Write, now: number) {
    return this.write(sessionId, write, now);
  }

  async repliesSince(sessionId: string, afterId: number) {
    const replies = this.sessions.get(sessionId)?.replies ?? [];
    // Ids only grow: the replies after afterId are the list's tail.
    let n = replies.length;
    while (n > 0 && replies[n - 1]!.id > afterId) n--;
    return replies.slice(n).map((r) => ({ id: r.id, projectId: r.projectId, state: r.state, instanceActions: Object.fromEntries(r.actions), receivedAt: r.receivedAt }));
  }

  async latestReplyId(sessionId: string) {
    return this.sessions.get(sessionId)?.replies.at(-1)?.id ?? 0;
  }

  async releaseClaims(sessionId: string) {
    const d = this.sessions.get(sessionId);
    if (!d) return;
    for (const k of d.claims) if (this.claims.get(k) === sessionId) this.claims.delete(k);
    d.claims = [];
  }

  /** By id (the default sort orders strings as byText does, without calling back for each pair). */
  private sortedInstances(d: SessionData, ids: Iterable<string>): Instance[] {
    const sorted = [...ids].sort();
    return this.sharesRows ? sorted.map((id) => d.instances.get(id)!) : sorted.map((id) => ({ ...d.instances.get(id)! }));
  }

  // ---- releases and clusters: none in a rehearsal (reads find nothing, writes are refused)

  async cluster(): Promise<Cluster | null> {
    return null;
  }

  async clusters(): Promise<Cluster[]> {
    return [];
  }

  async createCluster(): Promise<void> {
    throw new RefusedError(NOT_IN_REHEARSAL);
  }

  async release(): Promise<Release | null> {
    return null;
  }

  async releases(): Promise<Release[]> {
    return [];
  }

  async addRelease(): Promise<void> {
    throw new RefusedError(NOT_IN_REHEARSAL);
  }

  async removeRelease(name: string): Promise<Release> {
    throw new NotFoundError(`no release ${name}: ${NOT_IN_REHEARSAL}`);
  }

  async notifications(): Promise<Notification[]> {
    return [];
  }

  async clusterOperation(): Promise<ClusterOperation | null> {
    return null;
  }

  async pendingAutoRollbacks(): Promise<string[]> {
    return [];
  }

  async settleCluster(): Promise<SessionEvent[]> {
    throw new RefusedError(NOT_IN_REHEARSAL);
  }

  // ---- subscriptions and constraints

  async isSubscribed(projectId: string, sessionId: string) {
    return [...this.subscriptions.values()].some(
      (s) => s.projectId === projectId && (s.eventType === 'maintenance.planned' || s.eventType === 'maintenance.scheduled') && (s.sessionId === null || s.sessionId === sessionId),
    );
  }

  async constraintsOf(projectIds: readonly string[]): Promise<ConstraintRows> {
    const wanted = new Set(projectIds);
    return this.constraintRows((projectId) => wanted.has(projectId));
  }

  async listConstraints(projectId?: string): Promise<ConstraintRows> {
    return this.constraintRows((p) => projectId === undefined || p === projectId);
  }

  private constraintRows(wanted: (projectId: string) => boolean): ConstraintRows {
    return {
      groups: this.constraints.groups.filter((g) => wanted(g.projectId)).sort((a, b) => byText(a.groupId, b.groupId)).map((g) => ({ ...g })),
      instances: this.constraints.instances.filter((i) => wanted(i.projectId)).sort((a, b) => byText(a.instanceId, b.instanceId)).map((i) => ({ ...i })),
    };
  }

  async instanceGroup(groupId: string): Promise<GroupConstraint | null> {
    const found = this.constraints.groups.find((g) => g.groupId === groupId);
    return found ? { ...found } : null;
  }

  async instanceConstraint(instanceId: string): Promise<InstanceConstraint | null> {
    const found = this.constraints.instances.find((i) => i.instanceId === instanceId);
    return found ? { ...found } : null;
  }

  async putInstanceGroup(group: GroupConstraint): Promise<GroupConstraint> {
    this.constraints.groups = [...this.constraints.groups.filter((g) => g.groupId !== group.groupId), { ...group }];
    return { ...group };
  }

  async putInstanceConstraint(row: InstanceConstraint): Promise<InstanceConstraint> {
    this.constraints.instances = [...this.constraints.instances.filter((i) => i.instanceId !== row.instanceId), { ...row }];
    return { ...row };
  }

  async deleteInstanceGroup(groupId: string): Promise<boolean> {
    const before = this.constraints.groups.length;
    this.constraints.groups = this.constraints.groups.filter((g) => g.groupId !== groupId);
    return this.constraints.groups.length < before;
  }

  async deleteInstanceConstraint(instanceId: string): Promise<boolean> {
    const before = this.constraints.instances.length;
    this.constraints.instances = this.constraints.instances.filter((i) => i.instanceId !== instanceId);
    return this.constraints.instances.length < before;
  }

  // ---- leases: only this process reads this repository, so an owner is never a process gone

  async acquireLease(sessionId: string, owner: string, now: number, ttlMs: number) {
    const lease = this.leases.get(sessionId);
    if (lease && lease.owner !== owner && lease.expiresAt > now) return null;
    const epoch = lease ? lease.epoch + (lease.owner === owner ? 0 : 1) : 1;
    this.leases.set(sessionId, { owner, hostname: hostname(), pid: process.pid, expiresAt: now + ttlMs, epoch });
    return epoch;
  }

  async releaseLease(sessionId: string, owner: string) {
    if (this.leases.get(sessionId)?.owner === owner) this.leases.delete(sessionId);
  }

  async leaseHeld(sessionId: string, now: number) {
    const lease = this.leases.get(sessionId);
    return lease !== undefined && lease.expiresAt > now;
  }

  async heldLeases(now: number) {
    return [...this.leases]
      .filter(([, l]) => l.expiresAt > now)
      .map(([sessionId, l]) => ({ sessionId, ...l }))
      .sort((a, b) => byText(a.owner, b.owner) || byText(a.sessionId, b.sessionId));
  }

  async lease(sessionId: string) {
    const lease = this.leases.get(sessionId);
    return lease ? { ...lease } : null;
  }

  // ---- other processes: there are none

  async changeToken() {
    return 0;
  }

  async pendingRequests() {
    return [];
  }

  async finishRequest() {}

  // ---- plug-in runs

  async startPluginRun(run: NewPluginRun) {
    const id = ++this.ids.run;
    this.runs.push({ id, ...run, status: 'running', exitStatus: null, cause: null, output: '', outputChars: 0, endedAt: null });
    return id;
  }

  async updatePluginRun(id: number, update: PluginRunUpdate) {
    const run = this.runs.find((r) => r.id === id);
    if (!run) return;
    for (const [k, v] of Object.entries(update)) if (v !== undefined) (run as unknown as Record<string, unknown>)[k] = v;
  }

  async pluginRuns(sessionId: string, filter: PluginRunFilter = {}) {
    return this.runs
      .filter(
        (r) =>
          r.sessionId === sessionId &&
          (filter.host === undefined || r.host === filter.host) &&
          (filter.plugin === undefined || r.plugin === filter.plugin) &&
          (filter.key === undefined || r.key === filter.key) &&
          r.id > (filter.afterId ?? 0),
      )
      .map((r) => ({ ...r }));
  }

  async pluginRunTails(sessionId: string) {
    return (await this.pluginRuns(sessionId)).map((r) => ({ ...r, output: r.output.slice(-TAIL_CHARS) }));
  }

  // ---- events and the outbox

  async events(sessionId: string | null, afterId = 0) {
    const list = sessionId === null ? this.events_ : (this.sessionEvents.get(sessionId) ?? []);
    let n = list.length;
    while (n > 0 && list[n - 1]!.id > afterId) n--;
    return list.slice(n);
  }

  /** How many events a session has recorded, kept or not. */
  eventCount(sessionId: string): number {
    return this.eventCounts.get(sessionId) ?? 0;
  }

  async event(id: number) {
    // The list is in the order of the ids.
    let lo = 0;
    let hi = this.events_.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = this.events_[mid]!;
      if (e.id === id) return e;
      if (e.id < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return null;
  }

  async latestEventId() {
    return this.ids.event;
  }

  /** The pending head of each subscription's line (later ones wait behind it). */
  private heads(): Delivery[] {
    const heads = new Map<number, Delivery>();
    for (const d of this.deliveries) if (d.status === 'pending' && !heads.has(d.subscriptionId)) heads.set(d.subscriptionId, d);
    return [...heads.values()].sort(byId);
  }

  async nextDeliveryAt(exceptSubscriptions: number[] = []) {
    const times = this.heads().filter((d) => !exceptSubscriptions.includes(d.subscriptionId)).map((d) => d.nextAttemptAt);
    return times.length ? Math.min(...times) : null;
  }

  /** One engine delivers this outbox: a claim is only the list of what is due. */
  async claimDeliveries(_owner: string, now: number, _claimMs: number, exceptSubscriptions: number[]) {
    return this.heads()
      .filter((d) => d.nextAttemptAt <= now && !exceptSubscriptions.includes(d.subscriptionId))
      .slice(0, 64)
      .map((d) => ({ ...d }));
  }

  async recordDelivery(id: number, _owner: string, outcome: DeliveryOutcome) {
    const d = this.deliveries.find((x) => x.id === id);
    // Only while still pending: an unsubscribe during the attempt cancelled it for good.
    if (!d || d.status !== 'pending') return;
    Object.assign(d, { status: outcome.status, attempts: outcome.attempts, nextAttemptAt: outcome.nextAttemptAt, lastError: outcome.error, deliveredAt: outcome.deliveredAt });
  }

  async findSubscription(id: number) {
    const s = this.subscriptions.get(id);
    return s ? { ...s } : null;
  }

  // ---- views

  async resolveSessionId(idOrPrefix: string) {
    if (!idOrPrefix) throw new InvalidInputError('a session id (or a prefix of one) is needed');
    const prefix = idOrPrefix.toLowerCase();
    const ids = [...this.sessions.keys()].filter((id) => id.toLowerCase().startsWith(prefix)).sort(byText);
    return pickSessionId(idOrPrefix, ids.slice(0, AMBIGUOUS_SHOWN + 1));
  }

  async sessionCounts(): Promise<SessionCount[]> {
    return [...this.sessions.values()]
      .map(({ session: s, hosts }) => ({
        id: s.id,
        state: s.state,
        workflow: s.workflow,
        createdAt: s.createdAt,
        updatedAt: s.updatedAt,
        hostsTotal: hosts.size,
        hostsMaintained: [...hosts.values()].filter((h) => h.state === 'MAINTAINED').length,
      }))
      .sort((a, b) => a.createdAt - b.createdAt || byText(a.id, b.id));
  }

  async sessionDeliveries(sessionId: string) {
    return this.deliveries.filter((d) => d.sessionId === sessionId).map((d) => ({ ...d }));
  }

  // ---- subscriptions

  async subscribe(sub: NewSubscription, now: number) {
    const same = [...this.subscriptions.values()].find(
      (s) => s.projectId === sub.projectId && s.eventType === sub.eventType && s.url === sub.url && s.sessionId === sub.sessionId,
    );
    if (same) {
      same.format = sub.format;
      same.allowedHost = sub.allowedHost ?? null;
      return { ...same };
    }
    const created: Subscription = { id: ++this.ids.subscription, ...sub, allowedHost: sub.allowedHost ?? null, createdAt: now };
    this.subscriptions.set(created.id, created);
    return { ...created };
  }

  async unsubscribe(projectId: string, filter: SubscriptionFilter) {
    const matching = (await this.listSubscriptions(projectId)).filter((s) => matchesFilter(s, filter));
    for (const s of matching) {
      for (const d of this.deliveries) if (d.subscriptionId === s.id && d.status === 'pending') d.status = 'cancelled';
      this.subscriptions.delete(s.id);
    }
    return matching.length;
  }

  async listSubscriptions(projectId?: string) {
    return [...this.subscriptions.values()]
      .filter((s) => projectId === undefined || s.projectId === projectId)
      .sort((a, b) => (projectId === undefined ? byText(a.projectId, b.projectId) : 0) || a.id - b.id)
      .map((s) => ({ ...s }));
  }
}

function add(index: Map<string, Set<string>>, key: string, id: string): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(id);
}

/** Whether an update of the operation changes only what an update writes (status, times, cause, result). */
function sameFixed(stored: Operation, op: Operation): boolean {
  return (
    stored.id === op.id && stored.sessionId === op.sessionId && stored.kind === op.kind && stored.target === op.target &&
    stored.key === op.key && stored.attempt === op.attempt && stored.params === op.params && stored.createdAt === op.createdAt
  );
}

function copySession(s: Session): Session {
  return { ...s, actions: s.actions.map((a) => ({ ...a })) };
}

/** What never changes after a session is created (as the SQL stores write it): kept from the stored row. */
function keepFixed(stored: Session, next: Session): Session {
  return {
    ...next,
    workflow: stored.workflow,
    driver: stored.driver,
    download: stored.download,
    pluginDirs: stored.pluginDirs,
    actions: stored.actions,
    createdAt: stored.createdAt,
  };
}
