// The embedded engine client: reads and writes the state directory's store directly and leaves
// the running to a background engine process (started when needed). What only writes need (the
// engine that records, the schemas, the sim cloud files) is loaded by the first write.
import type { Clock } from '../domain/clock.js';
import type { DriverSpec } from '../domain/model.js';
import { InvalidInputError, NotFoundError, RefusedError } from '../domain/errors.js';
import { isTerminal } from '../domain/states.js';
import { RealClock } from '../engine/clock.js';
import type { Engine } from '../engine/engine.js';
import { sessionDocument, sessionSummaries } from '../engine/session-view.js';
import { deleteGroup, deleteInstance, findGroup, findInstance, listConstraints, putGroup, putInstance } from '../store/constraints.js';
import { SqliteRepository } from '../store/sqlite-repository.js';
import { Store } from '../store/store.js';
import { listSubscriptions, subscribe, unsubscribe, type NewSubscription } from '../store/subscriptions.js';
import { pluginRunDocuments } from '../engine/plugin-view.js';
import { projectDocument } from '../engine/project-view.js';
import { storePath } from './state-dir.js';
import type { ContinueChanges, CreateInput, EngineClient, NotificationQuery } from './client.js';
import { ensureEngine, parseListen, runningEngine, servedUrl } from './background.js';
import { findCluster } from '../store/releases.js';
import { processAlive } from '../store/process-alive.js';

export interface EmbeddedOptions {
  stateDir: string;
  clock?: Clock;
  /** Starts the background engine; tests of the client alone turn it off. */
  startEngine?: (stateDir: string) => void;
  /** How long to wait for a running engine to carry out a request, in ms. */
  requestTimeoutMs?: number;
  /** The environment the background engine starts with (MAINTCTL_LISTEN). */
  env?: NodeJS.ProcessEnv;
}

export class EmbeddedClient implements EngineClient {
  private opened: Store | null = null;
  private readonly clock: Clock;
  /** Records sessions and replies; never runs them (the background engine does). Made on the first write. */
  private recorderMade: Promise<Engine> | null = null;
  /**
   * The engine process started for each session this client recorded. Until it takes the lock
   * nothing shows it runs, yet it will run the session (or leave it to the engine holding the
   * lock, which then adopts it): starting another meanwhile (session create --wait) only costs
   * a process that finds it and leaves.
   */
  private readonly startedFor = new Map<string, number>();

  constructor(private readonly options: EmbeddedOptions) {
    this.clock = options.clock ?? new RealClock();
  }

  /**
   * The store, opened on first use. Only what records something new (a session, a subscription)
   * creates it: reading a state directory that has none is "no maintctl store at DIR" (exit 5).
   */
  /** The store as the views read it. */
  private repo(create = false): SqliteRepository {
    return new SqliteRepository(this.store(create));
  }

  private store(create = false): Store {
    if (this.opened) return this.opened;
    try {
      return (this.opened = Store.open(storePath(this.options.stateDir), { create }));
    } catch (err) {
      if (err instanceof NotFoundError) throw err;
      throw new Error(`cannot open the store in ${this.options.stateDir}: ${(err as Error).message} (choose another with --state-dir or MAINTCTL_STATE_DIR)`);
    }
  }

  private recorder(): Promise<Engine> {
    return (this.recorderMade ??= Promise.all([import('../engine/engine.js'), import('./state-plugins.js')]).then(
      ([{ Engine }, { statePlugins }]) => new Engine({ store: this.store(), clock: this.clock, plugins: statePlugins(this.options.stateDir) }),
    ));
  }

  /** Starts the background engine for a session just recorded (or found not running). */
  private startEngine(sessionId: string): void {
    const listen = this.options.env?.MAINTCTL_LISTEN;
    const env = listen ? { ...process.env, MAINTCTL_LISTEN: listen } : process.env;
    if (this.options.startEngine) return this.options.startEngine(this.options.stateDir);
    this.startedFor.set(sessionId, ensureEngine(this.options.stateDir, env));
  }

  async createSession(input: CreateInput): Promise<string> {
    const [{ createSessionSchema }, { parseWith }, { importCloud, readCloudFile, removeCloud }] = await Promise.all([
      import('../domain/schemas.js'),
      import('../domain/validate.js'),
      import('../infra/sim/cloud-file.js'),
    ]);
    // Check the request (and where the engine is to listen) before anything is written.
    parseWith(createSessionSchema, input.request, 'session request');
    const listen = (this.options.env ?? process.env).MAINTCTL_LISTEN;
    if (listen) parseListen(listen);
    input = { ...input, cloudFile: input.cloudFile ?? this.clusterCloud(input.request.cluster) };
    if (!input.cloudFile) {
      throw new InvalidInputError('no infrastructure to maintain: give --cloud openstack[:NAME] or --cloud FILE (a sim cloud file)');
    }
    const openstack = /^openstack(?::(.+))?$/.exec(input.cloudFile);
    const cloud = openstack ? null : readCloudFile(input.cloudFile);
    const store = this.store(true);
    if (!cloud) {
      const session = await (await this.recorder()).createSession(input.request, { kind: 'openstack', cloud: openstack![1] ?? null }, { pluginDirs: input.pluginDirs });
      this.startEngine(session.id);
      return session.id;
    }
    const cloudId = importCloud(store, cloud, input.cloudFile, this.clock.now());
    try {
      const session = await (await this.recorder()).createSession(input.request, { kind: 'sim', cloudId, cloudFile: input.cloudFile }, { pluginDirs: input.pluginDirs });
      this.startEngine(session.id);
      return session.id;
    } catch (err) {
      removeCloud(store, cloudId); // leave the store as it was
      throw err;
    }
  }

