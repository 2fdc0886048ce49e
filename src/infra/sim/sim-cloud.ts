// The simulated cloud: hosts, instances and in-flight operations, moving in simulated time.
// Nova-like: moves are requested, take time, reserve room on the target, and can fail half-way
// leaving the instance where it was.
//
// The state lives in memory between calls and every change is written through to the store in
// the same call (src/store/sim-store.ts), so a restarted process loads exactly what was there.
// One SimCloud per store and cloud in a process (SimCloud.open), so the engine's driver, the
// scripted VNFMs and a test harness all see the same state. What another process writes to the
// sim tables while this one has the cloud open is not read again: the engine process owns the
// sim while it runs, and the next process to open the cloud loads the rows as they are then.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../domain/clock.js';
import { NotFoundError } from '../../domain/errors.js';
import {
  SimStore,
  type SimActRecord,
  type SimCloudState,
  type SimFault,
  type SimHostRecord,
  type SimInstanceRecord,
  type SimOperationRecord,
  type SimProjectRecord,
  type SimTiming,
} from '../../store/sim-store.js';
import type { Store } from '../../store/store.js';
import type { Accepted, HostScope, InfraHost, InfraInstance, MoveKind, Observation } from '../driver.js';
import { DueQueue } from './due-queue.js';

export type { SimFault, SimTiming };
export type SimProject = SimProjectRecord;

/** One of the sim's operations as a test (or a curious operator) sees it. */
export type SimOperation = SimOperationRecord;

export interface NewInstance {
  name: string;
  projectId: string;
  vcpus: number;
  memoryMb?: number | null;
  floatingIp: boolean;
}

interface HostState extends SimHostRecord {
  /** vCPUs of the instances here plus those claimed by moves heading here. */
  vcpusUsed: number;
  /** The same for memory (instances without a memory size count nothing). */
  memoryMbUsed: number;
  instances: Set<InstanceState>;
}

interface InstanceState extends SimInstanceRecord {
  /** The running move of this instance, whose target holds a claim for it. */
  move: SimOperationRecord | null;
  /** When it last joined a host, in link order: instances of one name are listed in this order. */
  linked: number;
}

interface FaultState {
  list: SimFault[];
  migrateFails: Set<string>;
  hostFails: Set<string>;
}

function faultState(faults: readonly SimFault[]): FaultState {
  const list = faults.map((f) => ({ ...f }));
  const migrateFails = new Set<string>();
  const hostFails = new Set<string>();
  for (const f of list) {
    if ('migrate_fails' in f) migrateFails.add(f.migrate_fails);
    else hostFails.add(f.host_fails);
  }
  return { list, migrateFails, hostFails };
}

const actKey = (sessionId: string, projectId: string, act: string) => `${sessionId}\u0000${projectId}\u0000${act}`;
const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
/** By name, then in the order the instances joined their hosts (as a stable sort of the map of every instance would give). */
const byNameThenLinked = (a: InstanceState, b: InstanceState) => byName(a, b) || a.linked - b.linked;

/** This copy of the cloud is older than the store: SimCloud.using runs the call again on a fresh one. */
export class StaleCopyError extends Error {
  constructor(cloudId: string) {
    super(`the copy of simulated cloud ${cloudId} in memory is older than the store`);
  }
}

export class SimCloud {
  private static readonly opened = new WeakMap<Store, Map<string, SimCloud>>();

  /**
   * The cloud `cloudId` of this store, loaded on first use and shared afterwards by every caller
   * in the process (the clock given first is the one it keeps).
   */
  static open(store: Store, clock: Clock, cloudId: string): SimCloud {
    let clouds = SimCloud.opened.get(store);
    if (!clouds) SimCloud.opened.set(store, (clouds = new Map()));
    // Another process wrote to the store (e.g. a test or an application changing the cloud
    // behind the engine's back, as happens to real clouds): read the cloud afresh.
    // A scratch store has no other connection: its version never changes (and reading it on every driver call costs a query).
    const version = store.scratch ? 0 : store.dataVersion();
    const known = clouds.get(cloudId);
    if (known && known.version === version) return known;
    const db = new SimStore(store);
    const state = db.load(cloudId);
    if (!state) throw new NotFoundError(`no simulated cloud ${cloudId} in this store`);
    const cloud = new SimCloud(db, clock, state);
    cloud.version = version;
    clouds.set(cloudId, cloud);
    return cloud;
  }

