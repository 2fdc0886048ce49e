// The engine: creates sessions, takes replies, and runs every unfinished session it holds the
// lease for. Restarted on an existing store, it resumes each one where it stopped.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import { InvalidInputError, NotFoundError, RefusedError } from '../domain/errors.js';
import { DEFAULT_OPTIONS, type DriverSpec, type Host, type Session } from '../domain/model.js';
import { SESSION_EVENT } from '../domain/notifications.js';
import { affectedInstances, checkReply } from '../domain/replies.js';
import { createSessionSchema, projectReplySchema } from '../domain/schemas.js';
import { isTerminal } from '../domain/states.js';
import { parseTime } from '../domain/time.js';
import { parseWith } from '../domain/validate.js';
import type { CompanionContext, InfraDriver } from '../infra/driver.js';
import { openDriver as defaultOpenDriver, type DriverFactory } from '../infra/index.js';
import { EventBus } from '../notify/bus.js';
import { Deliverer, type DelivererOptions } from '../notify/deliverer.js';
import type { Store } from '../store/store.js';
import { nextDeliveryAt } from '../store/subscriptions.js';
import { getWorkflow } from '../workflows/registry.js';
import type { Workflow } from '../workflows/types.js';
import { recordFailure, recordWithEvents, sessionNotice, type Emit } from './notices.js';
import { PluginRegistry } from './plugins.js';
import { SessionRunner } from './runner.js';

export interface EngineOptions {
  store: Store;
  clock: Clock;
  openDriver?: DriverFactory;
  plugins?: PluginRegistry;
  /** Where projects reach the API (goes into reply_url and instance_ids URLs). */
  baseUrl?: string;
  /** This engine's name in session leases. */
  owner?: string;
  leaseTtlMs?: number;
  /**
   * How often to look for writes by other processes (replies, new sessions) and renew leases,
   * in ms of the clock; null turns it off (one process owns the store, e.g. under a virtual clock).
   */
  watchMs?: number | null;
  checkpoint?: (label: string) => Promise<void>;
  /** Webhook delivery settings (retries, the HTTP poster); false: this engine delivers nothing. */
  delivery?: Omit<DelivererOptions, 'store' | 'clock'> | false;
}

interface Running {
  runner: SessionRunner;
  done: Promise<void>;
}

export interface PendingQuestion {
  projectId: string;
  state: string;
  instanceIds: string[];
}

