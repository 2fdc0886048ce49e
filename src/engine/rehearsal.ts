// A rehearsal of a session: the infrastructure copied read-only into the simulator, the whole
// session run there on a virtual clock with its rows in memory (a MemoryRepository: nothing of it
// needs to outlive the process), and what happened summed up as a plan. Nothing outside this
// process changes: the real infrastructure is only read (a driver's listHosts and listInstances),
// and no store but a private scratch one is opened.
import type { ConstraintRows } from '../domain/constraints.js';
import type { SessionEvent } from '../domain/model.js';
import { createSessionSchema, type CloudFile, type CreateSessionBody } from '../domain/schemas.js';
import { parseTime } from '../domain/time.js';
import { parseWith } from '../domain/validate.js';
import type { InfraDriver } from '../infra/driver.js';
import { importCloud } from '../infra/sim/cloud-file.js';
import { snapshotInfrastructure, type SnapshotNote } from '../infra/snapshot.js';
import { MemoryRepository } from '../store/memory-repository.js';
import { Store } from '../store/store.js';
import { RealClock, VirtualClock } from './clock.js';
import { Engine } from './engine.js';
import { PluginRegistry } from './plugins.js';

/** The sim cloud's durations, and `plugin_s`: what a plug-in without metadata expected_s takes. */
export type RehearsalTiming = Partial<CloudFile['timing']> & { plugin_s?: number };

export interface RehearseInput {
  /** The real infrastructure, read only; not needed when `cloudFile` is given. */
  driver?: InfraDriver;
  /** A sim cloud file, rehearsed as it is (its timing overridden by `timing`). */
  cloudFile?: CloudFile;
  /** The session request, as `session create` would send it. */
  request: Record<string, unknown>;
  /** Simulated durations of moves and host maintenance (the cloud file's defaults otherwise). */
  timing?: RehearsalTiming;
  /** Whether a project is subscribed in the real state directory (none is, when not given). */
  subscribed?: (projectId: string) => boolean;
  /** The application constraints of the real state directory (none when not given). */
  constraints?: ConstraintRows;
  /** When the rehearsed session is created (default: the real time now). */
  now?: number;
  /** Told how the copy of the infrastructure differs from it. */
  onNote?: (note: SnapshotNote) => void;
}

export interface RehearsalWave {
  wave: number;
  hosts: string[];
  /** Seconds from the session's start. */
  start_s: number;
  /** When the wave's last host was maintained; null when one never was. */
  end_s: number | null;
}

export interface RehearsalMove {
  instance_id: string;
  name: string;
  from: string;
  to: string;
  action: 'MIGRATE' | 'LIVE_MIGRATE';
}

/** A plug-in the session would run (not run in a rehearsal: it takes its expected time). */
export interface RehearsalPlugin {
  plugin: string;
  type: string;
  /** null for pre and post plug-ins. */
  host: string | null;
  start_s: number;
  expected_s: number;
}

export interface RehearsalBlocker {
  host: string | null;
  reason: string;
}

/** The `session create --dry-run -o json` document (documented in README, "Scripting"). */
export interface RehearsalPlan {
  state: 'MAINTENANCE_DONE' | 'MAINTENANCE_FAILED';
  predicted_duration_s: number;
  waves: RehearsalWave[];
  moves: RehearsalMove[];
  moves_per_instance: number;
  plugins: RehearsalPlugin[];
  blockers: RehearsalBlocker[];
}

export async function rehearse(input: RehearseInput): Promise<RehearsalPlan> {
  const body = parseWith(createSessionSchema, input.request, 'session request');
  // Maintenance starts at --at when that is later than now: the rehearsal starts there.
  const now = input.now ?? new RealClock().now();
  const start = body.maintenance_at ? Math.max(now, parseTime(body.maintenance_at)) : now;
  const { store, repo, engine, recorder } = rehearsalEngine(start, { pluginS: input.timing?.plugin_s ?? 0, constraints: input.constraints });
  try {
    const { cloudId, blockers, instances } = await prepare(input, body, store, start);
    engine.start();
    const created = await engine.createSession(input.request, { kind: 'sim', cloudId });
    const session = await engine.waitForEnd(created.id);
    const events = recorder.events(session.id);
    const failed = session.state === 'MAINTENANCE_FAILED';
    const moves = recorder.moves(session.id);
    const failedHosts = ((await repo.loadSession(session.id))?.hosts ?? []).filter((h) => h.state === 'FAILED');
    return {
      state: failed ? 'MAINTENANCE_FAILED' : 'MAINTENANCE_DONE',
      predicted_duration_s: seconds(session.updatedAt - session.createdAt),
      waves: wavesOf(events, session.createdAt),
      moves,
      moves_per_instance: instances ? Math.round((moves.length / instances) * 100) / 100 : 0,
      plugins: pluginsOf(events, session.createdAt),
      blockers: [
        ...blockers,
        ...(failed ? failureBlockers(session.failure ?? 'the session failed', failedHosts) : []),
      ],
    };
  } finally {
    await engine.stop();
    store.close();
  }
}