  /**
   * Runs fn on the current copy of the cloud. Should another connection write between the read of
   * that copy and fn's first change (a second engine process on one store), nothing is changed and
   * fn runs again, this time holding the store's write lock from the read on, so nobody can.
   */
  static using<T>(store: Store, clock: Clock, cloudId: string, fn: (cloud: SimCloud) => T): T {
    try {
      return fn(SimCloud.open(store, clock, cloudId));
    } catch (err) {
      if (!(err instanceof StaleCopyError)) throw err;
    }
    try {
      return store.tx(() => fn(SimCloud.open(store, clock, cloudId)));
    } catch (err) {
      // The rollback of this outer transaction is not in the copy's journal: read it afresh next time.
      SimCloud.forget(store, cloudId);
      throw err;
    }
  }

  /** The store's data version when this copy was read (own writes do not change it). */
  private version = -1;

  /** Drops the shared instance of a cloud whose rows were removed. */
  static forget(store: Store, cloudId: string): void {
    SimCloud.opened.get(store)?.delete(cloudId);
  }

  readonly cloudId: string;
  private timingNow: SimTiming;
  private faultsNow: FaultState;
  private readonly hostsByName = new Map<string, HostState>();
  /** Every host, by name; computes alone, by name (placement scans them). */
  private readonly hostList: HostState[] = [];
  private readonly computes: HostState[] = [];
  private readonly instancesById = new Map<string, InstanceState>();
  private readonly projectsById = new Map<string, SimProjectRecord>();
  private readonly projectList: SimProjectRecord[];
  private readonly operationsByKey = new Map<string, SimOperationRecord>();
  private readonly running = new DueQueue<SimOperationRecord>((a, b) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.key < b.key));
  private readonly acts = new Map<string, SimActRecord>();
  /** Undo steps of the memory changes made in the open transaction (null: none open). */
  private journal: Array<() => void> | null = null;

  private constructor(
    private readonly db: SimStore,
    private readonly clock: Clock,
    state: SimCloudState,
  ) {
    this.cloudId = state.id;
    this.timingNow = { ...state.timing };
    this.faultsNow = faultState(state.faults);
    for (const h of state.hosts) {
      const host: HostState = { ...h, vcpusUsed: 0, memoryMbUsed: 0, instances: new Set() };
      this.hostsByName.set(host.name, host);
      this.hostList.push(host);
      if (host.type === 'compute') this.computes.push(host);
    }
    this.hostList.sort(byName);
    this.computes.sort(byName);
    // The records loaded become the cloud's own (nobody else holds them): 200,000 instances are not copied.
    for (const i of state.instances) {
      const inst = i as InstanceState;
      inst.move = null;
      inst.linked = 0;
      this.link(inst);
    }
    this.projectList = state.projects.map((p) => ({ ...p })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const p of this.projectList) this.projectsById.set(p.id, p);
    for (const op of state.operations) {
      const record = { ...op };
      this.operationsByKey.set(record.key, record);
      if (record.outcome !== 'running') continue;
      this.running.push(record);
      const inst = record.kind === 'HOST_MAINTENANCE' ? undefined : this.instancesById.get(record.target);
      if (inst && record.to !== null) {
        inst.move = record;
        this.addUsage(record.to, inst, 1);
      }
    }
    for (const a of state.acts) this.acts.set(actKey(a.sessionId, a.projectId, a.act), a);
  }

  get timing(): SimTiming {
    return { ...this.timingNow };
  }

  get faults(): SimFault[] {
    return this.faultsNow.list.map((f) => ({ ...f }));
  }

  /** Replaces the injected faults (an operator fixing the cause, a test, `session update --cloud`). */
  setFaults(faults: readonly SimFault[]): void {
    this.write(() => {
      this.db.setFaults(this.cloudId, faults);
      const before = this.faultsNow;
      this.faultsNow = faultState(faults);
      this.undoable(() => (this.faultsNow = before));
    });
  }

  /** Replaces how long operations take; operations already running keep their due time. */
  setTiming(timing: SimTiming): void {
    for (const [field, value] of Object.entries(timing)) {
      if (!Number.isFinite(value) || value < 0) throw new Error(`timing ${field} must be a number of seconds, not ${String(value)}`);
    }
    this.write(() => {
      this.db.setTiming(this.cloudId, timing);
      const before = this.timingNow;
      this.timingNow = { ...timing };
      this.undoable(() => (this.timingNow = before));
    });
  }

  // ---- reads (each first applies whatever finished by now)

  /** The hosts of the scope (every host without one), by name; unknown names are left out. */
  hosts(scope?: HostScope): InfraHost[] {
    this.settle();
    return this.scoped(scope).map((h) => ({
      name: h.name,
      type: h.type,
      vcpus: h.vcpus,
      vcpusUsed: h.vcpusUsed,
      memoryMb: h.memoryMb,
      memoryMbUsed: h.memoryMb === null ? null : h.memoryMbUsed,
      enabled: h.enabled,
      disabledReason: h.disabledReason,
    }));
  }

  /** The instances on the hosts of the scope (all without one), by name. */
  instances(scope?: HostScope): InfraInstance[] {
    this.settle();
    const found: InstanceState[] = [];
    if (scope?.hosts === undefined) {
      for (const i of this.instancesById.values()) found.push(i);
      return found.sort(byNameThenLinked).map(toInfraInstance);
    }
    for (const host of this.scoped(scope)) for (const i of host.instances) found.push(i);
    return found.sort(byName).map(toInfraInstance);
  }

  /** One instance by id, or null. */
  instance(id: string): InfraInstance | null {
    this.settle();
    const inst = this.instancesById.get(id);
    return inst ? toInfraInstance(inst) : null;
  }

  projects(): SimProject[] {
    return this.projectList.map((p) => ({ ...p }));
  }

  project(id: string): SimProject | null {
    const p = this.projectsById.get(id);
    return p ? { ...p } : null;
  }

  /** Every operation the sim was asked for, running or finished, in due order. */
  operations(): SimOperation[] {
    return [...this.operationsByKey.values()]
      .sort((a, b) => a.dueAt - b.dueAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((op) => ({ ...op }));
  }

  private scoped(scope?: HostScope): HostState[] {
    if (scope?.hosts === undefined) return this.hostList;
    const picked = new Set<HostState>();
    for (const name of scope.hosts) {
      const host = this.hostsByName.get(name);
      if (host) picked.add(host);
    }
    return [...picked].sort(byName);
  }

  /**
   * Where the scheduler would put an instance of this size now: an enabled compute with room
   * (claims included), maintained ones first, then the one with most vCPUs free.
   */
  placeFor(vcpus: number, memoryMb: number | null, excludeHost: string | null): string | null {
    let best: HostState | null = null;
    for (const host of this.computes) {
      if (!host.enabled || host.name === excludeHost || roomFor(host, vcpus, memoryMb) !== null) continue;
      if (best === null || betterTarget(host, best)) best = host;
    }
    return best?.name ?? null;
  }

  // ---- host scheduling

  setEnabled(name: string, enabled: boolean, reason: string | null): void {
    const host = this.requireHost(name);
    this.write(() => {
      const disabledReason = enabled ? null : reason;
      this.db.setEnabled(this.cloudId, name, enabled, disabledReason);
      this.assign(host, 'enabled', enabled);
      this.assign(host, 'disabledReason', disabledReason);
      this.log(enabled ? 'sim.host.enabled' : 'sim.host.disabled', { host: name, reason });
    });
  }

  private requireHost(name: string): HostState {
    const host = this.hostsByName.get(name);
    if (!host) throw new NotFoundError(`host ${name} not found`);
    return host;
  }

  // ---- operations: requested now, finished (or failed) in simulated time

  /**
   * Starts moving an instance, to `to` when given (refused as Nova's scheduler would when it is
   * not an enabled compute with room), else where the scheduler puts it. Nothing happens when
   * an operation with this key was already requested.
   */
  requestMove(key: string, instanceId: string, kind: MoveKind, to: string | null = null): void {
    this.settle();
    if (this.operationsByKey.has(key)) return;
    const inst = this.instancesById.get(instanceId);
    if (!inst) throw new NotFoundError(`instance ${instanceId} could not be found`);
    if (inst.status !== 'ACTIVE') throw new Error(`cannot ${kind.toLowerCase()} instance ${instanceId} while it is in status ${inst.status}`);
    const target = to === null ? this.chosenTarget(inst) : this.namedTarget(inst, to);
    const seconds = kind === 'LIVE_MIGRATE' ? this.timingNow.live_migrate_s : this.timingNow.migrate_s;
    const from = inst.host;
    const op: SimOperationRecord = {
      key, kind, target: instanceId, from, to: target.name, dueAt: this.clock.now() + seconds * 1000, outcome: 'running', error: null,
    };
    this.write(() => {
      this.db.insertOperation(this.cloudId, op);
      this.db.updateInstance(this.cloudId, instanceId, from, 'MIGRATING');
      this.addOperation(op);
      this.assign(inst, 'status', 'MIGRATING');
      this.assign(inst, 'move', op);
      this.addUsage(target.name, inst, 1);
      this.log('sim.move.started', { key, instance_id: instanceId, name: inst.name, kind, from, to: target.name });
    });
  }

  private chosenTarget(inst: InstanceState): HostState {
    const name = this.placeFor(inst.vcpus, inst.memoryMb, inst.host);
    if (name === null) {
      const memory = inst.memoryMb === null ? '' : `, ${inst.memoryMb} MiB`;
      throw new Error(`no valid host was found for instance ${inst.name} (${inst.vcpus} vCPUs${memory})`);
    }
    return this.hostsByName.get(name)!;
  }

  private namedTarget(inst: InstanceState, to: string): HostState {
    const refuse = (why: string) => new Error(`no valid host was found for instance ${inst.name}: ${why}`);
    const host = this.hostsByName.get(to);
    if (!host) throw refuse(`${to} does not exist`);
    if (host.type !== 'compute') throw refuse(`${to} is a ${host.type}, not a compute`);
    if (host.name === inst.host) throw refuse(`it is already on ${to}`);
    if (!host.enabled) throw refuse(`${to} is disabled${host.disabledReason ? ` (${host.disabledReason})` : ''}`);
    const short = roomFor(host, inst.vcpus, inst.memoryMb);
    if (short !== null) throw refuse(short);
    return host;
  }

  requestHostMaintenance(key: string, name: string): void {
    this.settle();
    if (this.operationsByKey.has(key)) return;
    const host = this.requireHost(name);
    if (host.instances.size) {
      const left = [...host.instances].sort(byName).map((i) => i.name);
      throw new Error(`host ${name} still runs ${left.join(', ')}: refusing to take it down`);
    }
    const op: SimOperationRecord = {
      key, kind: 'HOST_MAINTENANCE', target: name, from: null, to: null,
      dueAt: this.clock.now() + this.timingNow.host_maintenance_s * 1000, outcome: 'running', error: null,
    };
    this.write(() => {
      this.db.insertOperation(this.cloudId, op);
      this.addOperation(op);
      this.log('sim.host.maintenance_started', { key, host: name });
    });
  }

  observe(key: string): Observation {
    this.settle();
    const op = this.operationsByKey.get(key);
    if (!op) return { phase: 'unknown' };
    if (op.outcome === 'running') return { phase: 'running', checkAt: op.dueAt };
    if (op.outcome === 'failed') return { phase: 'failed', cause: op.error ?? 'failed' };
    return { phase: 'done', result: op.to !== null ? { host: op.to } : {} };
  }

  /**
   * When a requested operation is due, while that is still to come (a caller need not look
   * before); nothing for one that is unknown, over, or due now (look at once, as without it).
   */
  accepted(key: string): Accepted | undefined {
    const op = this.operationsByKey.get(key);
    return op?.outcome === 'running' && op.dueAt > this.clock.now() ? { checkAt: op.dueAt } : undefined;
  }

  /** Applies every operation due by now, in due order (lazily: the sim has no background thread). */
  settle(): void {
    const now = this.clock.now();
    const first = this.running.peek();
    if (first === undefined || first.dueAt > now) return;
    this.write(() => {
      for (let op = this.running.peek(); op !== undefined && op.dueAt <= now; op = this.running.peek()) {
        this.running.pop();
        this.undoable(() => this.running.push(op!));
        // An operation whose request was rolled back may still sit in the queue: skip it.
        if (this.operationsByKey.get(op.key) !== op || op.outcome !== 'running') continue;
        if (op.kind === 'HOST_MAINTENANCE') this.finishHostMaintenance(op);
        else this.finishMove(op);
      }
    });
  }

  private finish(op: SimOperationRecord, outcome: 'done' | 'failed', error: string | null): void {
    this.db.finishOperation(this.cloudId, op.key, outcome, error);
    this.assign(op, 'outcome', outcome);
    this.assign(op, 'error', error);
  }

  private finishMove(op: SimOperationRecord): void {
    const id = op.target;
    const inst = this.instancesById.get(id);
    if (!inst || inst.move !== op || op.to === null) return this.finish(op, 'failed', `instance ${id} was deleted during the move`);
    const to = op.to;
    this.addUsage(to, inst, -1);
    this.assign(inst, 'move', null);
    const faults = this.faultsNow;
    if (faults.migrateFails.has(inst.name) || faults.migrateFails.has(id)) {
      this.db.updateInstance(this.cloudId, id, inst.host, 'ACTIVE');
      this.assign(inst, 'status', 'ACTIVE');
      const cause = `simulated fault; ${inst.name} stays on ${inst.host}`;
      this.log('sim.move.failed', { key: op.key, instance_id: id, name: inst.name, host: inst.host, cause }, op.dueAt);
      return this.finish(op, 'failed', cause);
    }
    const from = inst.host;
    this.db.updateInstance(this.cloudId, id, to, 'ACTIVE');
    this.rehomeUndoably(inst, to);
    this.assign(inst, 'status', 'ACTIVE');
    this.log('sim.instance.moved', { key: op.key, instance_id: id, name: inst.name, from, to }, op.dueAt);
    this.finish(op, 'done', null);
  }

  private finishHostMaintenance(op: SimOperationRecord): void {
    const host = this.hostsByName.get(op.target);
    if (!host || this.faultsNow.hostFails.has(op.target)) {
      const cause = `host ${op.target} did not come back after maintenance (simulated fault)`;
      this.log('sim.host.maintenance_failed', { key: op.key, host: op.target, cause }, op.dueAt);
      return this.finish(op, 'failed', cause);
    }
    this.db.bumpMaintained(this.cloudId, host.name);
    this.assign(host, 'maintainedCount', host.maintainedCount + 1);
    this.log('sim.host.maintained', { key: op.key, host: host.name }, op.dueAt);
    this.finish(op, 'done', null);
  }

  // ---- what an application manager does to its own instances

  deleteInstance(id: string): void {
    const inst = this.instancesById.get(id);
    if (!inst) return;
    this.write(() => {
      this.db.deleteInstance(this.cloudId, id);
      // A move still running loses its claim now; it fails when it comes due.
      if (inst.move?.to) this.addUsage(inst.move.to, inst, -1);
      this.assign(inst, 'move', null);
      this.unlinkUndoably(inst);
      this.log('sim.instance.deleted', { instance_id: id, name: inst.name, project_id: inst.projectId, host: inst.host });
    });
  }

  /** Boots an instance where the scheduler puts it; returns its new id, or null when nothing has room. */
  createInstance(spec: NewInstance, excludeHost: string | null = null): string | null {
    const memoryMb = spec.memoryMb ?? null;
    const host = this.placeFor(spec.vcpus, memoryMb, excludeHost);
    if (!host) return null;
    const inst: InstanceState = {
      id: randomUUID(), name: spec.name, projectId: spec.projectId, host, vcpus: spec.vcpus, memoryMb,
      floatingIp: spec.floatingIp, status: 'ACTIVE', move: null, linked: 0,
    };
    this.write(() => {
      this.db.insertInstance(this.cloudId, inst);
      this.linkUndoably(inst);
      this.log('sim.instance.created', { instance_id: inst.id, name: inst.name, project_id: inst.projectId, host });
    });
    return inst.id;
  }

  /** Records that a scripted VNFM did something once; false if it was already recorded. */
  recordAct(sessionId: string, projectId: string, act: string, detail: unknown): boolean {
    const k = actKey(sessionId, projectId, act);
    if (this.acts.has(k)) return false;
    return this.write(() => {
      const record: SimActRecord = { sessionId, projectId, act, detail: JSON.parse(JSON.stringify(detail ?? null)) as unknown };
      if (!this.db.recordAct(this.cloudId, record)) return false;
      this.acts.set(k, record);
      this.undoable(() => this.acts.delete(k));
      return true;
    });
  }

  act(sessionId: string, projectId: string, act: string): unknown | null {
    const record = this.acts.get(actKey(sessionId, projectId, act));
    return record ? (JSON.parse(JSON.stringify(record.detail)) as unknown) : null;
  }

  /**
   * Runs fn in one store transaction; if it throws, the rows and the in-memory state both go
   * back to how they were. (A rollback of a transaction opened outside the sim, around a sim
   * call, is not seen here.)
   */
  transaction<T>(fn: () => T): T {
    return this.write(fn);
  }

  // ---- memory changes, each undone if its transaction fails

  private write<T>(fn: () => T): T {
    const outermost = this.journal === null;
    const journal = (this.journal ??= []);
    const mark = journal.length;
    try {
      return this.db.change(() => {
        // A decision made on a copy another connection has since changed (an operation it already
        // finished, an act it already did) must not be written: that would apply it twice.
        // (SimCloud.open then reads a fresh copy: the versions differ.)
        if (outermost && this.db.keepsRows && this.db.dataVersion() !== this.version) throw new StaleCopyError(this.cloudId);
        return fn();
      });
    } catch (err) {
      while (journal.length > mark) journal.pop()!();
      throw err;
    } finally {
      if (outermost) this.journal = null;
    }
  }

  private undoable(revert: () => void): void {
    this.journal?.push(revert);
  }

  private assign<T extends object, K extends keyof T>(target: T, field: K, value: T[K]): void {
    const before = target[field];
    target[field] = value;
    this.undoable(() => (target[field] = before));
  }

  private addOperation(op: SimOperationRecord): void {
    this.operationsByKey.set(op.key, op);
    this.running.push(op);
    // The queue keeps the entry; settle() skips it once it is no longer the key's operation.
    this.undoable(() => this.operationsByKey.delete(op.key));
  }

  private addUsage(hostName: string, inst: SimInstanceRecord, sign: 1 | -1): void {
    const host = this.hostsByName.get(hostName);
    if (!host) return;
    host.vcpusUsed += sign * inst.vcpus;
    host.memoryMbUsed += sign * (inst.memoryMb ?? 0);
    this.undoable(() => {
      host.vcpusUsed -= sign * inst.vcpus;
      host.memoryMbUsed -= sign * (inst.memoryMb ?? 0);
    });
  }

  /** Instances linked so far: the order of `linked`. */
  private links = 0;

  /** Adds an instance to the index and to its host's usage. */
  private link(inst: InstanceState): void {
    inst.linked = ++this.links;
    this.instancesById.set(inst.id, inst);
    this.joinHost(inst);
  }

  private unlink(inst: InstanceState): void {
    this.instancesById.delete(inst.id);
    this.leaveHost(inst);
  }

  /**
   * Moves an instance to another host: out of the old host's set and usage, into the new one's,
   * listed after the instances of its name already there (as unlinking and linking it again
   * would, without deleting and adding it again in the map of every instance).
   */
  private rehomeUndoably(inst: InstanceState, to: string): void {
    const { host: from, linked } = inst;
    this.leaveHost(inst);
    inst.host = to;
    inst.linked = ++this.links;
    this.joinHost(inst);
    this.undoable(() => {
      this.leaveHost(inst);
      inst.host = from;
      inst.linked = linked;
      this.joinHost(inst);
    });
  }

  private joinHost(inst: InstanceState): void {
    const host = this.hostsByName.get(inst.host);
    if (!host) return;
    host.instances.add(inst);
    host.vcpusUsed += inst.vcpus;
    host.memoryMbUsed += inst.memoryMb ?? 0;
  }

  private leaveHost(inst: InstanceState): void {
    const host = this.hostsByName.get(inst.host);
    if (!host || !host.instances.delete(inst)) return;
    host.vcpusUsed -= inst.vcpus;
    host.memoryMbUsed -= inst.memoryMb ?? 0;
  }

  private linkUndoably(inst: InstanceState): void {
    this.link(inst);
    this.undoable(() => this.unlink(inst));
  }

  private unlinkUndoably(inst: InstanceState): void {
    this.unlink(inst);
    this.undoable(() => this.link(inst));
  }

  private log(eventType: string, payload: Record<string, unknown>, time = this.clock.now()): void {
    this.db.appendEvent(this.cloudId, time, eventType, payload);
  }
}