export class Engine {
  readonly bus = new EventBus();
  readonly store: Store;
  readonly clock: Clock;
  private readonly openDriver: DriverFactory;
  readonly plugins: PluginRegistry;
  private readonly baseUrl: string;
  private readonly owner: string;
  private readonly leaseTtlMs: number;
  private readonly watchMs: number | null;
  private readonly checkpoint: (label: string) => Promise<void>;
  private readonly running = new Map<string, Running>();
  private readonly deleting = new Set<string>();
  /** Sessions whose runner died on an error: how often, and when to try again. */
  private readonly crashes = new Map<string, { count: number; retryAt: number }>();
  private watchTimer: { cancel(): void } | null = null;
  private lastDataVersion = -1;
  private started = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  private serving: Promise<void> = Promise.resolve();
  private readonly deliverer: Deliverer | null;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.openDriver = options.openDriver ?? defaultOpenDriver;
    this.plugins = options.plugins ?? new PluginRegistry();
    this.baseUrl = options.baseUrl ?? 'http://127.0.0.1:12347';
    this.owner = options.owner ?? `engine-${randomUUID()}`;
    this.watchMs = options.watchMs === undefined ? null : options.watchMs;
    this.leaseTtlMs = options.leaseTtlMs ?? (this.watchMs === null ? 365 * 24 * 3600_000 : 30_000);
    this.checkpoint = options.checkpoint ?? (async () => undefined);
    this.deliverer = options.delivery === false ? null : new Deliverer({ store: this.store, clock: this.clock, ...options.delivery });
  }

  /** Resumes every unfinished session this engine can take the lease of. */
  start(): void {
    this.started = true;
    this.stopped = false;
    this.deliverer?.start(this.bus);
    this.adoptSessions();
    if (this.watchMs !== null) this.scheduleWatch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watchTimer?.cancel();
    await this.serving;
    const all = [...this.running.values()];
    for (const r of all) r.runner.stop();
    await Promise.all(all.map((r) => r.done));
    await this.deliverer?.stop();
  }

  /** Resolves once no webhook delivery is pending: each one delivered, given up or cancelled. */
  async whenDelivered(): Promise<void> {
    while (!this.stopped && this.deliverer && nextDeliveryAt(this.store) !== null) {
      await new Promise<void>((resolve) => this.clock.at(this.clock.now() + 200, resolve));
    }
  }

  /** Takes on unfinished sessions no engine runs (e.g. created while this one was finishing). */
  adoptSessions(): void {
    for (const id of this.store.activeSessionIds()) this.launch(id);
  }

  /** Sessions this engine is running now. */
  activeSessions(): string[] {
    return [...this.running.keys()];
  }

  /** Resolves once this engine runs no session. */
  whenIdle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  // ---- sessions

  async createSession(input: unknown, driverSpec: DriverSpec): Promise<Session> {
    const body = parseWith(createSessionSchema, input, 'session request');
    getWorkflow(body.workflow);
    const unknown = body.actions.filter((a) => !this.plugins.has(a.plugin));
    if (unknown.length) {
      throw new InvalidInputError(
        `unknown action plug-in ${unknown.map((a) => `"${a.plugin}"`).join(', ')}: available are ${this.plugins.names().join(', ')}`,
      );
    }
    const now = this.clock.now();
    const maintenanceAt = body.maintenance_at ? parseTime(body.maintenance_at) : now;
    const driver = this.openDriver(driverSpec, { store: this.store, clock: this.clock });
    const hosts = await selectHosts(driver, body.hosts);
    const session: Session = {
      id: randomUUID(),
      state: 'MAINTENANCE',
      workflow: body.workflow,
      maintenanceAt,
      metadata: body.metadata,
      options: {
        ...DEFAULT_OPTIONS,
        ...(body.project_maintenance_reply ? { projectMaintenanceReply: body.project_maintenance_reply } : {}),
        ...(body.project_scale_in_reply ? { projectScaleInReply: body.project_scale_in_reply } : {}),
        ...(body.max_parallel_hosts ? { maxParallelHosts: body.max_parallel_hosts } : {}),
        unsubscribed: { default: body.unsubscribed_policy ?? 'fail', projects: body.project_policies ?? {} },
      },
      driver: driverSpec,
      download: body.download,
      actions: body.actions.map((a) => ({ plugin: a.plugin, type: a.type, metadata: a.metadata ?? {} })),
      createdAt: now,
      updatedAt: now,
      stateEnteredAt: now,
      visit: 0,
      targetHost: null,
      failure: null,
      failedState: null,
      discovered: false,
      syncedAt: 0,
      data: {},
    };
    this.record(session.id, (emit) => {
      this.store.insertSession(session);
      for (const h of hosts) this.store.insertHost(session.id, h);
      for (const h of hosts.filter((x) => x.disabledBefore)) {
        emit('maintctl.host.disabled_before', { host: h.name, note: 'disabled before the session: it is maintained but left disabled' });
      }
      emit(SESSION_EVENT, sessionNotice(this.store, session.id, null));
    });
    this.launch(session.id);
    return session;
  }

  /** A project's answer (PUT /v1/maintenance/{session}/{project}): checked, recorded, and the session woken. */
  reply(sessionId: string, projectId: string, input: unknown): void {
    const body = parseWith(projectReplySchema, input, 'reply');
    this.record(sessionId, (emit) => {
      const session = this.store.getSession(sessionId);
      if (isTerminal(session.state)) throw new RefusedError(`session ${sessionId} is ${session.state}: it asks nothing`);
      if (body.session_id && body.session_id !== sessionId) {
        throw new InvalidInputError(`the reply names session ${body.session_id} but was sent to session ${sessionId}`);
      }
      const project = this.store.projects(sessionId).find((p) => p.projectId === projectId);
      if (!project) throw new RefusedError(`project ${projectId} has no instances in session ${sessionId}: it is asked nothing`);
      const now = this.clock.now();
      const accepted = checkReply(project, session.visit, this.store.instances(sessionId), body, now);
      this.store.updateProject(sessionId, projectId, { replyState: body.state, repliedAt: now });
      for (const [id, action] of accepted.actions) this.store.updateInstance(sessionId, id, { action });
      const actions = Object.fromEntries(accepted.actions);
      this.store.insertReply(sessionId, projectId, body.state, actions, now);
      emit('maintctl.reply', { project_id: projectId, state: body.state, instance_actions: actions });
    });
    this.running.get(sessionId)?.runner.wake();
  }

  /** Projects asked something in the current visit that have not answered. */
  pendingQuestions(sessionId: string): PendingQuestion[] {
    const session = this.store.findSession(sessionId);
    if (!session || isTerminal(session.state)) return [];
    const instances = this.store.instances(sessionId);
    return this.store
      .projects(sessionId)
      .filter((p) => p.state && p.visit === session.visit && p.replyState === null)
      .map((p) => ({ projectId: p.projectId, state: p.state!, instanceIds: affectedInstances(p, instances).map((i) => i.instanceId) }));
  }

  /** Resolves with the session once it is MAINTENANCE_DONE or MAINTENANCE_FAILED. */
  waitForEnd(sessionId: string): Promise<Session> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const session = this.store.findSession(sessionId);
        if (!session) {
          unsubscribe();
          reject(new NotFoundError(`session ${sessionId} was deleted`));
        } else if (isTerminal(session.state)) {
          unsubscribe();
          resolve(session);
        }
      };
      const unsubscribe = this.bus.subscribe((e) => {
        if (e.sessionId === sessionId && e.eventType === SESSION_EVENT) check();
      });
      check();
    });
  }

  /** Continues a failed session from the state it failed in (Fenix's "update", never built there). */
  continueSession(sessionId: string): Session {
    this.record(sessionId, (emit) => {
      const session = this.store.getSession(sessionId);
      if (session.state !== 'MAINTENANCE_FAILED' || !session.failedState) {
        throw new RefusedError(`session ${sessionId} is ${session.state}: only a failed session can be continued`);
      }
      const now = this.clock.now();
      this.store.updateSession(sessionId, {
        state: session.failedState,
        failure: null,
        failedState: null,
        // The cause was fixed out there: look at the infrastructure afresh.
        syncedAt: 0,
        visit: session.visit + 1,
        stateEnteredAt: now,
        updatedAt: now,
      });
      emit(SESSION_EVENT, sessionNotice(this.store, sessionId, session.state));
    });
    this.launch(sessionId);
    return this.store.getSession(sessionId);
  }

  /** Stops a session and forgets it; hosts it disabled are enabled again unless told otherwise. */
  async deleteSession(sessionId: string, options: { keepDisabled?: boolean } = {}): Promise<{ reenabled: string[] }> {
    const session = this.store.findSession(sessionId);
    if (!session) return { reenabled: [] };
    this.deleting.add(sessionId);
    const running = this.running.get(sessionId);
    running?.runner.stop();
    await running?.done;
    const reenabled: string[] = [];
    if (!options.keepDisabled) {
      const driver = this.openDriver(session.driver, { store: this.store, clock: this.clock });
      for (const host of this.store.hosts(sessionId).filter((h) => h.disabled)) {
        await driver.enableHost(host.name);
        this.store.updateHost(sessionId, host.name, { disabled: false });
        reenabled.push(host.name);
      }
    }
    this.store.tx(() => this.store.deleteSession(sessionId));
    this.deleting.delete(sessionId);
    return { reenabled };
  }

  // ---- running

  private record(sessionId: string, fn: (emit: Emit) => void): void {
    recordWithEvents(this.store, this.bus, this.clock, sessionId, fn);
  }

  private launch(sessionId: string): void {
    // An engine not started only records (e.g. a CLI handing sessions to a background engine).
    if (!this.started || this.stopped || this.running.has(sessionId) || this.deleting.has(sessionId)) return;
    if ((this.crashes.get(sessionId)?.retryAt ?? 0) > this.clock.now()) return;
    if (!this.store.acquireLease(sessionId, this.owner, this.clock.now(), this.leaseTtlMs)) return;
    const session = this.store.getSession(sessionId);
    let driver: InfraDriver;
    let workflow: Workflow;
    try {
      driver = this.openDriver(session.driver, { store: this.store, clock: this.clock });
      workflow = getWorkflow(session.workflow);
    } catch (err) {
      this.store.releaseLease(sessionId, this.owner);
      return this.failUnrunnable(session, (err as Error).message);
    }
    const runner = new SessionRunner(sessionId, {
      store: this.store,
      clock: this.clock,
      bus: this.bus,
      driver,
      workflow,
      plugins: this.plugins,
      baseUrl: this.baseUrl,
      checkpoint: this.checkpoint,
    });
    const stopCompanions = driver.startCompanions?.(this.companionContext(sessionId)) ?? (() => undefined);
    const done = runner
      .run()
      .then(
        () => this.crashes.delete(sessionId) || true,
        (err: Error) => this.crashed(sessionId, err),
      )
      .then((cleanExit) => {
        stopCompanions();
        this.running.delete(sessionId);
        if (!this.store.db.open) return;
        this.store.releaseLease(sessionId, this.owner);
        // Continued while its runner was finishing: run it again.
        if (cleanExit && this.isActive(sessionId)) this.launch(sessionId);
        if (this.running.size === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
      });
    this.running.set(sessionId, { runner, done });
  }

  /** A session whose driver or workflow cannot be opened here fails, saying why. */
  private failUnrunnable(session: Session, cause: string): void {
    this.record(session.id, (emit) => recordFailure(this.store, session, `cannot run the session here: ${cause}`, this.clock.now(), emit));
  }

  private isActive(sessionId: string): boolean {
    const session = this.store.findSession(sessionId);
    return session !== null && !isTerminal(session.state);
  }

  /**
   * A runner died on something the workflow could not turn into a decision (e.g. the store).
   * It is tried again after a pause that doubles; the third time the session fails with the error.
   */
  private crashed(sessionId: string, err: Error): false {
    const count = (this.crashes.get(sessionId)?.count ?? 0) + 1;
    this.crashes.set(sessionId, { count, retryAt: this.clock.now() + 1000 * 2 ** count });
    try {
      this.record(sessionId, (emit) => emit('maintctl.engine_error', { message: err.message, attempt: count }));
      const session = this.store.findSession(sessionId);
      if (count >= 3 && session && !isTerminal(session.state)) this.failUnrunnable(session, `the engine failed ${count} times: ${err.message}`);
    } catch {
      // the store itself is failing; nothing more can be recorded
    }
    return false;
  }

  private companionContext(sessionId: string): CompanionContext {
    return {
      sessionId,
      reply: (projectId, body) => this.reply(sessionId, projectId, body),
      listen: (listener) =>
        this.bus.subscribe((e) => {
          if (e.sessionId === sessionId) listener(e);
        }),
      pendingQuestions: () => this.pendingQuestions(sessionId),
    };
  }

  /** Notices writes by other processes (replies, new or continued sessions) and renews leases. */
  private scheduleWatch(): void {
    this.watchTimer = this.clock.at(this.clock.now() + this.watchMs!, () => {
      if (this.stopped) return;
      const version = this.store.dataVersion();
      if (version !== this.lastDataVersion) {
        this.lastDataVersion = version;
        for (const r of this.running.values()) r.runner.wake();
        this.adoptSessions();
      }
      for (const id of this.running.keys()) this.store.acquireLease(id, this.owner, this.clock.now(), this.leaseTtlMs);
      this.serving = this.serveRequests().finally(() => {
        if (!this.stopped) this.scheduleWatch();
      });
    });
  }

  /** Carries out what other processes asked about the sessions this engine runs. */
  async serveRequests(): Promise<void> {
    for (const request of this.store.pendingRequests()) {
      if (!this.running.has(request.sessionId) && this.store.findSession(request.sessionId)) continue;
      let result: object;
      try {
        if (request.kind !== 'delete') throw new Error(`unknown request ${request.kind}`);
        result = { ok: true, ...(await this.deleteSession(request.sessionId, { keepDisabled: Boolean(request.params.keepDisabled) })) };
      } catch (err) {
        result = { ok: false, error: (err as Error).message };
      }
      this.store.finishRequest(request.id, result, this.clock.now());
    }
  }
}

/** The hosts a session covers: those named (each must exist) or, with none named, all of them. */
async function selectHosts(driver: InfraDriver, names: string[]): Promise<Host[]> {
  const known = await driver.listHosts();
  const byName = new Map(known.map((h) => [h.name, h]));
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length) {
    throw new InvalidInputError(`unknown host ${missing.join(', ')}: the infrastructure has ${known.map((h) => h.name).join(', ')}`);
  }
  const chosen = names.length ? [...new Set(names)].map((n) => byName.get(n)!) : known;
  return chosen.map((h) => ({
    name: h.name,
    type: h.type,
    vcpus: h.vcpus,
    vcpusUsed: h.vcpusUsed,
    state: 'PENDING',
    disabled: false,
    disabledBefore: h.type === 'compute' && !h.enabled,
  }));
}
