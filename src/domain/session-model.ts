// A running session in memory: its rows indexed the ways the workflow asks about them (hosts by
// lane state, instances by host, load per host with the room reserved for moves heading there,
// open questions, operations by key), and the rows changed since the last write. The runner loads
// it once, the workflow reads it, every change goes through it, and the changed rows are written
// through to the store once per plan: the cost of a step grows with what changed, not with the cloud.
import { NO_CONSTRAINTS, recoveryUntil, type Constraints } from './constraints.js';
import type { Host, Instance, Operation, Project, Session } from './model.js';
import { OrderedSet } from './ordered-set.js';
import type { HostState, HostType } from './states.js';

export interface Load {
  vcpus: number;
  memoryMb: number;
}

export interface ModelRows {
  session: Session;
  hosts: Host[];
  projects: Project[];
  instances: Instance[];
  operations: Operation[];
}

export interface ModelChanges {
  session?: Session;
  hosts: Host[];
  projects: Project[];
  instances: Instance[];
  removedInstances: string[];
  operations: Operation[];
}

/** Done operations whose effect lives in the rows (an instance's host, a host's flag): forgotten once written. */
const FORGETTABLE = /^(move|disable|enable):/;

export class SessionModel {
  private current: Session;
  private readonly hostRows = new Map<string, Host>();
  private readonly projectRows = new Map<string, Project>();
  private readonly instanceRows = new Map<string, Instance>();
  private readonly byHost = new Map<string, Set<string>>();
  private readonly loads = new Map<string, Load>();
  private readonly lanes = new Map<string, Set<string>>();
  private readonly ops = new Map<string, Operation>();
  private readonly openOps = new Set<Operation>();
  /** Instances in a wave that have not left their host yet (insertion order: wave, then host; iterated from its front every plan). */
  readonly inWave = new OrderedSet<string>();
  /** Instances that left a wave's host since they were last reported (INSTANCE_ACTION_DONE is due). */
  readonly arrived = new Set<string>();
  /** Hosts being emptied that the cloud may still schedule onto (to be disabled first). */
  readonly emptyingEnabled = new Set<string>();
  /** Hosts being emptied that hold no instance any more (to be confirmed empty by a read). */
  readonly drained = new Set<string>();
  /** Instances on a host being emptied that belong to no wave: they arrived after it was planned. */
  readonly strays = new Set<string>();
  /** Instances of a wave whose project moves them itself (OWN_ACTION), until they are gone. */
  readonly ownActions = new Set<string>();
  /** Operations that failed (the newest attempt of their key). */
  readonly failedOperations = new Set<Operation>();
  /** Projects asked in the current visit that have not answered. */
  readonly openQuestions = new Set<string>();
  /** Projects that rejected (NACK) the question of the current visit. */
  readonly rejected = new Set<string>();
  /** Computes that still take instances although not maintained (to be disabled before maintenance). */
  readonly enabledUnmaintained = new Set<string>();
  /** Maintained computes this session disabled: to be enabled again. */
  readonly maintainedDisabled = new Set<string>();
  /** Bumped when a host enters (or is rewritten in) PENDING; load changes show in freeRoom('PENDING'). */
  pendingRevision = 0;
  /** The time of the step being planned (set by the runner): stamps when a host lost its last instance. */
  time = 0;
  /** True until the first plan after loading: questions left unanswered by an earlier run are asked again then. */
  freshlyLoaded = true;
  /** The constraints of the session's projects (read by the runner from the store, not rows of the session). */
  constraints: Constraints = NO_CONSTRAINTS;

  /** When each host was last read from the infrastructure (in memory only: a restarted engine reads afresh). */
  private readonly hostSyncs = new Map<string, number>();
  private readonly leftAt = new Map<string, number>();
  private readonly incoming = new Map<string, number>();
  private readonly waves = new Map<number, Set<string>>();

  private dirtySession = false;
  private readonly dirtyHosts = new Set<string>();
  private readonly dirtyProjects = new Set<string>();
  private readonly dirtyInstances = new Set<string>();
  private readonly removed = new Set<string>();
  private readonly dirtyOps = new Set<Operation>();

  constructor(rows: ModelRows) {
    this.current = rows.session;
    for (const h of rows.hosts) this.indexHost(h);
    for (const i of rows.instances) this.indexInstance(i);
    for (const p of rows.projects) this.projectRows.set(p.projectId, p);
    for (const op of rows.operations) this.indexOperation(op);
    this.reindexQuestions();
  }