  /** A cluster session runs on the cluster's cloud unless --cloud says otherwise. */
  private clusterCloud(cluster: unknown): string | undefined {
    if (typeof cluster !== 'string') return undefined;
    const found = findCluster(this.store(true), cluster);
    if (!found) throw new NotFoundError(`no cluster ${cluster}: cluster list shows those there are`);
    return found.cloud ?? undefined;
  }

  async listSessions() {
    return sessionSummaries(this.repo());
  }

  async showSession(id: string) {
    return sessionDocument(this.repo(), this.store().resolveSessionId(id));
  }

  /** The store is read at once: other processes' writes are seen by reading again. */
  readonly longPoll = false;

  async events(id: string, afterId: number) {
    const events = this.store().events(id, afterId);
    // A follower of a session deleted meanwhile must hear of it, as it does from a server.
    if (!events.length && !this.store().findSession(id)) throw new NotFoundError(`no session ${id}`);
    return events;
  }

  async resolveId(idOrPrefix: string) {
    return this.store().resolveSessionId(idOrPrefix);
  }

  async deleteSession(idOrPrefix: string, options: { keepDisabled: boolean }) {
    const id = this.store().resolveSessionId(idOrPrefix);
    if (!this.store().leaseHeld(id, this.clock.now())) {
      // Nobody runs it: this process can clean up itself.
      return (await this.recorder()).deleteSession(id, options);
    }
    const requestId = this.store().addRequest(id, 'delete', options, this.clock.now());
    const result = await this.awaitRequest(requestId);
    this.store().deleteRequest(requestId);
    if (!result.ok) throw new RefusedError(`the engine could not delete session ${id}: ${String(result.error)}`);
    return { reenabled: (result.reenabled as string[]) ?? [] };
  }

  private awaitRequest(requestId: number): Promise<Record<string, unknown>> {
    const deadline = this.clock.now() + (this.options.requestTimeoutMs ?? 15_000);
    return new Promise((resolve, reject) => {
      const poll = () => {
        const result = this.store().requestResult(requestId);
        if (result) return resolve(result);
        if (this.clock.now() >= deadline) {
          this.store().deleteRequest(requestId);
          return reject(new RefusedError('the engine running this session did not answer: see engine.log in the state directory'));
        }
        this.clock.at(this.clock.now() + 50, poll);
      };
      poll();
    });
  }

  async continueSession(idOrPrefix: string, changes: ContinueChanges = {}) {
    const id = this.store().resolveSessionId(idOrPrefix);
    const session = this.store().findSession(id);
    if (!session) throw new NotFoundError(`no session ${idOrPrefix}`);
    if (session.state !== 'MAINTENANCE_FAILED') throw new RefusedError(`session ${id} is ${session.state}: only a failed session can be continued`);
    if (changes.cloudFile) await this.reloadCloud(session.driver, changes.cloudFile);
    await (await this.recorder()).continueSession(id, changes.options);
    this.startEngine(id);
    return sessionDocument(this.repo(), id);
  }

  /** `session update --cloud FILE`: the faults and timing of the file replace the sim cloud's. */
  private async reloadCloud(driver: DriverSpec, path: string): Promise<void> {
    if (driver.kind !== 'sim' || typeof driver.cloudId !== 'string') {
      throw new InvalidInputError(`--cloud FILE reloads a simulated cloud; this session runs on ${driver.kind}`);
    }
    const [{ readCloudFile }, { SimCloud }] = await Promise.all([import('../infra/sim/cloud-file.js'), import('../infra/sim/sim-cloud.js')]);
    const file = readCloudFile(path);
    SimCloud.using(this.store(), this.clock, driver.cloudId, (cloud) => {
      cloud.setFaults(file.faults);
      cloud.setTiming(file.timing);
    });
  }

  async engineRuns(id: string) {
    return this.store().leaseHeld(id, this.clock.now());
  }

  async ensureRunning(id: string) {
    const session = this.store().findSession(id);
    const active = session && !isTerminal(session.state);
    if (!active || this.store().leaseHeld(id, this.clock.now())) return;
    const started = this.startedFor.get(id);
    if (started === undefined || !processAlive(started)) this.startEngine(id);
  }

