// The engine: creates sessions, takes replies, and runs every unfinished session it holds the
// lease for. Restarted on an existing store, it resumes each one where it stopped. It reaches
// the store only through the async Repository.
import { randomUUID } from 'node:crypto';
import type { Clock, Timer } from '../domain/clock.js';
import { Constraints } from '../domain/constraints.js';
import { InvalidInputError, NotFoundError, RefusedError } from '../domain/errors.js';
import { DEFAULT_OPTIONS, withChanges, type DownloadEntry, type DriverSpec, type Host, type Instance, type Session, type SessionOptionChanges } from '../domain/model.js';
import { SESSION_EVENT } from '../domain/notifications.js';
import { replyRows } from '../domain/policy.js';
import { checkRollback, checkStartable, chooseOperation, inRange, releaseMetadata, rollbackOf, type Cluster, type ClusterOperation } from '../domain/releases.js';
import { hostProgress } from '../domain/progress.js';
import { affectedInstances, checkReply } from '../domain/replies.js';
import type { ProjectReplyBody } from '../domain/schemas.js';
import { isTerminal } from '../domain/states.js';
import { parseTime } from '../domain/time.js';
import { parseWith } from '../domain/validate.js';
import type { CompanionContext, InfraDriver } from '../infra/driver.js';
import { openDriver as defaultOpenDriver, type DriverFactory } from '../infra/index.js';
import { EventBus } from '../notify/bus.js';
import { Deliverer, type DelivererOptions } from '../notify/deliverer.js';
import type { Repository, Write } from '../store/repository.js';
import { SqliteRepository } from '../store/sqlite-repository.js';
import type { Store } from '../store/store.js';
import { getWorkflow } from '../workflows/registry.js';
import type { Workflow } from '../workflows/types.js';
import { failedSession, sessionNotice } from './notices.js';
import { downloadName, entryUrl, isPluginBundle } from './downloads.js';
import { packageVersion } from './package-version.js';
import { PluginRegistry } from './plugins.js';
import { retryDelay } from './retry.js';
import { SessionRunner } from './runner.js';

export interface EngineOptions {
  /** The embedded store: the sessions' unless `repo` is given, and always the sim clouds'. */
  store: Store;
  /** Where sessions are kept when not in `store` (a shared PostgreSQL). */
  repo?: Repository;
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
  delivery?: Omit<DelivererOptions, 'repo' | 'clock' | 'owner'> | false;
}

/**
 * How often an engine sharing its store with other processes looks for their writes (a reply, a
 * new session), in ms: a cheap read, so a reply from another process is acted on within it.
 */
export const WATCH_MS = 10;

/** A server's lease on a session by default (serve --lease-time): the longest a dead replica's sessions wait. */
export const SHARED_LEASE_MS = 10_000;

interface Running {
  runner: SessionRunner;
  done: Promise<void>;
  /** Its run ended: the lease is being given back, not renewed. */
  ended: boolean;
}

export interface PendingQuestion {
  projectId: string;
  state: string;
  instanceIds: string[];
}

