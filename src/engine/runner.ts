// Runs one session: the workflow plans every effect that can start now, the runner applies the
// plan to the in-memory session model, writes the changed rows and the events in one transaction,
// then performs the operations and the reads the plan asked for, and feeds their outcomes back.
// Waits are timers on the Clock or a wake-up (a reply, a finished operation), never sleep-polling.
// Mechanism only: what to do is the workflow's and the domain's (policy.ts) to decide.
import type { Clock, Timer } from '../domain/clock.js';
import { Constraints } from '../domain/constraints.js';
import type { Operation, Project, Session } from '../domain/model.js';
import { HOST_EVENT, PROJECT_EVENT, SESSION_EVENT, hostNotice, projectNotice } from '../domain/notifications.js';
import { affectedInstances } from '../domain/replies.js';
import { brokenInstancesCause, policyReply, projectPolicy, repliedProject, type Reply } from '../domain/policy.js';
import { sessionRelease } from '../domain/releases.js';
import { SessionModel } from '../domain/session-model.js';
import { isTerminal, type AskedState, type HostState } from '../domain/states.js';
import { allowedTransition } from '../domain/transitions.js';
import type { Accepted, ImmediateCalls, InfraDriver, InfraHost, InfraInstance, MoveRef, Observation } from '../infra/driver.js';
import type { EventBus } from '../notify/bus.js';
import { LeaseLostError, type ChangeSet, type Fence, type NewEvent, type Repository } from '../store/repository.js';
import type { Effect, OperationRequest, Snapshot, Workflow } from '../workflows/types.js';
import { failedSession, sessionNotice } from './notices.js';
import { PluginFailure, lastLines, type PluginRegistry } from './plugins.js';
import { reconcileInstances } from './reconcile.js';
import { isPassing, retryDelay } from './retry.js';

export interface RunnerDeps {
  repo: Repository;
  clock: Clock;
  bus: EventBus;
  driver: InfraDriver;
  workflow: Workflow;
  plugins: PluginRegistry;
  baseUrl: string;
  /** The lease this runner writes under. */
  fence: Fence;
  /** Called at points where a crash matters (tests kill the process there). */
  checkpoint: (label: string) => Promise<void>;
}

/** Plans in a row without time moving before the runner declares the workflow stuck. */
const MAX_STEPS_AT_ONE_INSTANT = 1000;
/** Driver calls under way at once for one session (moves are bounded by the session's max_migrations too). */
const DRIVER_CONCURRENCY = 16;
/** Store writes that fail in a row before the session is failed with the error (if that can still be written). */
const WRITE_ATTEMPTS_BEFORE_FAILING = 12;

export class SessionRunner {
  private model!: SessionModel;
  private dirty = true;
  private sleeper: (() => void) | null = null;
  private stopped = false;
  private stepsAtInstant = 0;
  private lastInstant = -1;
  private lastReplyId = 0;
  /** Events and replies of the plan being applied; written with its rows. */
  private events: NewEvent[] = [];
  private pendingReplies: NonNullable<ChangeSet['replies']> = [];
  private markLoaded!: () => void;
  /** Resolves once the session is loaded (or found gone): its questions can be read from then on. */
  readonly loaded = new Promise<void>((resolve) => (this.markLoaded = resolve));
  /** Plug-ins and downloads running in this process; a failed session waits for them to end. */
  private readonly local = new Set<Promise<void>>();
  /** Aborted when the runner is stopped: running plug-ins are killed. */
  private readonly stopping = new AbortController();
  /** Writes that could not be committed yet (the store was busy): kept, in order, until they are. */
  private unsaved: Array<{ changes: ChangeSet; events: NewEvent[]; time: number }> = [];

  constructor(
    readonly sessionId: string,
    private readonly deps: RunnerDeps,
  ) {}

  /** Something changed (a reply, an operation finished): plan again now. */
  wake(): void {
    this.dirty = true;
    const resolve = this.sleeper;
    this.sleeper = null;
    resolve?.();
  }

  stop(): void {
    this.stopped = true;
    this.stopping.abort();
    this.wake();
  }

  /** Projects asked something now that have not answered, read from the running session's model. */
  pendingQuestions(projectId?: string): Array<{ projectId: string; state: string; instanceIds: string[] }> {
    const m = this.model;
    if (!m || isTerminal(m.session.state)) return [];
    const asked = projectId === undefined ? [...m.openQuestions] : m.openQuestions.has(projectId) ? [projectId] : [];
    return asked.map((id) => {
      const p = m.project(id)!;
      const pool = p.wave === null ? m.instances() : m.waveMembers(p.wave);
      return { projectId: id, state: p.state!, instanceIds: affectedInstances(p, pool).map((i) => i.instanceId) };
    });
  }