  // ---- reading

  get session(): Session {
    return this.current;
  }

  host(name: string): Host | undefined {
    return this.hostRows.get(name);
  }

  hosts(): IterableIterator<Host> {
    return this.hostRows.values();
  }

  get hostCount(): number {
    return this.hostRows.size;
  }

  /** Names of hosts of a type in a lane state. */
  inLane(type: HostType, state: HostState): ReadonlySet<string> {
    return this.lanes.get(`${type}:${state}`) ?? EMPTY;
  }

  count(type: HostType, state: HostState): number {
    return this.inLane(type, state).size;
  }

  project(id: string): Project | undefined {
    return this.projectRows.get(id);
  }

  projects(): IterableIterator<Project> {
    return this.projectRows.values();
  }

  instance(id: string): Instance | undefined {
    return this.instanceRows.get(id);
  }

  instances(): IterableIterator<Instance> {
    return this.instanceRows.values();
  }

  instanceCount(): number {
    return this.instanceRows.size;
  }

  instancesOn(host: string): Instance[] {
    return [...(this.byHost.get(host) ?? EMPTY)].map((id) => this.instanceRows.get(id)!);
  }

  /** The instances assigned to a wave (those that left their host included). */
  waveMembers(wave: number): Instance[] {
    return [...(this.waves.get(wave) ?? EMPTY)].map((id) => this.instanceRows.get(id)!);
  }

  /** Whether an instance on the host has a floating IP (looked for without listing them). */
  floatingIpOn(host: string): boolean {
    for (const id of this.byHost.get(host) ?? EMPTY) if (this.instanceRows.get(id)!.floatingIp) return true;
    return false;
  }

  instanceCountOn(host: string): number {
    return this.byHost.get(host)?.size ?? 0;
  }

  /** What a host holds as the session sees it: its instances plus the room reserved for moves heading there (read it, do not keep it). */
  load(host: string): Readonly<Load> {
    return this.loads.get(host) ?? NO_LOAD;
  }

  /** The operation for a lane step, if one was recorded (the newest attempt's). */
  operation(key: string): Operation | undefined {
    return this.ops.get(key);
  }

  openOperations(): Operation[] {
    return [...this.openOps];
  }

  hostSyncedAt(host: string): number {
    return this.hostSyncs.get(host) ?? 0;
  }

  /** When an instance last left the host (0: none did since the engine started). */
  lastLeft(host: string): number {
    return this.leftAt.get(host) ?? 0;
  }

  /** Moves planned onto the host that have not arrived. */
  reservedOn(host: string): number {
    return this.incoming.get(host) ?? 0;
  }

  // ---- changing

  markSynced(hosts: Iterable<string>, now: number): void {
    for (const h of hosts) this.hostSyncs.set(h, now);
  }

  updateSession(patch: Partial<Session>): void {
    const visitChanged = patch.visit !== undefined && patch.visit !== this.current.visit;
    this.current = { ...this.current, ...patch };
    this.dirtySession = true;
    if (visitChanged) this.reindexQuestions();
  }

  updateHost(name: string, patch: Partial<Host>): void {
    const row = this.hostRows.get(name);
    if (!row || unchanged(row, patch)) return;
    // Once disabled, what was read of the host may predate an instance the scheduler put there.
    if (patch.disabled === true && !row.disabled) this.hostSyncs.delete(name);
    this.unindexHost(row);
    this.indexHost({ ...row, ...patch });
    this.dirtyHosts.add(name);
  }

  /** `stored`: the store already holds this row as it is now (a reply another caller wrote): nothing to write. */
  putProject(project: Project, stored = false): void {
    this.projectRows.set(project.projectId, project);
    this.indexQuestion(project);
    if (!stored) this.dirtyProjects.add(project.projectId);
  }

  updateProject(id: string, patch: Partial<Project>): void {
    const row = this.projectRows.get(id);
    if (row) this.putProject({ ...row, ...patch });
  }

  addInstance(instance: Instance): void {
    this.indexInstance(instance);
    this.removed.delete(instance.instanceId);
    this.dirtyInstances.add(instance.instanceId);
  }