export class Engine {
  readonly bus = new EventBus();
  readonly store: Store;
  readonly repo: Repository;
  readonly clock: Clock;
  private readonly openDriver: DriverFactory;
  readonly plugins: PluginRegistry;
  private readonly baseUrl: string;
  /** This engine's name in leases (a serve replica's id). */
  readonly owner: string;
  readonly leaseTtlMs: number;
  private readonly watchMs: number | null;
  private readonly checkpoint: (label: string) => Promise<void>;
  private readonly running = new Map<string, Running>();
  private readonly deleting = new Set<string>();
  /** Sessions whose lease is being taken here: a second launch meanwhile would start a second runner with the same fence. */
  private readonly launching = new Set<string>();
  /** Sessions whose runner died on an error: how often, and when to try again. */
  private readonly crashes = new Map<string, { count: number; retryAt: number }>();
  private watchTimer: { cancel(): void } | null = null;
  private lastChange = -1;
  private lookedAt = 0;
  private watchFailures = 0;
  private leasesRenewedAt = 0;
  private started = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  private serving: Promise<void> = Promise.resolve();
  private adopting: Promise<void> = Promise.resolve();
  /** Relaunches of crashed sessions waiting for their time: cancelled by stop(), so none keeps the process alive. */
  private readonly retries = new Set<Timer>();
  private readonly deliverer: Deliverer | null;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.repo = options.repo ?? new SqliteRepository(options.store);
    this.clock = options.clock;
    this.openDriver = options.openDriver ?? defaultOpenDriver;
    this.plugins = options.plugins ?? new PluginRegistry();
    this.baseUrl = options.baseUrl ?? 'http://127.0.0.1:12347';
    this.owner = options.owner ?? `engine-${randomUUID()}`;
    this.watchMs = options.watchMs === undefined ? null : options.watchMs;
    this.leaseTtlMs = options.leaseTtlMs ?? (this.watchMs === null ? 365 * 24 * 3600_000 : 30_000);
    this.checkpoint = options.checkpoint ?? (async () => undefined);
    this.deliverer = options.delivery === false ? null : new Deliverer({ repo: this.repo, clock: this.clock, owner: this.owner, ...options.delivery });
  }

  /** Resumes every unfinished session this engine can take the lease of. */
  start(): void {
    this.started = true;
    this.stopped = false;
    this.deliverer?.start(this.bus);
    void this.adoptSessions();
    if (this.watchMs !== null) this.scheduleWatch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watchTimer?.cancel();
    await this.serving;
    // Sessions being taken on see `stopped` after their next await and leave (launch).
    await this.adopting;
    const all = [...this.running.values()];
    for (const r of all) r.runner.stop();
    await Promise.all(all.map((r) => r.done));
    for (const timer of this.retries) timer.cancel();
    this.retries.clear();
    await this.deliverer?.stop();
  }

  /** Resolves once no webhook delivery is pending: each one delivered, given up or cancelled. */
  async whenDelivered(): Promise<void> {
    while (!this.stopped && this.deliverer && (await this.repo.nextDeliveryAt()) !== null) {
      await new Promise<void>((resolve) => this.clock.at(this.clock.now() + 200, resolve));
    }
  }

  /** Takes on unfinished sessions no engine runs (e.g. created while this one was finishing). */
  adoptSessions(): Promise<void> {
    const adopting = (async () => {
      await this.autoRollback();
      for (const id of await this.repo.activeSessionIds()) await this.launch(id);
    })();
    this.adopting = adopting.catch(() => undefined);
    return adopting;
  }

  /** Sessions this engine is running now. */
  activeSessions(): string[] {
    return [...this.running.keys()];
  }

  /** Resolves once this engine runs no session. */
  whenIdle(): Promise<void> {
    // Sessions being taken on (at start, or rolled back by themselves) are not idle time.
    return this.adopting.then(() => (this.running.size === 0 ? undefined : new Promise((resolve) => this.idleWaiters.push(resolve))));
  }

  // ---- sessions

  /** Records a new session (and runs it, when this engine is started); `pluginDirs` are searched for its plug-ins after the built-ins. */
  async createSession(input: unknown, driverSpec: DriverSpec, options: { pluginDirs?: string[] } = {}): Promise<Session> {
    const { createSessionSchema } = await inputSchemas();
    const body = parseWith(createSessionSchema, input, 'session request');
    getWorkflow(body.workflow);
    const pluginDirs = options.pluginDirs ?? [];
    const actions = body.actions.map((a) => ({ plugin: a.plugin, type: a.type, metadata: a.metadata ?? {}, ...(a.order === undefined ? {} : { order: a.order }) }));
    checkDownloads(body.download);
    // Plug-ins a bundle of the download list brings are looked for once it is unpacked.
    const mayBeDownloaded = body.download.some((d) => isPluginBundle(downloadName(entryUrl(d))));
    const problem = this.plugins.problems(actions, [...pluginDirs, ...this.plugins.dirs], { mayBeDownloaded });
    if (problem) throw new InvalidInputError(problem);
    const now = this.clock.now();
    const maintenanceAt = body.maintenance_at ? parseTime(body.maintenance_at) : now;
    const id = randomUUID();
    if (body.release !== undefined && body.cluster === undefined) throw new InvalidInputError('invalid session request: release needs cluster: name the cluster to update');
    if (body.auto_rollback && body.release === undefined) throw new InvalidInputError('invalid session request: auto_rollback needs release: only an update or downgrade is rolled back');
    const release = body.cluster ? await this.planRelease(id, body.cluster, body.release, body.auto_rollback ?? false, body.metadata, now) : null;
    const session: Session = {
      id,
      workflow: body.workflow,
      maintenanceAt,
      metadata: release?.metadata ?? body.metadata,
      options: {
        ...DEFAULT_OPTIONS,
        ...(body.project_maintenance_reply ? { projectMaintenanceReply: body.project_maintenance_reply } : {}),
        ...(body.project_scale_in_reply ? { projectScaleInReply: body.project_scale_in_reply } : {}),
        ...(body.max_parallel_hosts ? { maxParallelHosts: body.max_parallel_hosts } : {}),
        ...(body.max_migrations ? { maxMigrations: body.max_migrations } : {}),
        unsubscribed: { default: body.unsubscribed_policy ?? 'fail', projects: body.project_policies ?? {} },
      },
      driver: driverSpec,
      download: body.download,
      pluginDirs,
      actions,
      ...freshRun(now),
    };
    return this.recordSession(session, clusterHosts(body.hosts, release?.cluster ?? null), release?.operation);
  }

  /** Writes a new session (with its hosts, looked up on its infrastructure, and its cluster operation) and runs it. */
  private async recordSession(session: Session, hostNames: string[], operation?: ClusterOperation): Promise<Session> {
    const now = session.createdAt;
    const driver = await this.openDriver(session.driver, { store: this.store, clock: this.clock });
    const hosts = await selectHosts(driver, hostNames, now);
    const events = [
      ...hosts
        .filter((x) => x.disabledBefore)
        .map((h) => ({ eventType: 'maintctl.host.disabled_before', payload: { host: h.name, note: 'disabled before the session: it is maintained but left disabled' } })),
      { eventType: SESSION_EVENT, payload: sessionNotice(session, hostProgress(hosts), null) },
    ];
    this.bus.publish(await this.repo.createSession(session, hosts, driver.identity, events, now, operation));
    await this.launch(session.id);
    return session;
  }

  /**
   * A session over a cluster: with a release, the update or downgrade it is (refused when it is
   * neither), and the session metadata projects and plug-ins see the target release in.
   */
  private async planRelease(sessionId: string, name: string, target: string | undefined, autoRollback: boolean, metadata: Record<string, unknown>, now: number) {
    const cluster = await this.repo.cluster(name);
    if (!cluster) throw new NotFoundError(`no cluster ${name}: cluster list shows those there are`);
    if (target === undefined) return { cluster, metadata, operation: undefined };
    if ('release' in metadata) throw new InvalidInputError('metadata key "release" is the target release of a cluster session: give your metadata another key');
    const releases = await this.repo.releases();
    const find = (r: string) => releases.find((x) => x.name === r);
    const to = find(target);
    if (!to) throw new NotFoundError(`no release ${target}: release list shows those there are`);
    const from = find(cluster.currentRelease)!;
    const kind = chooseOperation(name, from, to, releases);
    if (to.compatibleWith && !inRange(packageVersion(), to.compatibleWith)) {
      throw new RefusedError(`release ${to.name} works with maintctl ${to.compatibleWith}; this is maintctl ${packageVersion()}: use a maintctl it works with`);
    }
    checkStartable(cluster);
    const operation: ClusterOperation = { sessionId, cluster: name, kind, from: from.name, to: to.name, rollbackOf: null, rollbackSession: null, autoRollback, createdAt: now };
    return { cluster, metadata: { ...metadata, release: releaseMetadata(operation, from, to) }, operation };
  }

  /**
   * `session rollback`: a new session over the hosts a failed or done update (or downgrade) moved,
   * with the versions swapped and the same workflow, plug-ins and options. With no host moved,
   * the cluster is settled on its old release at once and no session is needed (null).
   */
  async rollbackSession(sessionId: string): Promise<{ session: Session | null; hosts: string[] }> {
    const op = await this.repo.clusterOperation(sessionId);
    const undone = await this.repo.findSession(sessionId);
    if (!undone) throw new NotFoundError(`no session ${sessionId}`);
    if (!op) throw new RefusedError(`session ${sessionId} changes no cluster's release: there is nothing to roll back`);
    const cluster = (await this.repo.cluster(op.cluster))!;
    checkRollback(op, undone, cluster);
    const back = rollbackOf(op, cluster);
    const now = this.clock.now();
    if (!back.hosts.length) {
      const settled = { ...cluster, status: 'operational' as const, currentRelease: back.to, pendingRelease: null, updatedAt: now };
      const notice = { topic: 'done' as const, message: `no host of cluster ${op.cluster} had moved to ${op.to}: it is operational on ${back.to}`, cluster: op.cluster, host: null, sessionId };
      this.bus.publish(await this.repo.settleCluster(settled, notice, now));
      return { session: null, hosts: [] };
    }
    const releases = await this.repo.releases();
    const find = (name: string) => {
      const found = releases.find((x) => x.name === name);
      if (!found) throw new RefusedError(`release ${name} was deleted since: add it again (release add) to roll back to it`);
      return found;
    };
    const id = randomUUID();
    const operation: ClusterOperation = { sessionId: id, cluster: op.cluster, kind: 'rollback', from: back.from, to: back.to, rollbackOf: sessionId, rollbackSession: null, autoRollback: false, createdAt: now };
    const session: Session = {
      ...undone,
      id,
      maintenanceAt: now,
      metadata: { ...undone.metadata, release: releaseMetadata(operation, find(back.from), find(back.to)) },
      ...freshRun(now),
    };
    return { session: await this.recordSession(session, back.hosts, operation), hosts: back.hosts };
  }

  /** Failed updates created with auto_rollback are rolled back (also those a crash left without their rollback). */
  private async autoRollback(): Promise<void> {
    for (const id of await this.repo.pendingAutoRollbacks()) {
      try {
        await this.rollbackSession(id);
      } catch (err) {
        const payload = { message: `automatic rollback of session ${id} failed: ${(err as Error).message}`, attempt: 1 };
        this.bus.publish(await this.repo.record(id, { changes: {}, events: [{ eventType: 'maintctl.engine_error', payload }] }, this.clock.now()).catch(() => []));
      }
    }
  }

  /** A project's answer (PUT /v1/maintenance/{session}/{project}): checked, recorded, and the session woken. */
  async reply(sessionId: string, projectId: string, input: unknown): Promise<void> {
    const { projectReplySchema } = await inputSchemas();
    return this.recordReply(sessionId, projectId, parseWith(projectReplySchema, input, 'reply'));
  }

  /** A reply built by code (the sim's VNFMs), typed as a checked one is: recorded as reply() does. */
  private async recordReply(sessionId: string, projectId: string, body: ProjectReplyBody): Promise<void> {
    const constraints = new Constraints(await this.repo.constraintsOf([projectId]));
    const now = this.clock.now();
    const written = await this.repo.updateProject(
      sessionId,
      projectId,
      ({ session, project, instances }): Write => {
        if (isTerminal(session.state)) throw new RefusedError(`session ${sessionId} is ${session.state}: it asks nothing`);
        if (body.session_id && body.session_id !== sessionId) {
          throw new InvalidInputError(`the reply names session ${body.session_id} but was sent to session ${sessionId}`);
        }
        if (!project) throw new RefusedError(`project ${projectId} has no instances in session ${sessionId}: it is asked nothing`);
        const accepted = checkReply(project, session.visit, instances, body, now, (id) => constraints.defaultAction(id));
        const actions = Object.fromEntries(accepted.actions);
        // A session-wide ACK chooses no actions: its (maybe 100,000) instances need no index then.
        const byId = accepted.actions.size ? new Map(instances.map((i) => [i.instanceId, i])) : new Map<string, Instance>();
        const rows = replyRows(project, byId, { projectId, state: body.state, actions }, now);
        return {
          changes: { projects: [rows.project], instances: rows.instances, replies: [{ projectId, state: body.state, instanceActions: actions, receivedAt: now }] },
          events: [{ eventType: 'maintctl.reply', payload: { project_id: projectId, state: body.state, instance_actions: actions } }],
        };
      },
      now,
    );
    this.bus.publish(written);
    this.running.get(sessionId)?.runner.wake();
  }

  /** Projects asked something in the current visit that have not answered. */
  async pendingQuestions(sessionId: string): Promise<PendingQuestion[]> {
    const rows = await this.repo.loadSession(sessionId);
    if (!rows || isTerminal(rows.session.state)) return [];
    return rows.projects
      .filter((p) => p.state && p.visit === rows.session.visit && p.replyState === null)
      .map((p) => ({ projectId: p.projectId, state: p.state!, instanceIds: affectedInstances(p, rows.instances).map((i) => i.instanceId) }));
  }

  /** Resolves with the session once it is MAINTENANCE_DONE or MAINTENANCE_FAILED. */
  waitForEnd(sessionId: string): Promise<Session> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const check = async () => {
        const session = await this.repo.findSession(sessionId);
        if (settled) return;
        if (!session) {
          settled = true;
          unsubscribe();
          reject(new NotFoundError(`session ${sessionId} was deleted`));
        } else if (isTerminal(session.state)) {
          settled = true;
          unsubscribe();
          resolve(session);
        }
      };
      const unsubscribe = this.bus.subscribe((e) => {
        if (e.sessionId === sessionId && e.eventType === SESSION_EVENT) void check();
      });
      void check();
    });
  }

  /**
   * Continues a failed session from the state it failed in (Fenix's "update", never built there),
   * with `changes` to its options for the rest of it.
   */
  async continueSession(sessionId: string, changes: SessionOptionChanges = {}): Promise<Session> {
    const now = this.clock.now();
    const rolledBack = (await this.repo.clusterOperation(sessionId))?.rollbackSession;
    let continued!: Session;
    const written = await this.repo.updateSession(
      sessionId,
      ({ session, hosts }): Write => {
        if (rolledBack) throw new RefusedError(`session ${sessionId} was rolled back by session ${rolledBack}: it cannot be continued`);
        if (session.state !== 'MAINTENANCE_FAILED' || !session.failedState) {
          throw new RefusedError(`session ${sessionId} is ${session.state}: only a failed session can be continued`);
        }
        continued = {
          ...session,
          options: withChanges(session.options, changes),
          state: session.failedState,
          failure: null,
          failedState: null,
          // The cause was fixed out there: look at the infrastructure afresh, and try again what failed.
          syncedAt: 0,
          attempt: session.attempt + 1,
          visit: session.visit + 1,
          stateEnteredAt: now,
          updatedAt: now,
        };
        const failedHosts = hosts.filter((h) => h.state === 'FAILED').map((h) => ({ ...h, state: 'IN_MAINTENANCE' as const, cause: null, since: now }));
        return {
          changes: { session: continued, hosts: failedHosts },
          events: [{ eventType: SESSION_EVENT, payload: sessionNotice(continued, hostProgress(hosts), session.state) }],
        };
      },
      now,
    );
    this.bus.publish(written);
    await this.launch(sessionId);
    return continued;
  }

  /** Stops a session and forgets it; hosts it disabled are enabled again unless told otherwise. */
  async deleteSession(sessionId: string, options: { keepDisabled?: boolean } = {}): Promise<{ reenabled: string[] }> {
    const rows = await this.repo.loadSession(sessionId);
    if (!rows) return { reenabled: [] };
    this.deleting.add(sessionId);
    try {
      const running = this.running.get(sessionId);
      running?.runner.stop();
      await running?.done;
      const reenabled: string[] = [];
      if (!options.keepDisabled) {
        const driver = await this.openDriver(rows.session.driver, { store: this.store, clock: this.clock });
        for (const host of rows.hosts.filter((h) => h.disabled)) {
          await driver.enableHost(host.name);
          reenabled.push(host.name);
        }
      }
      this.bus.publish(await this.repo.deleteSession(sessionId, this.clock.now()));
      this.bus.deleted(sessionId);
      return { reenabled };
    } finally {
      this.deleting.delete(sessionId);
    }
  }

  // ---- running

  private async launch(sessionId: string): Promise<void> {
    // An engine not started only records (e.g. a CLI handing sessions to a background engine).
    if (!this.started || this.stopped || this.running.has(sessionId) || this.launching.has(sessionId) || this.deleting.has(sessionId)) return;
    if ((this.crashes.get(sessionId)?.retryAt ?? 0) > this.clock.now()) return;
    this.launching.add(sessionId);
    try {
      await this.startRunner(sessionId);
    } finally {
      this.launching.delete(sessionId);
    }
  }

  private async startRunner(sessionId: string): Promise<void> {
    const epoch = await this.repo.acquireLease(sessionId, this.owner, this.clock.now(), this.leaseTtlMs);
    if (epoch === null) return;
    const session = await this.repo.findSession(sessionId);
    // Stopped while the lease was being taken (a network round trip on a shared store): a runner
    // started now would outlive stop() and keep the process from exiting; give the lease back.
    if (this.stopped) return this.repo.releaseLease(sessionId, this.owner).catch(() => undefined);
    if (!session) return;
    let driver: InfraDriver;
    let workflow: Workflow;
    try {
      driver = await this.openDriver(session.driver, { store: this.store, clock: this.clock });
      workflow = getWorkflow(session.workflow);
    } catch (err) {
      await this.repo.releaseLease(sessionId, this.owner);
      return this.failUnrunnable(sessionId, (err as Error).message);
    }
    // The same while its driver's module was being imported (OpenStack's is, on first use).
    if (this.stopped) return this.repo.releaseLease(sessionId, this.owner).catch(() => undefined);
    const runner = new SessionRunner(sessionId, {
      repo: this.repo,
      clock: this.clock,
      bus: this.bus,
      driver,
      workflow,
      plugins: this.plugins,
      baseUrl: this.baseUrl,
      fence: { owner: this.owner, epoch },
      checkpoint: this.checkpoint,
    });
    // The sim's VNFMs answer questions read from the runner's model: they start once it is loaded.
    let stopCompanions: () => void = () => undefined;
    void runner.loaded.then(() => {
      const start = this.running.get(sessionId)?.runner === runner ? driver.startCompanions : undefined;
      if (start) stopCompanions = start.call(driver, this.companionContext(sessionId));
    });
    const done = runner
      .run()
      .then(
        () => this.crashes.delete(sessionId) || true,
        (err: Error) => this.crashed(sessionId, err),
      )
      .then(async (cleanExit) => {
        entry.ended = true;
        stopCompanions();
        // A failed update with auto_rollback is rolled back before this engine can look idle.
        if (cleanExit && !this.stopped && this.store.isOpen) await this.autoRollback().catch(() => undefined);
        // Given back while still listed as running, so no launch here takes it meanwhile only to lose it.
        if (this.store.isOpen) await this.repo.releaseLease(sessionId, this.owner).catch(() => undefined);
        this.running.delete(sessionId);
        if (!this.store.isOpen) return;
        // Continued while its runner was finishing, or to be retried after a crash: run it again.
        if (await this.isActive(sessionId)) {
          if (cleanExit) await this.launch(sessionId);
          else this.retryLater(sessionId);
        }
        if (this.running.size === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
      });
    const entry: Running = { runner, done, ended: false };
    this.running.set(sessionId, entry);
  }

  private retryLater(sessionId: string): void {
    if (this.stopped) return;
    const at = this.crashes.get(sessionId)?.retryAt ?? this.clock.now();
    const timer = this.clock.at(at, () => {
      this.retries.delete(timer);
      void this.launch(sessionId).catch(() => undefined);
    });
    this.retries.add(timer);
  }

  /** A session whose driver or workflow cannot be opened here fails, saying why. */
  private async failUnrunnable(sessionId: string, cause: string): Promise<void> {
    const now = this.clock.now();
    const session = await this.repo.findSession(sessionId);
    if (!session || isTerminal(session.state)) return;
    const failed = failedSession(session, `cannot run the session here: ${cause}`, now);
    const notice = sessionNotice(failed, { maintained: 0, total: 0 }, session.state);
    this.bus.publish(await this.repo.record(sessionId, { changes: { session: failed }, events: [{ eventType: SESSION_EVENT, payload: notice }] }, now));
  }

  private async isActive(sessionId: string): Promise<boolean> {
    const session = await this.repo.findSession(sessionId).catch(() => null);
    return session !== null && !isTerminal(session.state);
  }

  /**
   * A runner died on something the workflow could not turn into a decision. It is tried again
   * after a pause that grows; the third time the session fails with the error.
   */
  private async crashed(sessionId: string, err: Error): Promise<false> {
    const count = (this.crashes.get(sessionId)?.count ?? 0) + 1;
    this.crashes.set(sessionId, { count, retryAt: this.clock.now() + 1000 * 2 ** count });
    try {
      this.bus.publish(await this.repo.record(sessionId, { changes: {}, events: [{ eventType: 'maintctl.engine_error', payload: { message: err.message, attempt: count } }] }, this.clock.now()));
      if (count >= 3) await this.failUnrunnable(sessionId, `the engine failed ${count} times: ${err.message}`);
    } catch {
      // the store itself is failing; the retry will try again
    }
    return false;
  }

  private companionContext(sessionId: string): CompanionContext {
    return {
      sessionId,
      reply: (projectId, body) => this.recordReply(sessionId, projectId, body),
      listen: (listener) =>
        this.bus.subscribe((e) => {
          if (e.sessionId === sessionId) listener(e);
        }),
      pendingQuestions: (projectId) => this.running.get(sessionId)?.runner.pendingQuestions(projectId) ?? [],
    };
  }

  /** Notices writes by other processes (replies, new or continued sessions) and renews leases; survives a failing store. */
  private scheduleWatch(): void {
    const delay = this.watchFailures ? retryDelay(this.watchFailures) : this.watchMs!;
    this.watchTimer = this.clock.at(this.clock.now() + delay, () => {
      if (this.stopped) return;
      this.serving = this.watch()
        .then(() => {
          this.watchFailures = 0;
        })
        .catch(() => {
          this.watchFailures++;
        })
        .finally(() => {
          if (!this.stopped) this.scheduleWatch();
        });
    });
  }

  private async watch(): Promise<void> {
    const now = this.clock.now();
    const token = await this.repo.changeToken();
    const changed = token !== this.lastChange;
    // A dead engine announces nothing: its sessions are looked for a few times per lease anyway.
    const lookAgain = now - this.lookedAt >= this.leaseTtlMs / 10;
    if (changed || lookAgain) {
      this.lastChange = token;
      this.lookedAt = now;
      if (changed) for (const r of this.running.values()) r.runner.wake();
      this.deliverer?.poke();
      await this.adoptSessions();
      await this.serveRequests();
    }
    // Noticing others' writes is a cheap read, done often; renewing leases is a write, done a few times per lease.
    if (now - this.leasesRenewedAt >= this.leaseTtlMs / 3) {
      this.leasesRenewedAt = now;
      for (const [id, r] of this.running) {
        if (r.ended) continue;
        // Lost (this process was paused past the lease, say): another engine runs it now; stop at once.
        if ((await this.repo.acquireLease(id, this.owner, now, this.leaseTtlMs)) === null) r.runner.stop();
      }
    }
  }

  /** Carries out what other processes asked about the sessions this engine runs. */
  async serveRequests(): Promise<void> {
    for (const request of await this.repo.pendingRequests()) {
      if (!this.running.has(request.sessionId) && (await this.repo.findSession(request.sessionId))) continue;
      let result: object;
      try {
        if (request.kind !== 'delete') throw new Error(`unknown request ${request.kind}`);
        result = { ok: true, ...(await this.deleteSession(request.sessionId, { keepDisabled: Boolean(request.params.keepDisabled) })) };
      } catch (err) {
        result = { ok: false, error: (err as Error).message };
      }
      await this.repo.finishRequest(request.id, result, this.clock.now());
    }
  }
}

