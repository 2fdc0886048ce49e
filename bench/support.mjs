// The only file of the benchmarks that touches maintctl's code. Everything the scripts need from
// the engine, the store, the clocks and the simulated cloud goes through the functions below, so
// when the engine's API moves, this file changes and the scripts do not.
//
// The code measured is the built one: ../dist by default, or the directory in BENCH_DIST (e.g. a
// build of another commit, to measure "before" and "after" with the same scripts).
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const distDir = process.env.BENCH_DIST ? resolve(process.env.BENCH_DIST) : fileURLToPath(new URL('../dist/', import.meta.url));
const distUrl = pathToFileURL(distDir.endsWith('/') ? distDir : `${distDir}/`);
const load = (path) => import(new URL(path, distUrl).href);

const [{ Engine, WATCH_MS: ENGINE_WATCH_MS }, { Store }, { VirtualClock, RealClock }, { importCloud }, { cloudFileSchema }, { subscribe }] = await Promise.all([
  load('engine/engine.js'),
  load('store/store.js'),
  load('engine/clock.js'),
  load('infra/sim/cloud-file.js'),
  load('domain/schemas.js'),
  load('store/subscriptions.js'),
]);

/** The CLI's entry point beside the build measured (BENCH_DIST=DIR/dist: DIR/bin/maintctl.js). */
export const maintctlBin = join(distDir, '..', 'bin', 'maintctl.js');

/** How often the CLI's engine looks for other processes' writes (older builds: 100 ms). */
export const WATCH_MS = ENGINE_WATCH_MS ?? 100;

/** The virtual clock's start: any fixed instant will do, the figures are durations. */
const VIRTUAL_START = Date.UTC(2026, 0, 1);

// ---- clouds

/**
 * A sim cloud of identical computes, checked by the cloud file schema (an object, never YAML: a
 * cloud of 200,000 instances must not go through a YAML parser).
 *
 * computes: computes that run instances; spare: empty computes of the same size; vcpus: per
 * compute; perCompute: one-vCPU instances on each busy compute, shared out in turn between the
 * projects; projects: [{id, action?, autoReply?, replyDelayS?}] (autoReply 'none' leaves the
 * project out of the cloud's scripted VNFMs: somebody else answers for it); timing: the sim's
 * durations in seconds (missing ones take the sim's defaults); ids: instances get their names as
 * ids (so constraints can name them), else the sim makes ids.
 */
export function uniformCloud({ computes, spare = 0, vcpus, perCompute, controllers = 1, projects, timing, ids = false }) {
  const width = String(computes + spare).length;
  const name = (c) => `compute-${String(c).padStart(width, '0')}`;
  const hosts = [];
  for (let c = 0; c < controllers; c++) hosts.push({ name: `ctl-${c}`, type: 'controller' });
  for (let c = 0; c < computes + spare; c++) hosts.push({ name: name(c), type: 'compute', vcpus });
  const instances = [];
  for (let c = 0; c < computes; c++) {
    for (let i = 0; i < perCompute; i++) {
      const project = projects[i % projects.length];
      const instance = `${project.id}-${c}-${i}`;
      instances.push({ name: instance, ...(ids ? { id: instance } : {}), project: project.id, host: name(c), vcpus: 1 });
    }
  }
  const scripted = projects
    .filter((p) => (p.autoReply ?? 'ack') !== 'none')
    .map((p) => ({ id: p.id, auto_reply: p.autoReply ?? 'ack', action: p.action ?? 'MIGRATE', reply_delay_s: p.replyDelayS ?? 1 }));
  return cloudFileSchema.parse({ hosts, instances, projects: scripted, ...(timing ? { timing } : {}) });
}

/**
 * Puts application constraints (instance groups and instance constraints, as the store keeps
 * them) into the bench's store; false when this build has none.
 */
export async function putConstraints(bench, { groups, instances }) {
  let store;
  try {
    store = await load('store/constraints.js');
  } catch {
    return false;
  }
  const now = bench.clock.now();
  for (const g of groups) store.putGroup(bench.store, g, now);
  for (const i of instances) store.putInstance(bench.store, i, now);
  return true;
}

/** How many instances and computes a parsed cloud has. */
export function cloudSize(cloud) {
  return { instances: cloud.instances.length, computes: cloud.hosts.filter((h) => h.type === 'compute').length };
}

