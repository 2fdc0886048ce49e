// Runs one session: read the snapshot, let the workflow decide, record the decision in one
// transaction, perform its effects, record their outcomes. Waits are timers on the Clock or a
// wake-up (a reply, a finished operation), never sleep-polling.
import type { Clock, Timer } from '../domain/clock.js';
import type { Operation, ProjectPolicy } from '../domain/model.js';
import { HOST_EVENT, PROJECT_EVENT, SESSION_EVENT, hostNotice, projectNotice } from '../domain/notifications.js';
import { isTerminal, type SessionState } from '../domain/states.js';
import type { InfraDriver, MoveRef, Observation } from '../infra/driver.js';
import type { EventBus } from '../notify/bus.js';
import type { Store } from '../store/store.js';
import { isSubscribed } from '../store/subscriptions.js';
import type { Decision, Snapshot, Workflow } from '../workflows/types.js';
import type { PluginRegistry } from './plugins.js';
import { recordFailure, recordWithEvents, sessionNotice, type Emit } from './notices.js';
import { reconcileInstances } from './reconcile.js';

export interface RunnerDeps {
  store: Store;
  clock: Clock;
  bus: EventBus;
  driver: InfraDriver;
  workflow: Workflow;
  plugins: PluginRegistry;
  baseUrl: string;
  /** Called at points where a crash matters (tests kill the process there). */
  checkpoint: (label: string) => Promise<void>;
}

/** Decisions in a row without time moving before the runner declares the workflow stuck. */
const MAX_STEPS_AT_ONE_INSTANT = 1000;

export class SessionRunner {
  private dirty = true;
  private sleeper: (() => void) | null = null;
  private stopped = false;
  private stepsAtInstant = 0;
  private lastInstant = -1;

  constructor(
    readonly sessionId: string,
    private readonly deps: RunnerDeps,
  ) {}

  /** Something changed (a reply, an operation finished): decide again now. */
  wake(): void {
    this.dirty = true;
    const resolve = this.sleeper;
    this.sleeper = null;
    resolve?.();
  }

  stop(): void {
    this.stopped = true;
    this.wake();
  }

  async run(): Promise<void> {
    await this.recover();
    while (!this.stopped) {
      this.dirty = false;
      const snap = this.snapshot();
      if (!snap || isTerminal(snap.session.state)) return;
      if (await this.observeDue(snap)) continue;
      const decision = this.decide(snap);
      if (decision.kind === 'idle') return;
      if (decision.kind === 'wait') {
        await this.sleep(this.wakeTime(snap, decision.until));
        continue;
      }
      await this.apply(snap, decision);
    }
  }

  // ---- reading and deciding

  private snapshot(): Snapshot | null {
    const { store, clock } = this.deps;
    const session = store.findSession(this.sessionId);
    if (!session) return null;
    return {
      now: clock.now(),
      session,
      hosts: store.hosts(this.sessionId),
      projects: store.projects(this.sessionId),
      instances: store.instances(this.sessionId),
      operations: store.liveOperations(this.sessionId, session.visit),
    };
  }

  private decide(snap: Snapshot): Decision {
    if (snap.now !== this.lastInstant) {
      this.lastInstant = snap.now;
      this.stepsAtInstant = 0;
    }
    if (++this.stepsAtInstant > MAX_STEPS_AT_ONE_INSTANT) {
      return { kind: 'fail', cause: `internal error: the ${snap.session.workflow} workflow made no progress in ${snap.session.state}` };
    }
    try {
      return this.deps.workflow.handlers[snap.session.state](snap);
    } catch (err) {
      return { kind: 'fail', cause: `internal error in ${snap.session.state}: ${(err as Error).message}` };
    }
  }

  private wakeTime(snap: Snapshot, until: number | null): number | null {
    const times = snap.operations
      .filter((op) => op.status === 'requested' && op.checkAt !== null)
      .map((op) => Math.min(op.checkAt!, op.deadline ?? Number.POSITIVE_INFINITY));
    if (until !== null) times.push(until);
    return times.length ? Math.min(...times) : null;
  }