/**
 * What a plan is made of, taken from the events as the engine commits them: the waves, the
 * maintained lanes and the plug-in steps as they are (a few per host), each finished move as the
 * plan's own small row (one per instance: 200,000 whole events would be most of a large
 * rehearsal's memory).
 */
export class PlanRecorder {
  private readonly kept = new Map<string, SessionEvent[]>();
  private readonly moved = new Map<string, RehearsalMove[]>();

  take(e: SessionEvent): void {
    if (e.sessionId === null) return;
    const p = e.payload;
    const move = e.eventType === 'maintctl.operation' && p.status === 'done' && (p.kind === 'migrate' || p.kind === 'live_migrate');
    if (move) return push(this.moved, e.sessionId, moveOf(e));
    const kept = e.eventType === 'maintctl.wave' || (e.eventType === 'maintctl.lane' && p.to === 'MAINTAINED') || (e.eventType === 'maintctl.operation' && p.kind === 'plugin');
    if (kept) push(this.kept, e.sessionId, e);
  }

  /** The session's waves, maintained lanes and plug-in steps, in order. */
  events(sessionId: string): SessionEvent[] {
    return this.kept.get(sessionId) ?? [];
  }

  /** Moves the infrastructure carried out, in the order they finished. */
  moves(sessionId: string): RehearsalMove[] {
    return this.moved.get(sessionId) ?? [];
  }
}

function push<T>(lists: Map<string, T[]>, key: string, item: T): void {
  let list = lists.get(key);
  if (!list) lists.set(key, (list = []));
  list.push(item);
}

/**
 * The engine a rehearsal runs on (bench/rehearsal.mjs measures this one too): the session in a
 * MemoryRepository, since nothing of it needs to outlive the process, keeping none of its events
 * (the recorder takes what the plan needs as they are committed) and sharing the engine's
 * instance and operation rows instead of copying them; the copy of the cloud in a scratch store
 * (the sim keeps it in memory once imported); a virtual clock from `start`, no webhook delivery,
 * and plug-ins that only take their expected time (metadata expected_s, else `pluginS`).
 */
export function rehearsalEngine(start: number, options: { pluginS?: number; constraints?: ConstraintRows } = {}) {
  const store = Store.scratch();
  const repo = new MemoryRepository({ constraints: options.constraints, keepEvent: () => false, sharesRows: true });
  const plugins = new PluginRegistry({ rehearsal: { expectedS: options.pluginS ?? 0 } });
  const engine = new Engine({ store, repo, clock: new VirtualClock(start, { auto: true }), delivery: false, plugins });
  const recorder = new PlanRecorder();
  engine.bus.subscribe((e) => recorder.take(e));
  return { store, repo, engine, recorder };
}

/**
 * Copies the infrastructure into the scratch store; returns its id, the blockers found on the way
 * and how many instances the session covers (the copy itself is not kept: the sim holds the cloud).
 */
async function prepare(input: RehearseInput, body: CreateSessionBody, store: Store, start: number) {
  const copy = await copyOf(input, body);
  const answers = whoAnswers(copy, body, Boolean(input.cloudFile), input.subscribed ?? (() => false));
  const cloudId = importCloud(store, answers.cloud, 'rehearsal', start);
  return { cloudId, blockers: answers.blockers, instances: instancesOn(copy, body.hosts) };
}

/** The cloud to rehearse on: the file given, or a read-only copy of the infrastructure. */
async function copyOf(input: RehearseInput, body: CreateSessionBody): Promise<CloudFile> {
  const { plugin_s: _plugins, ...timing } = input.timing ?? {};
  if (input.cloudFile) {
    return { ...input.cloudFile, timing: { ...input.cloudFile.timing, ...timing } };
  }
  if (!input.driver) throw new Error('rehearse needs the infrastructure: a driver or a cloud file');
  return snapshotInfrastructure(input.driver, { hosts: body.hosts, timing, onNote: input.onNote });
}

/**
 * Every project answers as its agent or policy would. Scripted projects of a cloud file stay as
 * they are; any other one ACKs with its default action (its policy's move, else MIGRATE), at
 * once when a move policy would answer for it. A project the real session would fail for (policy
 * fail, nobody answering for it) ACKs too, and is reported as a blocker.
 */