// ---- a store, a clock and an engine

/** The store rehearsals use (a scratch file; in memory for builds that have none). */
const privateStore = () => (Store.scratch && process.env.BENCH_STORE !== 'memory' ? Store.scratch() : Store.open(':memory:'));

/**
 * Opens a store (a file, or by default a private one as rehearsals use), a clock ('virtual': jumps to the next timer; 'real') and
 * an engine on them, started. watchMs: how often the engine looks for other processes' writes
 * (only useful with a file store and the real clock).
 */
export function openBench({ clock = 'virtual', storePath, watchMs } = {}) {
  const store = storePath ? Store.open(storePath) : privateStore();
  const theClock = clock === 'virtual' ? new VirtualClock(VIRTUAL_START, { auto: true }) : new RealClock();
  const engine = new Engine({ store, clock: theClock, ...(watchMs !== undefined ? { watchMs } : {}) });
  engine.start();
  return { store, clock: theClock, engine };
}

/**
 * Opens what `session create --dry-run` runs a session on (rehearsalEngine of
 * src/engine/rehearsal.ts: the session in memory, the cloud's copy in a scratch store, a virtual
 * clock, no webhook delivery), started. Builds without it get openBench({ clock: 'virtual' }),
 * which is how their rehearsals ran.
 */
export async function openRehearsal() {
  let rehearsalEngine;
  try {
    ({ rehearsalEngine } = await load('engine/rehearsal.js'));
  } catch {
    rehearsalEngine = undefined;
  }
  if (!rehearsalEngine) return openBench({ clock: 'virtual' });
  const { store, repo, engine } = rehearsalEngine(VIRTUAL_START);
  engine.start();
  return { store, repo, clock: engine.clock, engine };
}

/** Adds a simulated cloud to the bench's store; returns what a session needs to run on it. */
export function addCloud(bench, cloud, name = 'bench') {
  const cloudId = importCloud(bench.store, cloud, name, bench.clock.now());
  return { kind: 'sim', cloudId };
}

/** Stops the engine (its runners and its webhook deliverer), then closes the store: in that order. */
export async function closeBench(bench) {
  await bench.engine.stop();
  bench.store.close();
}

// ---- sessions

/**
 * Creates a session (body: the Fenix create-session JSON). Returns { session } or, when the engine
 * refuses the body as invalid input (e.g. an option this build does not know), { refused: message }.
 */
export async function createSession(bench, body, driver) {
  try {
    return { session: await bench.engine.createSession(body, driver) };
  } catch (err) {
    if (err?.name === 'InvalidInputError') return { refused: err.message };
    throw err;
  }
}

/** Waits for the session's end: { state, failure, simulatedMs } (updatedAt - createdAt, clock ms). */
export async function waitForEnd(bench, sessionId) {
  const end = await bench.engine.waitForEnd(sessionId);
  return { state: end.state, failure: end.failure ?? null, simulatedMs: end.updatedAt - end.createdAt };
}

export const DONE = 'MAINTENANCE_DONE';

/** Events recorded for one session. */
export function sessionEventCount(bench, sessionId) {
  // Counted by the store where the build can: reading 900,000 events would be most of a run's peak memory.
  if (bench.repo?.eventCount) return bench.repo.eventCount(sessionId);
  return bench.store.eventCount ? bench.store.eventCount(sessionId) : bench.store.events(sessionId).length;
}

/** Instance moves carried out (by every session of this store). */
export function moveCount(bench) {
  const isMove = (e) => e.eventType === 'maintctl.operation' && e.payload.status === 'done' && (e.payload.kind === 'migrate' || e.payload.kind === 'live_migrate');
  return bench.store.listSessions().reduce((n, s) => n + bench.store.events(s.id).filter(isMove).length, 0);
}

// ---- questions and replies (for clouds whose projects are answered by the script)

/** Makes the project hear every session's questions, as a VNFM subscribing through the API would. */
export function subscribeProject(bench, projectId) {
  subscribe(bench.store, { projectId, eventType: 'maintenance.planned', url: null, format: 'fenix', sessionId: null }, bench.clock.now());
}