  updateInstance(id: string, patch: Partial<Instance>, stored = false): void {
    const row = this.instanceRows.get(id);
    if (!row || unchanged(row, patch)) return;
    const next = { ...row, ...patch };
    const leftWave = next.host !== row.host && row.wave !== null && !row.actionDone;
    if (next.host !== row.host) this.departed(row.host);
    // Most updates (an action chosen, a question's state) leave the load of every host as it was.
    const sameLoad = next.instanceId === id && next.host === row.host && next.target === row.target && next.vcpus === row.vcpus && next.memoryMb === row.memoryMb;
    if (next.instanceId !== id) {
      this.removeInstance(id);
      if (leftWave) this.arrived.add(next.instanceId);
      this.indexInstance(next, !sameLoad);
    } else if (sameLoad) {
      this.unindexInstance(row, false, true);
      if (leftWave) this.arrived.add(next.instanceId);
      this.indexInstance(next, false);
    } else {
      this.refreshRoomsLater(() => {
        this.unindexInstance(row, true, true);
        if (leftWave) this.arrived.add(next.instanceId);
        this.indexInstance(next, true);
      });
    }
    this.removed.delete(next.instanceId);
    if (!stored) this.dirtyInstances.add(next.instanceId);
  }

  /**
   * INSTANCE_ACTION_DONE was sent at `at`: the instance is out of its wave, and its group's
   * recovery runs from then (not from the pass's start, which may be earlier than the move's end).
   */
  markActionDone(id: string, at = this.time): void {
    this.arrived.delete(id);
    this.updateInstance(id, { actionDone: true, target: null });
    const group = this.constraints.groupOf(id);
    if (group && group.recoveryTime > 0) this.noteRecovery(id, recoveryUntil(group, Math.max(at, this.time)));
  }

  /** Until when a moved group member recovers (it counts as impacted until then); kept with the session, so a restart keeps it. */
  private noteRecovery(id: string, until: number): void {
    const live = Object.entries(this.current.data.recovering ?? {}).filter(([, t]) => t > this.time);
    this.updateSession({ data: { ...this.current.data, recovering: { ...Object.fromEntries(live), [id]: until } } });
  }

  removeInstance(id: string): void {
    const row = this.instanceRows.get(id);
    if (!row) return;
    this.departed(row.host);
    this.unindexInstance(row);
    this.arrived.delete(id);
    this.dirtyInstances.delete(id);
    this.removed.add(id);
  }

  putOperation(op: Operation): void {
    const previous = this.ops.get(op.key);
    if (previous && previous !== op) {
      this.openOps.delete(previous);
      this.failedOperations.delete(previous);
    }
    this.indexOperation(op);
    this.dirtyOps.add(op);
  }

  /**
   * When to look at a requested operation again. Kept in memory only: a restarted engine looks at
   * every open operation at once, so writing each new time would only cost a row per look.
   */
  reschedule(key: string, checkAt: number): void {
    const op = this.ops.get(key);
    if (!op || op.checkAt === checkAt) return;
    const next = { ...op, checkAt };
    this.openOps.delete(op);
    this.failedOperations.delete(op);
    this.indexOperation(next);
    if (this.dirtyOps.delete(op)) this.dirtyOps.add(next);
  }

  /** The rows changed since the last call; done lane steps are forgotten (their effect is in the rows). */
  takeChanges(): ModelChanges {
    const changes: ModelChanges = {
      session: this.dirtySession ? this.current : undefined,
      hosts: [...this.dirtyHosts].map((n) => this.hostRows.get(n)!),
      projects: [...this.dirtyProjects].map((p) => this.projectRows.get(p)!),
      instances: [...this.dirtyInstances].map((i) => this.instanceRows.get(i)!),
      removedInstances: [...this.removed],
      operations: [...this.dirtyOps],
    };
    for (const op of this.dirtyOps) {
      if (op.status === 'done' && FORGETTABLE.test(op.key) && this.ops.get(op.key) === op) this.ops.delete(op.key);
    }
    this.dirtySession = false;
    this.dirtyHosts.clear();
    this.dirtyProjects.clear();
    this.dirtyInstances.clear();
    this.removed.clear();
    this.dirtyOps.clear();
    return changes;
  }

  hasChanges(): boolean {
    return this.dirtySession || this.dirtyHosts.size + this.dirtyProjects.size + this.dirtyInstances.size + this.removed.size + this.dirtyOps.size > 0;
  }

  // ---- indexes

  /** An instance left the host: what was read of it is stale. */
  private departed(host: string): void {
    this.hostSyncs.delete(host);
    this.leftAt.set(host, this.time);
  }