function whoAnswers(cloud: CloudFile, body: CreateSessionBody, fromFile: boolean, subscribed: (projectId: string) => boolean) {
  const scripted = new Map(cloud.projects.map((p) => [p.id, p]));
  const inSession = new Set(instancesIn(cloud, body.hosts).map((i) => i.project));
  const blockers: RehearsalBlocker[] = [];
  const projects = [...cloud.projects.filter((p) => p.auto_reply !== 'none')];
  for (const id of [...new Set(cloud.instances.map((i) => i.project))].sort()) {
    const listed = scripted.get(id);
    if (listed && listed.auto_reply !== 'none') continue;
    const policy = body.project_policies?.[id] ?? body.unsubscribed_policy ?? 'fail';
    // In a real run on a sim cloud, a project the file lists is answered for (by hand, if not scripted).
    const answered = (fromFile && listed !== undefined) || subscribed(id);
    if (!answered && policy === 'fail' && inSession.has(id)) {
      blockers.push({ host: null, reason: `project ${id} is not subscribed and its policy is to fail` });
    }
    const byPolicy = !answered && policy !== 'fail';
    projects.push({
      id,
      auto_reply: 'ack',
      action: listed?.action ?? (policy === 'live_migrate' ? 'LIVE_MIGRATE' : 'MIGRATE'),
      scale_in: listed?.scale_in ?? 0,
      reply_delay_s: byPolicy ? 0 : (listed?.reply_delay_s ?? 1),
    });
  }
  return { cloud: { ...cloud, projects }, blockers };
}

/** The instances the session covers: on its hosts, or on every host when it names none. */
function instancesIn(cloud: CloudFile, hosts: string[]): CloudFile['instances'] {
  return hosts.length ? cloud.instances.filter((i) => hosts.includes(i.host)) : cloud.instances;
}

const instancesOn = (cloud: CloudFile, hosts: string[]) => instancesIn(cloud, hosts).length;

const seconds = (ms: number) => Math.round(ms) / 1000;

function wavesOf(events: SessionEvent[], start: number): RehearsalWave[] {
  const maintained = events.filter((e) => e.eventType === 'maintctl.lane' && e.payload.to === 'MAINTAINED');
  return events
    .filter((e) => e.eventType === 'maintctl.wave')
    .map((e) => {
      const hosts = (e.payload.hosts as string[]) ?? [];
      const ends = hosts.map((h) => maintained.find((m) => m.payload.host === h && m.time >= e.time)?.time);
      const done = ends.every((t) => t !== undefined);
      return {
        wave: Number(e.payload.wave),
        hosts,
        start_s: seconds(e.time - start),
        end_s: done && ends.length ? seconds(Math.max(...(ends as number[])) - start) : null,
      };
    });
}

/** A finished move's event as the plan's row. */
function moveOf(e: SessionEvent): RehearsalMove {
  const params = (e.payload.params ?? {}) as { name?: string; from?: string; to?: string };
  const result = (e.payload.result ?? {}) as { host?: string };
  return {
    instance_id: String(e.payload.target),
    name: String(params.name ?? ''),
    from: String(params.from ?? ''),
    to: String(result.host ?? params.to ?? ''),
    action: e.payload.kind === 'live_migrate' ? 'LIVE_MIGRATE' : 'MIGRATE',
  };
}

/** The plug-ins the rehearsal passed through, in the order they started, with where and when. */
function pluginsOf(events: SessionEvent[], start: number): RehearsalPlugin[] {
  const started = new Map<string, SessionEvent>();
  const out: RehearsalPlugin[] = [];
  for (const e of events) {
    if (e.eventType !== 'maintctl.operation' || e.payload.kind !== 'plugin') continue;
    const id = String(e.payload.operation_id);
    if (e.payload.status === 'started') started.set(id, e);
    const begun = started.get(id);
    if (e.payload.status !== 'done' || !begun) continue;
    const params = (e.payload.params ?? {}) as { plugin?: string; type?: string };
    const type = String(params.type ?? '');
    out.push({
      plugin: String(params.plugin ?? ''),
      type,
      host: type === 'pre' || type === 'post' ? null : String(e.payload.target),
      start_s: seconds(begun.time - start),
      expected_s: seconds(e.time - begun.time),
    });
  }
  return out.sort((a, b) => a.start_s - b.start_s);
}

/** Why the rehearsed session failed: each failed host with its cause, else the session's cause. */
function failureBlockers(failure: string, failedHosts: Array<{ name: string; cause: string | null }>): RehearsalBlocker[] {
  if (failedHosts.length) return failedHosts.map((h) => ({ host: h.name, reason: h.cause ?? failure }));
  return [{ host: /\bcompute-[\w.-]*\w/.exec(failure)?.[0] ?? null, reason: failure }];
}