/**
 * Calls listener with each event the engine commits, once committed:
 * { sessionId, eventType, payload }. A question to a project is `isQuestion(event)`.
 * Returns a function that stops listening.
 */
export function onEvent(bench, listener) {
  return bench.engine.bus.subscribe((e) => listener({ sessionId: e.sessionId, eventType: e.eventType, payload: e.payload }));
}

/** A question to a project (not the notice that one instance's action is done). */
export const isQuestion = (event) => event.eventType === 'maintenance.planned' && event.payload.state !== 'INSTANCE_ACTION_DONE';

/** The event a reply itself records, as opposed to what the engine does because of it. */
export const isReplyRecord = (event) => event.eventType === 'maintctl.reply';

/** Questions not answered yet: [{ projectId, state, instanceIds }]. */
export async function pendingQuestions(bench, sessionId) {
  return await bench.engine.pendingQuestions(sessionId);
}

/** The reply a VNFM that agrees would send: ACK, and for questions about instances, the given action for each. */
export function ackBody(question, action = 'MIGRATE') {
  const asksActions = question.state === 'PREPARE_MAINTENANCE' || question.state === 'PLANNED_MAINTENANCE';
  return {
    state: `ACK_${question.state}`,
    ...(asksActions ? { instance_actions: Object.fromEntries(question.instanceIds.map((id) => [id, action])) } : {}),
  };
}

/** Sends a project's reply to the engine running the session in this process. */
export async function reply(bench, sessionId, projectId, body) {
  await bench.engine.reply(sessionId, projectId, body);
}

/**
 * Another process's way to answer: its own store connection on the same file and an engine that
 * only records (never started), as the CLI does. The running engine notices within its watch period.
 */
export function openRecorder(storePath) {
  const store = Store.open(storePath);
  const engine = new Engine({ store, clock: new RealClock(), delivery: false });
  return {
    reply: async (sessionId, projectId, body) => {
      await engine.reply(sessionId, projectId, body);
    },
    close: async () => {
      await engine.stop();
      store.close();
    },
  };
}

// ---- a store with many sessions (for the CLI's cold start)

/**
 * Fills a store file with `count` sessions that nobody runs (one compute each on one sim cloud),
 * as a state directory left with many sessions looks to `maintctl session list`.
 */
export async function fillStore(storePath, count) {
  const store = Store.open(storePath);
  const clock = new RealClock();
  const engine = new Engine({ store, clock, delivery: false });
  const cloud = uniformCloud({ computes: count, vcpus: 4, perCompute: 1, projects: [{ id: 'proj-a' }] });
  const driver = { kind: 'sim', cloudId: importCloud(store, cloud, 'bench', clock.now()) };
  const width = String(count).length;
  for (let i = 0; i < count; i++) await engine.createSession({ hosts: [`compute-${String(i).padStart(width, '0')}`] }, driver);
  await engine.stop();
  store.close();
}

/**
 * A store holding one tiny session, recorded but never run (as `session create` leaves it for
 * the background engine): two computes, one instance in a project whose scripted VNFM acks.
 */
export async function tinySession(storePath) {
  const store = Store.open(storePath);
  const clock = new VirtualClock(VIRTUAL_START);
  const engine = new Engine({ store, clock, delivery: false });
  const cloud = uniformCloud({ computes: 1, spare: 1, vcpus: 2, perCompute: 1, controllers: 0, projects: [{ id: 'proj-a' }] });
  await engine.createSession({}, { kind: 'sim', cloudId: importCloud(store, cloud, 'tiny', clock.now()) });
  await engine.stop();
  store.close();
}

// ---- what a server recorded (read after it has stopped)

/**
 * The replies a store recorded as answers a project sent (not a policy's), by session:
 * { sessionId: [{ projectId, state }] }, and each session's state.
 */
export function recordedReplies(storePath) {
  const store = Store.open(storePath);
  try {
    const sessions = store.listSessions();
    const replies = {};
    for (const s of sessions) {
      replies[s.id] = store
        .events(s.id)
        .filter((e) => e.eventType === 'maintctl.reply' && e.payload.by === undefined)
        .map((e) => ({ projectId: e.payload.project_id, state: e.payload.state }));
    }
    return { replies, states: Object.fromEntries(sessions.map((s) => [s.id, s.state])) };
  } finally {
    store.close();
  }
}