/** Why an instance of this size does not fit on the host now (claims included), or null when it does. */
function roomFor(host: HostState, vcpus: number, memoryMb: number | null): string | null {
  const freeVcpus = Math.max(0, host.vcpus - host.vcpusUsed);
  if (freeVcpus < vcpus) return `${host.name} has ${freeVcpus} vCPUs free, it needs ${vcpus}`;
  if (host.memoryMb !== null && memoryMb !== null) {
    const freeMemory = Math.max(0, host.memoryMb - host.memoryMbUsed);
    if (freeMemory < memoryMb) return `${host.name} has ${freeMemory} MiB free, it needs ${memoryMb}`;
  }
  return null;
}

/** The scheduler's preference: maintained hosts first, then most vCPUs free (ties: the earlier name). */
function betterTarget(a: HostState, b: HostState): boolean {
  const maintainedA = a.maintainedCount > 0;
  const maintainedB = b.maintainedCount > 0;
  if (maintainedA !== maintainedB) return maintainedA;
  return a.vcpus - a.vcpusUsed > b.vcpus - b.vcpusUsed;
}

function toInfraInstance(i: InstanceState): InfraInstance {
  return {
    id: i.id,
    name: i.name,
    projectId: i.projectId,
    host: i.host,
    status: i.status,
    vcpus: i.vcpus,
    memoryMb: i.memoryMb,
    floatingIp: i.floatingIp,
  };
}