  /**
   * Free room on the computes a wave can place instances on (enabled, PENDING or MAINTAINED),
   * kept per host and summed per lane: planning a wave is worth trying again only when it changed.
   */
  private readonly room = new Map<string, { lane: HostState; vcpus: number; memoryMb: number }>();
  private readonly roomTotals = new Map<HostState, { vcpus: number; memoryMb: number }>();

  /** Hosts with room have an entry here per lane: a wave's targets are these, not every host of the lane. */
  private readonly roomy = new Map<HostState, Set<string>>();

  freeRoom(lane: 'PENDING' | 'MAINTAINED'): { vcpus: number; memoryMb: number } {
    const total = this.roomTotals.get(lane);
    return total ? { ...total } : { vcpus: 0, memoryMb: 0 };
  }

  /** The computes of the lane that can take at least a little more (enabled, some vCPUs and memory free). */
  withRoom(lane: 'PENDING' | 'MAINTAINED'): ReadonlySet<string> {
    return this.roomy.get(lane) ?? NO_HOSTS;
  }

  /** Adds to a lane's free room (totals are changed in place: this runs several times per move). */
  private addRoom(lane: HostState, vcpus: number, memoryMb: number): void {
    const total = this.roomTotals.get(lane);
    if (!total) {
      this.roomTotals.set(lane, { vcpus, memoryMb });
      return;
    }
    total.vcpus += vcpus;
    total.memoryMb += memoryMb;
  }

  private refreshRoom(name: string): void {
    const old = this.room.get(name);
    if (old) {
      this.addRoom(old.lane, -old.vcpus, -old.memoryMb);
      this.roomy.get(old.lane)?.delete(name);
    }
    const h = this.hostRows.get(name);
    if (!h || h.type !== 'compute' || h.disabled || h.disabledBefore || (h.state !== 'PENDING' && h.state !== 'MAINTAINED')) {
      if (old) this.room.delete(name);
      return;
    }
    const load = this.load(name);
    const vcpus = Math.max(0, h.vcpus - load.vcpus);
    const memoryMb = h.memoryMb === null ? 0 : Math.max(0, h.memoryMb - load.memoryMb);
    if (old) {
      old.lane = h.state;
      old.vcpus = vcpus;
      old.memoryMb = memoryMb;
    } else this.room.set(name, { lane: h.state, vcpus, memoryMb });
    this.addRoom(h.state, vcpus, memoryMb);
    if (vcpus > 0 && (h.memoryMb === null || memoryMb > 0)) {
      let set = this.roomy.get(h.state);
      if (!set) this.roomy.set(h.state, (set = new Set()));
      set.add(name);
    }
  }

  private indexHost(h: Host): void {
    this.hostRows.set(h.name, h);
    const lane = `${h.type}:${h.state}`;
    let set = this.lanes.get(lane);
    if (!set) this.lanes.set(lane, (set = new Set()));
    set.add(h.name);
    if (h.type === 'compute' && h.state !== 'MAINTAINED' && !h.disabled && !h.disabledBefore) this.enabledUnmaintained.add(h.name);
    if (h.type === 'compute' && h.state === 'MAINTAINED' && h.disabled && !h.disabledBefore) this.maintainedDisabled.add(h.name);
    if (h.state === 'PENDING') this.pendingRevision++;
    if (h.state === 'EMPTYING' && !h.disabled && !h.disabledBefore) this.emptyingEnabled.add(h.name);
    this.refreshDrained(h.name);
    this.refreshRoom(h.name);
  }

  private refreshDrained(name: string): void {
    if (this.hostRows.get(name)?.state === 'EMPTYING' && this.instanceCountOn(name) === 0) this.drained.add(name);
    else this.drained.delete(name);
  }

  private unindexHost(h: Host): void {
    this.lanes.get(`${h.type}:${h.state}`)?.delete(h.name);
    this.enabledUnmaintained.delete(h.name);
    this.maintainedDisabled.delete(h.name);
    this.emptyingEnabled.delete(h.name);
    this.drained.delete(h.name);
  }

  private addLoad(host: string, i: Instance, sign: 1 | -1): void {
    let load = this.loads.get(host);
    if (!load) this.loads.set(host, (load = { vcpus: 0, memoryMb: 0 }));
    load.vcpus += sign * i.vcpus;
    load.memoryMb += sign * (i.memoryMb ?? 0);
    if (this.roomLater) this.roomLater.push(host);
    else this.refreshRoom(host);
  }

  /** Hosts whose room is to be refreshed once the update under way is indexed (null: at once). */
  private roomLater: string[] | null = null;