  private sleep(at: number | null): Promise<void> {
    if (this.dirty || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: Timer | null = null;
      this.sleeper = () => {
        timer?.cancel();
        resolve();
      };
      if (at !== null) timer = this.deps.clock.at(at, () => this.wake());
    });
  }

  // ---- recording

  /** One transaction; its events reach in-process listeners once it has committed. */
  private commit(fn: (emit: Emit) => void): void {
    recordWithEvents(this.deps.store, this.deps.bus, this.deps.clock, this.sessionId, fn);
  }

  private emitSessionState(emit: Emit, previous: SessionState | null): void {
    emit(SESSION_EVENT, sessionNotice(this.deps.store, this.sessionId, previous));
  }

  private async apply(snap: Snapshot, d: Exclude<Decision, { kind: 'wait' | 'idle' }>): Promise<void> {
    switch (d.kind) {
      case 'transition':
        return this.transition(snap, d);
      case 'fail':
        return this.fail(snap, d.cause);
      case 'sync':
        return this.sync(snap);
      case 'ask':
        return this.ask(snap, d);
      case 'start':
        for (const request of d.operations) await this.startOperation(snap, request);
        return;
      case 'host':
        return this.hostState(snap, d.host, d.to);
      case 'instances-done':
        return this.instancesDone(snap, d.instances);
    }
  }

  private async transition(snap: Snapshot, d: Extract<Decision, { kind: 'transition' }>): Promise<void> {
    const now = this.deps.clock.now();
    this.commit((emit) => {
      this.deps.store.updateSession(this.sessionId, {
        state: d.to,
        visit: snap.session.visit + 1,
        stateEnteredAt: now,
        updatedAt: now,
        targetHost: d.targetHost ?? null,
        ...(d.data ? { data: d.data } : {}),
      });
      emit('maintctl.transition', { from: snap.session.state, to: d.to, reason: d.reason, target_host: d.targetHost ?? null });
      this.emitSessionState(emit, snap.session.state);
    });
    await this.deps.checkpoint(`transition:${d.to}`);
  }

  private async fail(snap: Snapshot, cause: string): Promise<void> {
    this.commit((emit) => recordFailure(this.deps.store, snap.session, cause, this.deps.clock.now(), emit));
    await this.deps.checkpoint('failed');
  }

  private async sync(snap: Snapshot): Promise<void> {
    let hosts, infra;
    try {
      [hosts, infra] = await Promise.all([this.deps.driver.listHosts(), this.deps.driver.listInstances()]);
    } catch (err) {
      return this.fail(snap, `could not read the infrastructure: ${(err as Error).message}`);
    }
    const sessionHosts = new Map(snap.hosts.map((h) => [h.name, h]));
    const computeNames = new Set(snap.hosts.filter((h) => h.type === 'compute').map((h) => h.name));
    // An instance in ERROR can be neither moved nor left on a host going down: stop and say which.
    const broken = infra.filter((i) => computeNames.has(i.host) && i.status === 'ERROR');
    if (broken.length) {
      const which = broken.map((i) => `${i.name} (${i.id}) on ${i.host}: ${i.fault ?? 'no fault message'}`).join('; ');
      return this.fail(snap, `instance in ERROR: ${which}`);
    }
    const changes = reconcileInstances(snap.instances, infra, computeNames);
    const { store } = this.deps;
    this.commit((emit) => {
      for (const h of hosts) {
        const row = sessionHosts.get(h.name);
        if (row && (row.vcpus !== h.vcpus || row.vcpusUsed !== h.vcpusUsed)) {
          store.updateHost(this.sessionId, h.name, { vcpus: h.vcpus, vcpusUsed: h.vcpusUsed });
        }
      }
      for (const u of changes.updated) store.updateInstance(this.sessionId, u.id, u.patch);
      for (const r of changes.replaced) {
        store.updateInstance(this.sessionId, r.oldId, r.patch);
        emit('maintctl.instance.replaced', { old_id: r.oldId, instance_id: r.patch.instanceId, host: r.patch.host });
      }
      for (const a of changes.added) {
        store.insertInstance(this.sessionId, a);
        store.insertProject(this.sessionId, a.projectId, this.policyOf(snap, a.projectId));
        if (snap.session.discovered) emit('maintctl.instance.added', { instance_id: a.instanceId, name: a.name, project_id: a.projectId, host: a.host });
      }
      // A project that subscribed since the last look is asked from now on (its policy no longer applies).
      for (const p of snap.projects) {
        if (p.policy !== 'ask' && this.policyOf(snap, p.projectId) === 'ask') store.updateProject(this.sessionId, p.projectId, { policy: 'ask' });
      }
      for (const r of changes.removed) {
        store.deleteInstance(this.sessionId, r.instanceId);
        emit('maintctl.instance.removed', { instance_id: r.instanceId, name: r.name, project_id: r.projectId, host: r.host });
      }
      store.updateSession(this.sessionId, { syncedAt: this.deps.clock.now(), discovered: true });
    });
  }

  /** A project answers itself if subscribed (or the infrastructure answers for it); else its default policy. */
  private policyOf(snap: Snapshot, projectId: string): ProjectPolicy {
    if (this.deps.driver.answersFor?.(projectId) || isSubscribed(this.deps.store, projectId, this.sessionId)) return 'ask';
    const { unsubscribed } = snap.session.options;
    return unsubscribed.projects[projectId] ?? unsubscribed.default;
  }

  private async ask(snap: Snapshot, d: Extract<Decision, { kind: 'ask' }>): Promise<void> {
    const { store, baseUrl } = this.deps;
    const asked = new Set(d.projects);
    const about = new Set(d.instances);
    this.commit((emit) => {
      for (const projectId of d.projects) {
        store.updateProject(this.sessionId, projectId, { state: d.state, visit: snap.session.visit, replyState: null, replyAt: d.replyAt, repliedAt: null });
        emit(
          PROJECT_EVENT,
          projectNotice({
            baseUrl,
            sessionId: this.sessionId,
            projectId,
            state: d.state,
            allowedActions: d.allowedActions,
            replyAt: d.replyAt,
            actionsAt: d.actionsAt,
            metadata: snap.session.metadata,
          }),
        );
      }
      // Mark what the question is about; clear what an earlier question left (only rows that change).
      for (const inst of snap.instances.filter((i) => asked.has(i.projectId))) {
        const projectState = about.has(inst.instanceId) ? d.state : null;
        if (inst.projectState === projectState && inst.action === null && !inst.actionDone) continue;
        store.updateInstance(this.sessionId, inst.instanceId, { projectState, action: null, actionDone: false });
      }
      this.answerByPolicy(snap, d, emit);
    });
    await this.deps.checkpoint(`ask:${d.state}`);
  }

  /** Projects nobody answers for, with a move policy: acknowledged at once, their instances moved as the policy says. */
  private answerByPolicy(snap: Snapshot, d: Extract<Decision, { kind: 'ask' }>, emit: Emit): void {
    const { store, clock } = this.deps;
    const about = new Set(d.instances);
    for (const project of snap.projects.filter((p) => d.projects.includes(p.projectId))) {
      if (project.policy !== 'migrate' && project.policy !== 'live_migrate') continue;
      const action = project.policy === 'migrate' ? 'MIGRATE' : 'LIVE_MIGRATE';
      const instances = d.allowedActions.length
        ? snap.instances.filter((i) => i.projectId === project.projectId && about.has(i.instanceId)).map((i) => i.instanceId)
        : [];
      store.updateProject(this.sessionId, project.projectId, { replyState: `ACK_${d.state}`, repliedAt: clock.now() });
      for (const id of instances) store.updateInstance(this.sessionId, id, { action });
      const actions = Object.fromEntries(instances.map((id) => [id, action]));
      store.insertReply(this.sessionId, project.projectId, `ACK_${d.state}`, actions, clock.now());
      emit('maintctl.reply', { project_id: project.projectId, state: `ACK_${d.state}`, instance_actions: actions, by: `policy ${project.policy}` });
    }
  }

  private async hostState(snap: Snapshot, host: string, to: 'IN_MAINTENANCE' | 'MAINTAINED'): Promise<void> {
    this.commit((emit) => {
      this.deps.store.updateHost(this.sessionId, host, { state: to });
      emit(HOST_EVENT, hostNotice(this.sessionId, host, to === 'MAINTAINED' ? 'MAINTENANCE_COMPLETE' : 'IN_MAINTENANCE'));
      if (to === 'MAINTAINED') this.emitSessionState(emit, snap.session.state);
    });
    await this.deps.checkpoint(`host:${to}`);
  }

  private async instancesDone(snap: Snapshot, ids: string[]): Promise<void> {
    const { store, baseUrl } = this.deps;
    this.commit((emit) => {
      for (const id of ids) {
        const inst = snap.instances.find((i) => i.instanceId === id)!;
        store.updateInstance(this.sessionId, id, { actionDone: true });
        emit(
          PROJECT_EVENT,
          projectNotice({
            baseUrl,
            sessionId: this.sessionId,
            projectId: inst.projectId,
            state: 'INSTANCE_ACTION_DONE',
            allowedActions: [],
            replyAt: null,
            actionsAt: null,
            metadata: {},
            instanceId: id,
          }),
        );
      }
    });
    await this.deps.checkpoint('instances-done');
  }

  // ---- operations: recorded as started, performed, then observed to their end

  private async startOperation(snap: Snapshot, request: Extract<Decision, { kind: 'start' }>['operations'][number]): Promise<void> {
    let op!: Operation;
    this.commit((emit) => {
      op = this.deps.store.insertOperation({ sessionId: this.sessionId, visit: snap.session.visit, ...request }, this.deps.clock.now());
      emit('maintctl.operation', { operation_id: op.id, kind: op.kind, target: op.target, status: 'started', params: op.params });
    });
    await this.deps.checkpoint(`operation-recorded:${op.kind}`);
    await this.perform(op);
  }

  private key(op: Operation): string {
    return `${this.sessionId}:${op.id}`;
  }

  private moveRef(op: Operation): MoveRef {
    return {
      key: this.key(op),
      instanceId: op.target,
      kind: op.kind === 'live_migrate' ? 'LIVE_MIGRATE' : 'MIGRATE',
      from: String(op.params.from),
      startedAt: op.createdAt,
    };
  }

  /** Asks the infrastructure to do it. Safe to call again for an operation it never received. */
  private async perform(op: Operation): Promise<void> {
    const { driver } = this.deps;
    try {
      switch (op.kind) {
        case 'disable_host':
          await driver.disableHost(op.target, String(op.params.reason ?? 'maintenance'));
          await this.deps.checkpoint('operation-performed');
          return this.finish(op, { phase: 'done', result: {} });
        case 'enable_host':
          await driver.enableHost(op.target);
          await this.deps.checkpoint('operation-performed');
          return this.finish(op, { phase: 'done', result: {} });
        case 'migrate':
        case 'live_migrate':
          await driver.requestMove(this.moveRef(op));
          break;
        case 'host_maintenance':
          await driver.requestHostMaintenance(this.key(op), op.target);
          break;
        case 'plugin':
          break; // runs in this process, once recorded as requested
      }
    } catch (err) {
      return this.finish(op, { phase: 'failed', cause: (err as Error).message });
    }
    await this.deps.checkpoint('operation-performed');
    this.markRequested(op);
    if (op.kind === 'plugin') this.runPlugin(op);
  }

  private markRequested(op: Operation): void {
    const now = this.deps.clock.now();
    this.commit(() => this.deps.store.updateOperation(op.id, { status: 'requested', checkAt: op.kind === 'plugin' ? null : now, updatedAt: now }));
  }

  private runPlugin(op: Operation): void {
    const call = {
      sessionId: this.sessionId,
      plugin: String(op.params.plugin),
      type: String(op.params.type),
      host: op.target,
      metadata: (op.params.metadata ?? {}) as Record<string, unknown>,
    };
    this.deps.plugins.run(call).then(
      (result) => this.finish(op, { phase: 'done', result: { output: result.output } }),
      (err: Error) => this.finish(op, { phase: 'failed', cause: err.message }),
    ).catch(() => undefined);
  }

  /** Looks at every requested operation that is due; true if any of them changed. */
  private async observeDue(snap: Snapshot): Promise<boolean> {
    const due = snap.operations.filter(
      (op) => op.status === 'requested' && op.checkAt !== null && Math.min(op.checkAt, op.deadline ?? Infinity) <= snap.now,
    );
    let changed = false;
    for (const op of due) changed = (await this.observe(op)) || changed;
    return changed;
  }

  private async observe(op: Operation): Promise<boolean> {
    const { driver, clock } = this.deps;
    let seen: Observation;
    try {
      seen = op.kind === 'host_maintenance' ? await driver.observeHostMaintenance(this.key(op), op.target) : await driver.observeMove(this.moveRef(op));
    } catch {
      // Could not reach the infrastructure this time: look again shortly (the deadline still holds).
      seen = { phase: 'running', checkAt: clock.now() + 5_000 };
    }
    if (seen.phase === 'running' && op.deadline !== null && clock.now() >= op.deadline) {
      seen = { phase: 'failed', cause: `did not finish within ${Math.round((op.deadline - op.createdAt) / 1000)} s` };
    }
    if (seen.phase === 'unknown' && op.status === 'requested') {
      // It was accepted, yet the infrastructure has no trace of it: it gave up before starting.
      seen = { phase: 'failed', cause: 'the infrastructure accepted the request but has no record of it (e.g. no valid host was found)' };
    }
    if (seen.phase === 'unknown') {
      await this.perform(op); // recorded before a crash, never requested: request it now
      return true;
    }
    if (seen.phase === 'running') {
      const checkAt = seen.checkAt;
      if (op.status === 'started' || checkAt !== op.checkAt) {
        const patch = op.status === 'started' ? { status: 'requested' as const, checkAt, updatedAt: clock.now() } : { checkAt };
        this.commit(() => this.deps.store.updateOperation(op.id, patch));
      }
      return false;
    }
    this.finish(op, seen);
    return true;
  }

  /** Records an operation's outcome and what it changed, in one transaction. */
  private finish(op: Operation, outcome: Extract<Observation, { phase: 'done' | 'failed' }>): void {
    const { store, clock } = this.deps;
    const now = clock.now();
    this.commit((emit) => {
      if (outcome.phase === 'failed') {
        store.updateOperation(op.id, { status: 'failed', cause: outcome.cause, updatedAt: now });
      } else {
        store.updateOperation(op.id, { status: 'done', result: outcome.result, updatedAt: now });
        this.applyOutcome(op, outcome.result);
      }
      emit('maintctl.operation', {
        operation_id: op.id,
        kind: op.kind,
        target: op.target,
        params: op.params,
        status: outcome.phase,
        ...(outcome.phase === 'failed' ? { cause: outcome.cause } : { result: outcome.result }),
      });
    });
    this.wake();
  }

  private applyOutcome(op: Operation, result: Record<string, unknown>): void {
    const { store } = this.deps;
    if (op.kind === 'disable_host') store.updateHost(this.sessionId, op.target, { disabled: true });
    if (op.kind === 'enable_host') store.updateHost(this.sessionId, op.target, { disabled: false });
    if ((op.kind === 'migrate' || op.kind === 'live_migrate') && typeof result.host === 'string') {
      store.updateInstance(this.sessionId, op.target, { host: result.host });
    }
  }

  /**
   * After a restart: an operation recorded as started may or may not have reached the
   * infrastructure. Ask it; request again only what it never received.
   */
  private async recover(): Promise<void> {
    const open = this.deps.store.operations(this.sessionId).filter((op) => op.status === 'started' || op.status === 'requested');
    for (const op of open) {
      if (op.kind === 'plugin') {
        await this.perform(op); // the process that ran it is gone: run it again
      } else if (op.kind === 'disable_host' || op.kind === 'enable_host') {
        await this.perform(op); // idempotent
      } else if (op.status === 'started') {
        await this.observe(op);
      }
    }
  }
}