/** Where a new session starts: MAINTENANCE, nothing read or tried yet. */
function freshRun(now: number) {
  return {
    state: 'MAINTENANCE' as const,
    createdAt: now,
    updatedAt: now,
    stateEnteredAt: now,
    visit: 0,
    attempt: 0,
    failure: null,
    failedState: null,
    discovered: false,
    syncedAt: 0,
    data: {},
  };
}

/** Two downloads saved under the same file name would overwrite each other. */
function checkDownloads(entries: readonly DownloadEntry[]): void {
  const seen = new Map<string, string>();
  for (const e of entries) {
    const url = entryUrl(e);
    const name = downloadName(url);
    const other = seen.get(name);
    if (other) throw new InvalidInputError(`downloads ${other} and ${url} would both be saved as ${name}: give files of different names`);
    seen.set(name, url);
  }
}

/** The hosts of a cluster session: those named (each must be the cluster's), else all the cluster's. */
function clusterHosts(names: string[], cluster: Cluster | null): string[] {
  if (!cluster) return names;
  const own = new Set(cluster.hosts.map((h) => h.host));
  const strangers = names.filter((n) => !own.has(n));
  if (strangers.length) throw new InvalidInputError(`host ${strangers.join(', ')} is not in cluster ${cluster.name}: it has ${[...own].join(', ')}`);
  return names.length ? names : [...own];
}

/** The hosts a session covers: those named (each must exist) or, with none named, all of them. */
async function selectHosts(driver: InfraDriver, names: string[], now: number): Promise<Host[]> {
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
    memoryMb: h.memoryMb,
    memoryMbUsed: h.memoryMbUsed,
    state: 'PENDING',
    wave: null,
    step: 0,
    cause: null,
    since: now,
    disabled: false,
    disabledBefore: h.type === 'compute' && !h.enabled,
  }));
}

/**
 * The input schemas (zod: about a hundred modules), imported when a request or a reply from
 * outside is first checked: an engine that only runs sessions (the sim's VNFMs answer in typed
 * bodies) never loads them.
 */
const inputSchemas = () => import('../domain/schemas.js');