  /**
   * Refreshes each host's room once, in the order the hosts were last touched: a host's room is
   * worked out afresh from its load, and it goes to the end of its lane's hosts with room, as
   * one refresh per load change would leave it, at about half the cost on the path every move takes.
   */
  private refreshRoomsLater(index: () => void): void {
    const hosts = (this.roomLater = []);
    try {
      index();
    } finally {
      this.roomLater = null;
    }
    for (let n = 0; n < hosts.length; n++) if (hosts.indexOf(hosts[n]!, n + 1) === -1) this.refreshRoom(hosts[n]!);
  }

  /** `loads`: false when the row replaces one with the same host, target and size (their loads, and whether the host is drained, stay as they are). */
  private indexInstance(i: Instance, loads = true): void {
    this.instanceRows.set(i.instanceId, i);
    let set = this.byHost.get(i.host);
    if (!set) this.byHost.set(i.host, (set = new Set()));
    set.add(i.instanceId);
    if (loads) this.drained.delete(i.host);
    if (loads) this.addLoad(i.host, i, 1);
    if (loads && i.target !== null && i.target !== i.host) {
      this.addLoad(i.target, i, 1);
      this.incoming.set(i.target, this.reservedOn(i.target) + 1);
    }
    if (i.wave !== null && !i.actionDone && !this.arrived.has(i.instanceId)) this.inWave.add(i.instanceId);
    else this.inWave.delete(i.instanceId);
    if (this.inWave.has(i.instanceId) && i.action === 'OWN_ACTION') this.ownActions.add(i.instanceId);
    else this.ownActions.delete(i.instanceId);
    const stray = this.hostRows.get(i.host)?.state === 'EMPTYING' && !this.inWave.has(i.instanceId) && !this.arrived.has(i.instanceId);
    if (stray) this.strays.add(i.instanceId);
    else this.strays.delete(i.instanceId);
    if (i.wave !== null) {
      let members = this.waves.get(i.wave);
      if (!members) this.waves.set(i.wave, (members = new Set()));
      members.add(i.instanceId);
    }
  }

  /**
   * `replacing`: a new row for the same id follows at once; its entry is overwritten, not deleted
   * and added again (that churns a map of every instance; nothing reads its order).
   */
  private unindexInstance(i: Instance, loads = true, replacing = false): void {
    if (!replacing) this.instanceRows.delete(i.instanceId);
    this.byHost.get(i.host)?.delete(i.instanceId);
    if (loads) this.refreshDrained(i.host);
    if (loads) this.addLoad(i.host, i, -1);
    if (loads && i.target !== null && i.target !== i.host) {
      this.addLoad(i.target, i, -1);
      this.incoming.set(i.target, this.reservedOn(i.target) - 1);
    }
    this.inWave.delete(i.instanceId);
    this.ownActions.delete(i.instanceId);
    this.strays.delete(i.instanceId);
    if (i.wave !== null) this.waves.get(i.wave)?.delete(i.instanceId);
  }

  private indexOperation(op: Operation): void {
    const known = this.ops.get(op.key);
    if (known) this.failedOperations.delete(known);
    if (!known || known.attempt <= op.attempt) this.ops.set(op.key, op);
    if (op.status === 'failed' && this.ops.get(op.key) === op) this.failedOperations.add(op);
    if (op.status === 'started' || op.status === 'requested') this.openOps.add(op);
    else this.openOps.delete(op);
  }

  private indexQuestion(p: Project): void {
    const current = p.state !== null && p.visit === this.current.visit;
    if (current && p.replyState === null) this.openQuestions.add(p.projectId);
    else this.openQuestions.delete(p.projectId);
    if (current && p.replyState?.startsWith('NACK_')) this.rejected.add(p.projectId);
    else this.rejected.delete(p.projectId);
  }

  private reindexQuestions(): void {
    this.openQuestions.clear();
    this.rejected.clear();
    for (const p of this.projectRows.values()) this.indexQuestion(p);
  }
}

const EMPTY: ReadonlySet<string> = new Set();
const NO_LOAD: Readonly<Load> = { vcpus: 0, memoryMb: 0 };
const NO_HOSTS: ReadonlySet<string> = new Set();

/** Whether a patch would leave the row as it is (scalar fields only: hosts and instances have no others). */
function unchanged<T extends object>(row: T, patch: Partial<T>): boolean {
  for (const key in patch) if (!Object.is(row[key], patch[key])) return false;
  return true;
}