  async run(): Promise<void> {
    // The last reply is read before the rows: one recorded in between is in the rows and read
    // again (and taken as already there); read after, it would be in neither.
    const lastReplyId = await this.deps.repo.latestReplyId(this.sessionId);
    const rows = await this.deps.repo.loadSession(this.sessionId);
    if (!rows || isTerminal(rows.session.state)) return this.markLoaded();
    this.lastReplyId = lastReplyId;
    this.model = new SessionModel(rows);
    this.markLoaded();
    try {
      await this.refreshConstraints();
      await this.recover();
      while (!this.stopped) {
        this.dirty = false;
        await this.absorbReplies();
        if (isTerminal(this.model.session.state)) break;
        this.model.time = this.deps.clock.now();
        const observing = this.observeDue();
        if (observing) await observing;
        const plan = this.plan();
        this.model.freshlyLoaded = false;
        const acting = plan.filter((e) => e.kind !== 'wait');
        if (!acting.length) {
          await this.save();
          await this.sleep(this.wakeTime(plan));
          continue;
        }
        await this.carryOut(acting);
      }
      // A failed session still records how the plug-ins it had running ended (a stopped one does not: they are re-run).
      if (!this.stopped) await Promise.allSettled([...this.local]);
      await this.save();
    } catch (err) {
      if (err instanceof LeaseLostError) return; // another engine runs the session now
      throw err;
    }
  }

  // ---- planning

  private plan(): Effect[] {
    const now = this.deps.clock.now();
    if (now !== this.lastInstant) {
      this.lastInstant = now;
      this.stepsAtInstant = 0;
    }
    const state = this.model.session.state;
    if (++this.stepsAtInstant > MAX_STEPS_AT_ONE_INSTANT) {
      return [{ kind: 'fail', cause: `internal error: the ${this.model.session.workflow} workflow made no progress in ${state}` }];
    }
    try {
      const snapshot: Snapshot = { now, model: this.model };
      const plan = this.deps.workflow.handlers[state](snapshot);
      const fail = plan.find((e) => e.kind === 'fail');
      const wrong = plan.find((e) => e.kind === 'transition' && !allowedTransition(state, e.to));
      if (wrong?.kind === 'transition') return [{ kind: 'fail', cause: `internal error: the workflow asked for ${state} -> ${wrong.to}, which is not allowed` }];
      return fail ? [fail] : plan;
    } catch (err) {
      return [{ kind: 'fail', cause: `internal error in ${state}: ${(err as Error).message}` }];
    }
  }