  async showProject(sessionId: string, projectId: string) {
    return projectDocument(this.repo(), this.store().resolveSessionId(sessionId), projectId);
  }

  /** Recorded here; the engine running the session notices it within its watch period (WATCH_MS, 10 ms). */
  async reply(sessionId: string, projectId: string, body: Record<string, unknown>) {
    await (await this.recorder()).reply(this.store().resolveSessionId(sessionId), projectId, body);
  }

  async latestEventId() {
    return this.store().latestEventId();
  }

  async allEvents(afterId: number) {
    return this.store().events(null, afterId);
  }

  async subscribe(subscription: NewSubscription) {
    return subscribe(this.store(true), subscription, this.clock.now());
  }

  async unsubscribe(projectId: string, filter: { id?: number; eventType?: string; url?: string; sessionId?: string }) {
    return unsubscribe(this.store(), projectId, filter);
  }

  async subscriptions(projectId?: string) {
    return listSubscriptions(this.store(), projectId);
  }

  /** The wire documents and body checks, loaded when used (they bring the schemas). */
  private documents() {
    return import('../domain/constraint-documents.js');
  }

  async constraints(projectId: string) {
    const { groupDocument, instanceDocument } = await this.documents();
    const rows = listConstraints(this.store(), projectId);
    return { instance_groups: rows.groups.map(groupDocument), instances: rows.instances.map(instanceDocument) };
  }

  async putGroupConstraint(groupId: string, body: Record<string, unknown>) {
    const { groupDocument, groupFromBody } = await this.documents();
    return groupDocument(putGroup(this.store(true), groupFromBody(groupId, body), this.clock.now()));
  }

  async putInstanceConstraint(instanceId: string, body: Record<string, unknown>) {
    const { instanceDocument, instanceFromBody } = await this.documents();
    return instanceDocument(putInstance(this.store(true), instanceFromBody(instanceId, body), this.clock.now()));
  }

  async removeGroupConstraint(groupId: string) {
    const { groupDocument } = await this.documents();
    const row = findGroup(this.store(), groupId);
    if (!row) throw new NotFoundError(`no instance group ${groupId}`);
    deleteGroup(this.store(), groupId);
    return groupDocument(row);
  }

  async removeInstanceConstraint(instanceId: string) {
    const { instanceDocument } = await this.documents();
    const row = findInstance(this.store(), instanceId);
    if (!row) throw new NotFoundError(`no constraints for instance ${instanceId}`);
    deleteInstance(this.store(), instanceId);
    return instanceDocument(row);
  }

  async pluginRuns(sessionId: string, filter: { host?: string; plugin?: string }) {
    return pluginRunDocuments(this.store(), this.store().resolveSessionId(sessionId), filter);
  }

  /** The release commands and documents, loaded by the release commands only (they bring the schemas). */
  private releases() {
    return import('../engine/release-view.js');
  }

  async addRelease(body: Record<string, unknown>) {
    return (await this.releases()).addRelease(this.repo(true), body, this.clock.now());
  }

  async listReleases() {
    return (await this.releases()).releaseDocuments(this.repo());
  }

  async showRelease(name: string) {
    return (await this.releases()).showRelease(this.repo(), name);
  }

  async deleteRelease(name: string) {
    return (await this.releases()).removeRelease(this.repo(), name);
  }

  async createCluster(body: Record<string, unknown>) {
    return (await this.releases()).createCluster(this.repo(true), body, this.clock.now());
  }

  async listClusters() {
    return (await this.releases()).clusterDocuments(this.repo());
  }

  async showCluster(name: string) {
    return (await this.releases()).showCluster(this.repo(), name);
  }

  async notifications(query: NotificationQuery) {
    return (await this.releases()).notificationDocuments(this.repo(), query);
  }

  async rollbackSession(idOrPrefix: string) {
    const id = this.store().resolveSessionId(idOrPrefix);
    const { session, hosts } = await (await this.recorder()).rollbackSession(id);
    if (session) this.startEngine(session.id);
    return { session_id: session?.id ?? null, hosts };
  }

  /** Webhooks get reply URLs; they work when an engine here serves the API, or the next one will. */
  async replyProblem(): Promise<string | null> {
    const projects = [...new Set(listSubscriptions(this.store()).filter((s) => s.url !== null).map((s) => s.projectId))];
    if (!projects.length) return null;
    if (servedUrl(this.options.stateDir)) return null;
    const running = runningEngine(this.options.stateDir) !== null;
    const listen = (this.options.env ?? process.env).MAINTCTL_LISTEN;
    if (!running && listen) return null;
    return (
      `projects with webhooks (${projects.join(', ')}) cannot reply over HTTP: nothing serves the reply URL for ${this.options.stateDir}; ` +
      `${running ? 'after the running engine ends, ' : ''}set MAINTCTL_LISTEN=127.0.0.1:12347 for the background engine to serve it, or run maintctl serve on this state directory`
    );
  }

  close(): void {
    this.opened?.close();
  }
}
