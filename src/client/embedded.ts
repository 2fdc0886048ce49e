// The embedded engine client: reads and writes the state directory's store directly and leaves
// the running to a background engine process (started when needed).
import type { Clock } from '../domain/clock.js';
import { InvalidInputError, NotFoundError, RefusedError } from '../domain/errors.js';
import { createSessionSchema } from '../domain/schemas.js';
import { isTerminal } from '../domain/states.js';
import { parseWith } from '../domain/validate.js';
import { RealClock } from '../engine/clock.js';
import { Engine } from '../engine/engine.js';
import { sessionDocument, sessionSummary } from '../engine/session-view.js';
import { importCloud, readCloudFile, removeCloud } from '../infra/sim/cloud-file.js';
import { Store } from '../store/store.js';
import { listSubscriptions, subscribe, unsubscribe, type NewSubscription } from '../store/subscriptions.js';
import { pluginRunDocuments } from '../engine/plugin-view.js';
import { projectDocument } from '../engine/project-view.js';
import { statePlugins } from './state-plugins.js';
import { storePath } from './state-dir.js';
import type { CreateInput, EngineClient } from './client.js';
import { ensureEngine, parseListen, runningEngine, servedUrl } from './background.js';

export interface EmbeddedOptions {
  stateDir: string;
  clock?: Clock;
  /** Starts the background engine; tests of the client alone turn it off. */
  startEngine?: (stateDir: string) => void;
  /** The environment the background engine starts with (MAINTCTL_LISTEN). */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for a running engine to carry out a request, in ms. */
  requestTimeoutMs?: number;
}

export class EmbeddedClient implements EngineClient {
  private readonly store: Store;
  private readonly clock: Clock;
  /** Records sessions and replies; never runs them (the background engine does). */
  private readonly recorder: Engine;

  constructor(private readonly options: EmbeddedOptions) {
    try {
      this.store = Store.open(storePath(options.stateDir));
    } catch (err) {
      throw new Error(`cannot open the store in ${options.stateDir}: ${(err as Error).message} (choose another with --state-dir or MAINTCTL_STATE_DIR)`);
    }
    this.clock = options.clock ?? new RealClock();
    this.recorder = new Engine({ store: this.store, clock: this.clock, plugins: statePlugins(options.stateDir) });
  }

  private startEngine(): void {
    const listen = this.options.env?.MAINTCTL_LISTEN;
    const env = listen ? { ...process.env, MAINTCTL_LISTEN: listen } : process.env;
    (this.options.startEngine ?? ((dir) => ensureEngine(dir, env)))(this.options.stateDir);
  }

  async createSession(input: CreateInput): Promise<string> {
    // Check the request (and where the engine is to listen) before anything is written.
    parseWith(createSessionSchema, input.request, 'session request');
    const listen = (this.options.env ?? process.env).MAINTCTL_LISTEN;
    if (listen) parseListen(listen);
    if (!input.cloudFile) {
      throw new InvalidInputError('no infrastructure to maintain: give --cloud openstack[:NAME] or --cloud FILE (a sim cloud file)');
    }
    const openstack = /^openstack(?::(.+))?$/.exec(input.cloudFile);
    if (openstack) {
      const session = await this.recorder.createSession(input.request, { kind: 'openstack', cloud: openstack[1] ?? null }, { pluginDirs: input.pluginDirs });
      this.startEngine();
      return session.id;
    }
    const cloud = readCloudFile(input.cloudFile);
    const cloudId = importCloud(this.store, cloud, input.cloudFile, this.clock.now());
    try {
      const session = await this.recorder.createSession(input.request, { kind: 'sim', cloudId, cloudFile: input.cloudFile }, { pluginDirs: input.pluginDirs });
      this.startEngine();
      return session.id;
    } catch (err) {
      removeCloud(this.store, cloudId); // leave the store as it was
      throw err;
    }
  }

  async listSessions() {
    return this.store.listSessions().map((s) => sessionSummary(this.store, s.id));
  }

  async showSession(id: string) {
    return sessionDocument(this.store, this.store.resolveSessionId(id));
  }

  async events(id: string, afterId: number) {
    return this.store.events(id, afterId);
  }

  async resolveId(idOrPrefix: string) {
    return this.store.resolveSessionId(idOrPrefix);
  }

  async deleteSession(idOrPrefix: string, options: { keepDisabled: boolean }) {
    const id = this.store.resolveSessionId(idOrPrefix);
    if (!this.store.leaseHeld(id, this.clock.now())) {
      // Nobody runs it: this process can clean up itself.
      return this.recorder.deleteSession(id, options);
    }
    const requestId = this.store.addRequest(id, 'delete', options, this.clock.now());
    const result = await this.awaitRequest(requestId);
    this.store.deleteRequest(requestId);
    if (!result.ok) throw new RefusedError(`the engine could not delete session ${id}: ${String(result.error)}`);
    return { reenabled: (result.reenabled as string[]) ?? [] };
  }

  private awaitRequest(requestId: number): Promise<Record<string, unknown>> {
    const deadline = this.clock.now() + (this.options.requestTimeoutMs ?? 15_000);
    return new Promise((resolve, reject) => {
      const poll = () => {
        const result = this.store.requestResult(requestId);
        if (result) return resolve(result);
        if (this.clock.now() >= deadline) {
          this.store.deleteRequest(requestId);
          return reject(new RefusedError('the engine running this session did not answer: see engine.log in the state directory'));
        }
        this.clock.at(this.clock.now() + 50, poll);
      };
      poll();
    });
  }

  async continueSession(idOrPrefix: string) {
    const id = this.store.resolveSessionId(idOrPrefix);
    const session = this.store.findSession(id);
    if (!session) throw new NotFoundError(`no session ${idOrPrefix}`);
    await this.recorder.continueSession(id);
    this.startEngine();
    return sessionDocument(this.store, id);
  }

  async ensureRunning(id: string) {
    const session = this.store.findSession(id);
    const active = session && !isTerminal(session.state);
    if (active && !this.store.leaseHeld(id, this.clock.now())) this.startEngine();
  }

  async showProject(sessionId: string, projectId: string) {
    return projectDocument(this.store, this.store.resolveSessionId(sessionId), projectId);
  }

  /** Recorded here; the engine running the session notices it within its watch period (WATCH_MS, 10 ms). */
  async reply(sessionId: string, projectId: string, body: Record<string, unknown>) {
    await this.recorder.reply(this.store.resolveSessionId(sessionId), projectId, body);
  }

  async latestEventId() {
    return this.store.latestEventId();
  }

  async allEvents(afterId: number) {
    return this.store.events(null, afterId);
  }

  async subscribe(subscription: NewSubscription) {
    return subscribe(this.store, subscription, this.clock.now());
  }

  async unsubscribe(projectId: string, filter: { id?: number; eventType?: string; url?: string; sessionId?: string }) {
    return unsubscribe(this.store, projectId, filter);
  }

  async subscriptions(projectId?: string) {
    return listSubscriptions(this.store, projectId);
  }

  async pluginRuns(sessionId: string, filter: { host?: string; plugin?: string }) {
    return pluginRunDocuments(this.store, this.store.resolveSessionId(sessionId), filter);
  }

  /** Webhooks get reply URLs; they work when an engine here serves the API, or the next one will. */
  async replyProblem(): Promise<string | null> {
    const projects = [...new Set(listSubscriptions(this.store).filter((s) => s.url !== null).map((s) => s.projectId))];
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
    this.store.close();
  }
}