  private wakeTime(plan: Effect[]): number | null {
    const times = this.model
      .openOperations()
      .filter((op) => op.checkAt !== null)
      .map((op) => Math.min(op.checkAt!, op.deadline ?? Number.POSITIVE_INFINITY));
    for (const e of plan) if (e.kind === 'wait' && e.until !== null) times.push(e.until);
    return times.length ? times.reduce((a, b) => Math.min(a, b)) : null;
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

  // ---- carrying out a plan

  private async carryOut(plan: Effect[]): Promise<void> {
    const started: Operation[] = [];
    const syncs: Array<string[] | null> = [];
    for (let n = 0; n < plan.length; n++) {
      const effect = plan[n]!;
      if (effect.kind === 'start') started.push(this.recordStart(effect.operation));
      else if (effect.kind === 'sync') syncs.push(effect.hosts);
      else if (effect.kind === 'wave' && asksAboutWave(plan[n + 1], effect)) {
        // A new wave and its question, right after it, mark the same instances: one update each, not two.
        const question = plan[++n] as Extract<Effect, { kind: 'ask' }>;
        this.wave(effect, question.state);
        this.ask(question, true);
      } else this.apply(effect);
    }
    await this.save();
    for (const label of checkpointsOf(plan)) await this.deps.checkpoint(label);
    if (started.length) {
      const performing = this.eachOperation(started, (op) => this.perform(op));
      if (performing) await performing;
      await this.deps.checkpoint('operation-performed');
    }
    if (syncs.length) await this.sync(mergeScopes(syncs));
  }

  private emit(eventType: string, payload: object): void {
    this.events.push({ eventType, payload });
  }

  private noticeSession(previous: Session['state'] | null): void {
    const m = this.model;
    const total = m.hostCount;
    const maintained = m.count('compute', 'MAINTAINED') + m.count('controller', 'MAINTAINED');
    this.emit(SESSION_EVENT, sessionNotice(m.session, { maintained, total }, previous));
  }

  private apply(effect: Effect): void {
    const m = this.model;
    const now = this.deps.clock.now();
    switch (effect.kind) {
      case 'transition': {
        const from = m.session.state;
        m.updateSession({ state: effect.to, visit: m.session.visit + 1, stateEnteredAt: now, updatedAt: now, ...(effect.data ? { data: effect.data } : {}) });
        this.emit('maintctl.transition', { from, to: effect.to, reason: effect.reason });
        return this.noticeSession(from);
      }
      case 'fail':
        if (effect.host) this.lane(effect.host, 'FAILED', effect.cause);
        return this.fail(effect.cause);
      case 'ask':
        return this.ask(effect);
      case 'wave':
        return this.wave(effect, null);
      case 'lane':
        return this.lane(effect.host, effect.to, effect.cause ?? null);
      case 'step':
        m.updateHost(effect.host, { step: effect.step });
        return;
      case 'instances-done':
        for (const id of effect.instances) this.instanceDone(id);
        return;
      case 'start':
      case 'sync':
      case 'wait':
        return; // carried out by carryOut
    }
  }

  /** `asked`: the state of the question about the wave's moves applied with it (its instances are marked here). */
  private wave(effect: Extract<Effect, { kind: 'wave' }>, asked: AskedState | null): void {
    const m = this.model;
    const now = this.deps.clock.now();
    m.updateSession({ data: { ...m.session.data, waves: effect.wave } });
    for (const host of effect.hosts) {
      m.updateHost(host, { state: 'EMPTYING', wave: effect.wave, since: now, cause: null });
      this.emit('maintctl.lane', { host, to: 'EMPTYING', wave: effect.wave });
    }
    for (const move of effect.moves) {
      const patch = { wave: effect.wave, target: move.to, action: null, actionDone: false };
      m.updateInstance(move.instanceId, asked === null ? patch : { ...patch, projectState: asked });
    }
    this.emit('maintctl.wave', { wave: effect.wave, hosts: effect.hosts, moves: effect.moves.map((mv) => ({ instance_id: mv.instanceId, to: mv.to })) });
  }

  private fail(cause: string): void {
    const from = this.model.session.state;
    this.model.updateSession(failedSession(this.model.session, cause, this.deps.clock.now()));
    this.noticeSession(from);
  }

  private lane(host: string, to: HostState, cause: string | null): void {
    const m = this.model;
    const row = m.host(host)!;
    m.updateHost(host, { state: to, since: this.deps.clock.now(), cause, ...(to === 'IN_MAINTENANCE' ? { step: 0 } : {}) });
    this.emit('maintctl.lane', { host, from: row.state, to, wave: row.wave });
    if (to === 'IN_MAINTENANCE') this.emit(HOST_EVENT, hostNotice(this.sessionId, host, 'IN_MAINTENANCE'));
    if (to === 'MAINTAINED') {
      this.emit(HOST_EVENT, hostNotice(this.sessionId, host, 'MAINTENANCE_COMPLETE'));
      this.noticeSession(m.session.state);
    }
  }

  /** `marked`: its instances already carry the question (marked with their wave). */
  private ask(d: Extract<Effect, { kind: 'ask' }>, marked = false): void {
    const m = this.model;
    const { baseUrl } = this.deps;
    const about = new Set(d.instances);
    const perWave = d.wave !== null;
    if (perWave) m.updateSession({ data: { ...m.session.data, waveState: d.state as 'PLANNED_MAINTENANCE' } });
    if (d.notBefore) m.updateSession({ data: { ...m.session.data, notBefore: { ...liveTimes(m.session.data.notBefore, this.deps.clock.now()), ...d.notBefore } } });
    for (const projectId of d.projects) {
      m.updateProject(projectId, { state: d.state, visit: m.session.visit, wave: d.wave, replyState: null, replyAt: d.replyAt, repliedAt: null });
      this.emit(
        PROJECT_EVENT,
        projectNotice({
          baseUrl,
          sessionId: this.sessionId,
          projectId,
          state: d.state,
          allowedActions: d.allowedActions,
          replyAt: d.replyAt,
          actionsAt: d.actionsAt,
          metadata: m.session.metadata,
          ...(d.perInstance ? { instanceId: d.instances[0] } : {}),
        }),
      );
    }
    // Asked per instance: the project's question is about this one alone (its answered ones leave it).
    if (perWave && d.perInstance) {
      for (const i of m.waveMembers(d.wave!)) if (d.projects.includes(i.projectId) && !about.has(i.instanceId) && i.projectState !== null) m.updateInstance(i.instanceId, { projectState: null });
    }
    // A wave's question is about its instances: each is marked with the state, its action cleared.
    if (perWave && !marked) for (const id of about) m.updateInstance(id, { projectState: d.state, action: null, actionDone: false });
    for (const projectId of d.projects) {
      const project = m.project(projectId)!;
      const ids = perWave ? d.instances.filter((id) => m.instance(id)?.projectId === projectId) : [];
      const reply = policyReply(project, d.state, ids, (id) => m.constraints.defaultAction(id));
      if (reply) this.recordReply(project, reply);
    }
  }

  /** A project's answer as the model records it (a policy's, or one read from the store). */
  private recordReply(project: Project, reply: Reply, persist = true, now = this.deps.clock.now()): void {
    const m = this.model;
    // A reply read from the store is there already, rows included: the model only takes it on.
    m.putProject(repliedProject(project, reply, now), !persist);
    // Each instance's chosen action (as replyRows gives it, without copying rows only to read their action back).
    for (const id in reply.actions) if (m.instance(id)) m.updateInstance(id, { action: reply.actions[id]! }, !persist);
    if (!persist) return;
    this.pendingReplies.push({ projectId: project.projectId, state: reply.state, instanceActions: reply.actions, receivedAt: now });
    this.emit('maintctl.reply', { project_id: project.projectId, state: reply.state, instance_actions: reply.actions, by: reply.by });
  }


  private instanceDone(id: string): void {
    const inst = this.model.instance(id);
    if (!inst) return;
    this.model.markActionDone(id, this.deps.clock.now());
    this.emit(
      PROJECT_EVENT,
      projectNotice({
        baseUrl: this.deps.baseUrl,
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

  /** Replies other callers recorded in the store since the last look: the model takes them on. */
  private async absorbReplies(): Promise<void> {
    const replies = await this.deps.repo.repliesSince(this.sessionId, this.lastReplyId);
    for (const r of replies) {
      this.lastReplyId = r.id;
      const project = this.model.project(r.projectId);
      if (project && project.replyState === null) {
        this.recordReply(project, { projectId: r.projectId, state: r.state, actions: r.instanceActions as Reply['actions'] }, false, r.receivedAt);
      }
    }
  }

  // ---- writing

  /** Writes what the model changed and the events of the plan, in one transaction; retried while the store is busy. */
  private async save(): Promise<void> {
    const changes: ChangeSet = this.model.takeChanges();
    const replies = this.pendingReplies.splice(0);
    const events = this.events.splice(0);
    if (replies.length) changes.replies = replies;
    const rows = [changes.hosts, changes.projects, changes.instances, changes.removedInstances, changes.operations].reduce((n, l) => n + (l?.length ?? 0), 0);
    if (changes.session || rows || events.length || replies.length) {
      this.unsaved.push({ changes, events, time: this.deps.clock.now() });
    }
    if (this.unsaved.length) await this.writeUnsaved();
  }

  /** Commits the waiting batches in order; a batch the store refuses is tried again after a pause. */
  private async writeUnsaved(): Promise<void> {
    for (let attempt = 1; this.unsaved.length; ) {
      const batch = this.unsaved[0]!;
      try {
        const written = await this.deps.repo.commit(this.sessionId, this.deps.fence, batch, batch.time);
        this.unsaved.shift();
        this.deps.bus.publish(written);
        attempt = 1;
      } catch (err) {
        if (err instanceof LeaseLostError) throw err;
        if (attempt === WRITE_ATTEMPTS_BEFORE_FAILING && !isTerminal(this.model.session.state)) {
          // The store keeps refusing: say so in the session, if that much can still be written.
          this.fail(`the store refused the engine's writes ${attempt} times: ${(err as Error).message}`);
          this.unsaved.push({ changes: this.model.takeChanges(), events: this.events.splice(0), time: this.deps.clock.now() });
        }
        await this.pause(retryDelay(attempt++));
        if (this.stopped) throw err;
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.deps.clock.at(this.deps.clock.now() + ms, resolve));
  }

  // ---- operations: recorded as started, performed, then observed to their end

  private recordStart(request: OperationRequest): Operation {
    const now = this.deps.clock.now();
    const op: Operation = {
      id: 0,
      sessionId: this.sessionId,
      kind: request.kind,
      target: request.target,
      key: request.key,
      attempt: this.model.session.attempt,
      params: request.params,
      status: 'started',
      checkAt: null,
      deadline: request.deadline,
      cause: null,
      result: {},
      createdAt: now,
      updatedAt: now,
    };
    this.model.putOperation(op);
    this.emit('maintctl.operation', { operation_id: operationId(op), key: op.key, kind: op.kind, target: op.target, status: 'started', params: op.params });
    return op;
  }

  /** The driver's key for an operation: unique per session, lane step and attempt. */
  private key(op: Operation): string {
    return `${this.sessionId}:${op.attempt}:${op.key}`;
  }

  private moveRef(op: Operation): MoveRef {
    return {
      key: this.key(op),
      instanceId: op.target,
      kind: op.kind === 'live_migrate' ? 'LIVE_MIGRATE' : 'MIGRATE',
      from: String(op.params.from),
      to: typeof op.params.to === 'string' ? op.params.to : null,
      startedAt: op.createdAt,
    };
  }

  /** Asks the infrastructure to do it. Safe to call again for an operation it never received. */
  private perform(op: Operation): Promise<void> | void {
    return settled(
      () => this.request(this.deps.driver.immediate ?? this.deps.driver, op),
      (request) => this.requested(op, request),
      (err) => this.refused(op, err),
    );
  }

  /** The request itself, made through the driver's immediate calls (answered at once) or its async ones. */
  private request(calls: ImmediateCalls | InfraDriver, op: Operation): Requested | Promise<Requested> {
    switch (op.kind) {
      case 'disable_host':
        return settled(() => calls.disableHost(op.target, String(op.params.reason ?? 'maintenance')), () => FLAGGED);
      case 'enable_host':
        return settled(() => calls.enableHost(op.target), () => FLAGGED);
      case 'migrate':
      case 'live_migrate':
        return calls.requestMove(this.moveRef(op));
      case 'host_maintenance':
        return calls.requestHostMaintenance(this.key(op), op.target);
      case 'plugin':
      case 'download':
        return undefined; // runs in this process, once recorded as requested
    }
  }

  /** The infrastructure would not take the request. */
  private refused(op: Operation, err: Error): void {
    if (!isPassing(err)) return this.finish(op, { phase: 'failed', cause: err.message });
    // The infrastructure's own store is busy (the sim's): ask again later; it is idempotent by key.
    const retries = Number(op.result.retries ?? 0) + 1;
    this.model.putOperation({ ...op, checkAt: this.deps.clock.now() + retryDelay(retries), result: { retries } });
  }

  /** It took the request: a host flag is set by then, anything else is looked at later. */
  private requested(op: Operation, request: Requested): void {
    if (request === FLAGGED) return this.finish(op, { phase: 'done', result: {} });
    const now = this.deps.clock.now();
    const local = isLocal(op);
    // Looked at when the infrastructure says it is due, else at once (a rehearsal's 200,000 moves are then looked at once each, not twice).
    this.model.putOperation({ ...op, status: 'requested', checkAt: local ? null : (request?.checkAt ?? now), updatedAt: now });
    if (local) this.runLocal(this.model.operation(op.key)!);
  }

  /** Runs a plug-in or the downloads here; the outcome is recorded unless the runner was stopped meanwhile (then it runs again). */
  private runLocal(op: Operation): void {
    const running = (op.kind === 'download' ? this.download() : this.runPlugin(op))
      .then((outcome) => {
        if (!this.stopped) this.finish(op, outcome);
      })
      .catch(() => undefined)
      .finally(() => this.local.delete(running));
    this.local.add(running);
  }

  private async runPlugin(op: Operation): Promise<Extract<Observation, { phase: 'done' | 'failed' }>> {
    const { plugins, repo, clock } = this.deps;
    const session = this.model.session;
    const type = String(op.params.type);
    const host = type === 'pre' || type === 'post' ? null : op.target;
    const plugin = String(op.params.plugin);
    // The output is a record, not a decision: a store that refuses it never fails the plug-in.
    const runId = await repo.startPluginRun({ sessionId: this.sessionId, key: op.key, attempt: op.attempt, host, plugin, type, startedAt: clock.now() }).catch(() => null);
    const write = (update: Parameters<typeof repo.updatePluginRun>[1]) => (runId === null ? undefined : repo.updatePluginRun(runId, update).catch(() => undefined));
    try {
      const result = await plugins.run({
        sessionId: this.sessionId,
        plugin,
        type,
        host,
        hostType: host === null ? null : (this.model.host(host)?.type ?? null),
        metadata: (op.params.metadata ?? {}) as Record<string, unknown>,
        sessionMetadata: session.metadata,
        workDir: plugins.workDir(this.sessionId),
        dirs: plugins.searchPath(session),
        runKey: op.key,
        release: sessionRelease(session.metadata) ?? undefined,
        clock,
        signal: this.stopping.signal,
        onOutput: (output, outputChars) => void write({ output, outputChars }),
      });
      await write({ status: 'done', exitStatus: 0, output: result.output, outputChars: result.outputChars, endedAt: clock.now() });
      return { phase: 'done', result: { exit_status: 0, last_lines: lastLines(result.output) } };
    } catch (err) {
      const failure = err instanceof PluginFailure ? err : new PluginFailure((err as Error).message, null, '', 0);
      const cause = this.stopped ? `${failure.message} (stopped with the engine: it runs again)` : failure.message;
      await write({ status: 'failed', exitStatus: failure.exitStatus, cause, output: failure.output, outputChars: failure.outputChars, endedAt: clock.now() });
      return { phase: 'failed', cause: failure.message };
    }
  }

  /** The session's download list, fetched before its pre plug-ins. */
  private async download(): Promise<Extract<Observation, { phase: 'done' | 'failed' }>> {
    try {
      const files = await this.deps.plugins.fetchDownloads(this.model.session, (ms) => this.pause(ms));
      return { phase: 'done', result: { files } };
    } catch (err) {
      return { phase: 'failed', cause: (err as Error).message };
    }
  }

  /** Looks at every requested operation that is due. */
  private observeDue(): Promise<void> | void {
    const now = this.deps.clock.now();
    const due = this.model
      .openOperations()
      .filter((op) => op.checkAt !== null && Math.min(op.checkAt, op.deadline ?? Infinity) <= now);
    return this.eachOperation(due, (op) => this.observe(op));
  }

  /**
   * fn for each operation, in order: one after the other in this turn when the driver answers at
   * once, else at most DRIVER_CONCURRENCY under way.
   */
  private eachOperation(ops: Operation[], fn: (op: Operation) => Promise<void> | void): Promise<void> | void {
    if (!this.deps.driver.immediate) return forEachLimited(ops, DRIVER_CONCURRENCY, fn);
    let waiting: Array<Promise<void>> | null = null;
    for (const op of ops) {
      const pending = fn(op);
      if (pending) (waiting ??= []).push(pending);
    }
    if (waiting) return Promise.all(waiting).then(() => undefined);
  }

  private observe(op: Operation): Promise<void> | void {
    // Flags and plug-ins are not observed: one that could not be asked for yet is asked for again.
    if (op.status === 'started' && (op.kind === 'disable_host' || op.kind === 'enable_host' || isLocal(op))) return this.perform(op);
    const calls = this.deps.driver.immediate ?? this.deps.driver;
    return settled(
      () => (op.kind === 'host_maintenance' ? calls.observeHostMaintenance(this.key(op), op.target) : calls.observeMove(this.moveRef(op))),
      (seen) => this.observed(op, seen),
      () => this.observed(op, this.unreachable()),
    );
  }

  /** Could not reach the infrastructure this time: look again shortly (the deadline still holds). */
  private unreachable(): Observation {
    return { phase: 'running', checkAt: this.deps.clock.now() + 5_000 };
  }

  /** What was seen of an operation, taken on. */
  private observed(op: Operation, seen: Observation): Promise<void> | void {
    const { clock } = this.deps;
    if (seen.phase === 'running' && op.deadline !== null && clock.now() >= op.deadline) {
      seen = { phase: 'failed', cause: `did not finish within ${Math.round((op.deadline - op.createdAt) / 1000)} s` };
    }
    if (seen.phase === 'unknown' && op.status === 'requested') {
      // It was accepted, yet the infrastructure has no trace of it: it gave up before starting.
      seen = { phase: 'failed', cause: 'the infrastructure accepted the request but has no record of it (e.g. no valid host was found)' };
    }
    if (seen.phase === 'unknown') return this.perform(op); // recorded before a crash, never requested: request it now
    if (seen.phase === 'running') {
      if (op.status === 'started') this.model.putOperation({ ...op, status: 'requested', checkAt: seen.checkAt, updatedAt: clock.now() });
      else this.model.reschedule(op.key, seen.checkAt);
      return;
    }
    this.finish(op, seen);
  }

  /** Records an operation's outcome and what it changed in the rows (an instance's host, a host's flag). */
  private finish(op: Operation, outcome: Extract<Observation, { phase: 'done' | 'failed' }>): void {
    const current = this.model.operation(op.key);
    // An outcome for an operation the model has moved past (another attempt, or already finished): nothing to record.
    if (!current || current.attempt !== op.attempt || (current.status !== 'started' && current.status !== 'requested')) return;
    const now = this.deps.clock.now();
    const done = outcome.phase === 'done';
    this.model.putOperation({ ...current, status: outcome.phase, updatedAt: now, ...(done ? { result: outcome.result } : { cause: outcome.cause }) });
    if (done) this.applyOutcome(op, outcome.result);
    this.emit('maintctl.operation', {
      operation_id: operationId(op),
      key: op.key,
      kind: op.kind,
      target: op.target,
      params: op.params,
      status: outcome.phase,
      ...(done ? { result: outcome.result } : { cause: outcome.cause }),
    });
    this.wake();
  }

  private applyOutcome(op: Operation, result: Record<string, unknown>): void {
    const m = this.model;
    if (op.kind === 'disable_host') m.updateHost(op.target, { disabled: true });
    if (op.kind === 'enable_host') m.updateHost(op.target, { disabled: false });
    if ((op.kind === 'migrate' || op.kind === 'live_migrate') && typeof result.host === 'string') m.updateInstance(op.target, { host: result.host });
  }

  /**
   * After a restart: an operation recorded as started may or may not have reached the
   * infrastructure. Ask it; request again only what it never received.
   */
  private async recover(): Promise<void> {
    for (const op of this.model.openOperations()) {
      if (op.kind === 'plugin' && (await this.finishedBefore(op))) continue;
      if (isLocal(op) || op.kind === 'disable_host' || op.kind === 'enable_host') {
        await this.perform(op); // plug-ins ran in the process that is gone; host flags are idempotent
      } else if (op.status === 'started') {
        await this.observe(op);
      }
    }
  }

  /** A plug-in whose run ended DONE just before the engine died (its outcome not committed yet) is not run again. */
  private async finishedBefore(op: Operation): Promise<boolean> {
    const runs = await this.deps.repo.pluginRuns(this.sessionId, { key: op.key }).catch(() => []);
    const last = runs.filter((r) => r.attempt === op.attempt).at(-1);
    if (last?.status !== 'done') return false;
    this.finish(op, { phase: 'done', result: { exit_status: 0, last_lines: lastLines(last.output) } });
    return true;
  }

  // ---- reading the infrastructure

  /** Reads hosts (null: all of the session's) and their instances, and brings the model in line. */
  private async sync(hosts: string[] | null): Promise<void> {
    const m = this.model;
    const { driver } = this.deps;
    const names = hosts ?? [...m.hosts()].map((h) => h.name);
    let infraHosts: InfraHost[];
    let infraInstances: InfraInstance[];
    try {
      [infraHosts, infraInstances] = await Promise.all([
        driver.listHosts(hosts ? { hosts } : undefined),
        driver.listInstances(hosts ? { hosts: hosts.filter((h) => m.host(h)?.type === 'compute') } : undefined),
      ]);
    } catch (err) {
      // A busy store behind the infrastructure (the sim's) passes: the next plan asks to read again.
      if (isPassing(err)) return this.pause(retryDelay(4));
      this.fail(`could not read the infrastructure: ${(err as Error).message}`);
      return this.save();
    }
    const computes = new Set(names.filter((n) => m.host(n)?.type === 'compute'));
    const seen = infraInstances.filter((i) => computes.has(i.host));
    const broken = brokenInstancesCause(seen);
    if (broken) {
      this.fail(broken);
      return this.save();
    }
    const view = [...computes].flatMap((h) => m.instancesOn(h));
    const changes = reconcileInstances(view, seen, computes);
    // A vanished instance may have been re-instantiated on a host this read did not cover.
    if (hosts && changes.removed.length) return this.sync(null);
    const now = this.deps.clock.now();
    this.updateHosts(infraHosts);
    await this.applyInstanceChanges(changes);
    if (!hosts) await this.refreshPolicies();
    if (!hosts) await this.refreshConstraints();
    m.markSynced(names, now);
    if (!hosts) m.updateSession({ syncedAt: now, discovered: true });
    await this.save();
  }

  private updateHosts(infraHosts: InfraHost[]): void {
    for (const h of infraHosts) {
      const row = this.model.host(h.name);
      if (!row) continue;
      const patch = { vcpus: h.vcpus, vcpusUsed: h.vcpusUsed, memoryMb: h.memoryMb, memoryMbUsed: h.memoryMbUsed };
      if (row.vcpus !== h.vcpus || row.vcpusUsed !== h.vcpusUsed || row.memoryMb !== h.memoryMb || row.memoryMbUsed !== h.memoryMbUsed) {
        this.model.updateHost(h.name, patch);
      }
    }
  }

  private async applyInstanceChanges(changes: ReturnType<typeof reconcileInstances>): Promise<void> {
    const m = this.model;
    for (const u of changes.updated) m.updateInstance(u.id, u.patch);
    for (const r of changes.replaced) {
      m.updateInstance(r.oldId, r.patch);
      this.emit('maintctl.instance.replaced', { old_id: r.oldId, instance_id: r.patch.instanceId, host: r.patch.host });
    }
    for (const a of changes.added) {
      m.addInstance(a);
      if (!m.project(a.projectId)) m.putProject(await this.newProject(a.projectId));
      if (m.session.discovered) this.emit('maintctl.instance.added', { instance_id: a.instanceId, name: a.name, project_id: a.projectId, host: a.host });
    }
    for (const r of changes.removed) {
      m.removeInstance(r.instanceId);
      this.emit('maintctl.instance.removed', { instance_id: r.instanceId, name: r.name, project_id: r.projectId, host: r.host });
    }
  }

  /** The session's projects' constraints, as the store has them now (kept as they were when it cannot say). */
  private async refreshConstraints(): Promise<void> {
    const m = this.model;
    const projects = [...m.projects()].map((p) => p.projectId);
    try {
      const rows = await this.deps.repo.constraintsOf(projects);
      m.constraints = new Constraints(rows, { liveMigrateS: this.deps.driver.moveEstimate?.('LIVE_MIGRATE') ?? null });
    } catch {
      // The next full read tries again; planning goes on with what was read before.
    }
  }

  private async answered(projectId: string): Promise<boolean> {
    return Boolean(this.deps.driver.answersFor?.(projectId)) || (await this.deps.repo.isSubscribed(projectId, this.sessionId));
  }

  private async newProject(projectId: string): Promise<Project> {
    const policy = projectPolicy(await this.answered(projectId), this.model.session.options, projectId);
    return { projectId, policy, state: null, visit: -1, wave: null, replyState: null, replyAt: null, repliedAt: null };
  }

  /**
   * A project that subscribed since the last look is asked from now on (its policy no longer
   * applies); one still unsubscribed gets the policy the session has now (`session update --unsubscribed`).
   */
  private async refreshPolicies(): Promise<void> {
    for (const p of [...this.model.projects()]) {
      if (p.policy === 'ask') continue;
      const policy = projectPolicy(await this.answered(p.projectId), this.model.session.options, p.projectId);
      if (policy !== p.policy) this.model.updateProject(p.projectId, { policy });
    }
  }
}

/**
 * Whether `next` is the question about exactly the moves of `wave`, in their order (as the
 * rolling workflow plans a wave): marking each instance once for both leaves the model as two
 * passes would, in the same order.
 */
function asksAboutWave(next: Effect | undefined, wave: Extract<Effect, { kind: 'wave' }>): boolean {
  if (next?.kind !== 'ask' || next.wave !== wave.wave || next.perInstance || next.instances.length !== wave.moves.length) return false;
  return wave.moves.every((mv, n) => next.instances[n] === mv.instanceId);
}

/** The checkpoints a committed plan passes (crash tests stop the process at one of them). */
function checkpointsOf(plan: Effect[]): string[] {
  const labels: string[] = [];
  for (const e of plan) {
    if (e.kind === 'transition') labels.push(`transition:${e.to}`);
    else if (e.kind === 'fail') labels.push('failed');
    else if (e.kind === 'ask') labels.push(`ask:${e.state}`);
    else if (e.kind === 'start') labels.push(`operation-recorded:${e.operation.kind}`);
    else if (e.kind === 'lane') labels.push(`host:${e.to}`);
    else if (e.kind === 'instances-done') labels.push('instances-done');
  }
  return [...new Set(labels)];
}

/** The entries of a time map still in the future (the rest are forgotten). */
function liveTimes(times: Record<string, number> | undefined, now: number): Record<string, number> {
  return Object.fromEntries(Object.entries(times ?? {}).filter(([, t]) => t > now));
}

/** Plug-ins and downloads run in the engine's process, not in the infrastructure. */
const isLocal = (op: Operation) => op.kind === 'plugin' || op.kind === 'download';

/** What a request came to: a host flag set (FLAGGED), else what the infrastructure said when it took it. */
const FLAGGED = Symbol('flagged');
type Requested = Accepted | void | typeof FLAGGED;

/**
 * call(), then done with its value, or failed with its error (rethrown without failed): in this
 * turn when it answers at once (a value or a throw), once it settles when it answers with a
 * promise. An error thrown by done is not failed's.
 */
function settled<T, R>(call: () => T | Promise<T>, done: (value: T) => R, failed?: (err: Error) => R): R | Promise<Awaited<R>> {
  let value: T | Promise<T>;
  try {
    value = call();
  } catch (err) {
    if (!failed) throw err;
    return failed(err as Error);
  }
  if (!isPromise(value)) return done(value);
  // (A done that answers with a promise is followed by the promise then returned.)
  return (failed ? value.then(done, (err: Error) => failed(err)) : value.then(done)) as Promise<Awaited<R>>;
}

const isPromise = <T>(v: T | Promise<T>): v is Promise<T> => typeof (v as { then?: unknown } | null | undefined)?.then === 'function';

/** One read covering every scope asked for (null, all hosts, wins). */
function mergeScopes(scopes: Array<string[] | null>): string[] | null {
  if (scopes.some((s) => s === null)) return null;
  return [...new Set(scopes.flat() as string[])];
}

/**
 * Names one operation in the session's events: its started event and its outcome carry the same
 * id. The key alone is not enough: a continued session runs a failed step again under the same key.
 */
const operationId = (op: Operation) => `${op.attempt}:${op.key}`;

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void> | void): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
