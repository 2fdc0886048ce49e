// maintctl engine: runs every unfinished session of a state directory until none is left.
// The CLI starts it in the background in embedded mode; it can also be run by hand.
import type { Command } from 'commander';
import { RealClock, VirtualClock } from '../engine/clock.js';
import { Engine, SHARED_LEASE_MS, WATCH_MS } from '../engine/engine.js';
import type { Clock } from '../domain/clock.js';
import { NotFoundError } from '../domain/errors.js';
import { Store } from '../store/store.js';
import type { Server } from 'node:http';
import { advertiseUrl, parseListen, releaseEngineLock, takeEngineLock, withdrawUrl } from '../client/background.js';
import type { IO } from './io.js';
import type { Run } from './main.js';
import { formatIso } from '../domain/time.js';
import { eventLine, namesIn } from './render/event-line.js';
import { statePlugins } from '../client/state-plugins.js';
import { storePath } from '../client/state-dir.js';
import { hostname } from 'node:os';
import { openSharedStore, storeUrlProblem } from '../store/open-repository.js';
import { UsageError } from './exit-codes.js';

export interface EngineCommandOptions {
  stateDir: string;
  /** Simulated time, jumping to the next timer whenever idle (rehearsals and crash tests). */
  virtualClock: boolean;
  /** Fault injection for crash tests: stop dead at the Nth checkpoint (see test/crash.test.ts). */
  haltAt: number | null;
  /** HOST:PORT on loopback: also serve the API there, so webhook VNFMs can reply over HTTP. */
  listen?: string;
  /** A shared store (postgres://...): run its sessions, as one more replica, until none is left. */
  store?: string;
}

export function register(program: Command, run: Run): void {
  program
    .command('engine')
    .description('run the sessions of the state directory until none is active (started for you by session create)')
    .option('--virtual-clock', 'run on simulated time that jumps to the next timer (sim clouds only)')
    .option('--listen <host:port>', 'also serve the API on this loopback address, for webhook replies (default $MAINTCTL_LISTEN)')
    .option('--store <url>', 'run the sessions of this shared PostgreSQL, postgres://USER@HOST/DB, beside its serve replicas (default $MAINTCTL_STORE)')
    .action((flags: { virtualClock?: boolean; listen?: string; store?: string }) =>
      run(({ io, stateDir }) => {
        const halt = io.env.MAINTCTL_CRASH_TEST_HALT_AT;
        const listen = flags.listen ?? (io.env.MAINTCTL_LISTEN || undefined);
        const store = flags.store ?? (io.env.MAINTCTL_STORE || undefined);
        const problem = store === undefined ? null : storeUrlProblem(store);
        if (problem) throw new UsageError(problem);
        if (store && flags.virtualClock) throw new UsageError('--virtual-clock runs a store of its own: it cannot run a shared --store');
        return runEngine({ stateDir, virtualClock: Boolean(flags.virtualClock), haltAt: halt ? Number(halt) : null, listen, store }, io);
      }),
    );
}

const VIRTUAL_NOW = 'virtual_clock_now';

/** The state directory's store, never created by the engine; null when there is none. */
function openExisting(stateDir: string): Store | null {
  try {
    return Store.open(storePath(stateDir), { create: false });
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}

export async function runEngine(options: EngineCommandOptions, io: IO): Promise<void> {
  if (options.store) return runSharedEngine(options, io);
  const listen = listenAddress(options.listen, io);
  const baseUrl = listen ? `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}` : undefined;
  const store = openExisting(options.stateDir);
  if (!store) {
    // Nothing was ever recorded here, so nothing is left to run (as at boot on a fresh machine).
    io.out.write(`no maintctl store at ${options.stateDir}: no session to run\n`);
    return;
  }
  const clock = options.virtualClock ? virtualClock(store) : new RealClock();
  const engine = new Engine({
    store,
    clock,
    plugins: statePlugins(options.stateDir),
    baseUrl,
    watchMs: options.virtualClock ? null : WATCH_MS,
    checkpoint: options.haltAt === null ? undefined : haltAtCheckpoint(options.haltAt, io),
  });
  engine.bus.subscribe((event) => {
    const line = eventLine(event, event.time, namesIn(store, event.sessionId));
    if (line) io.out.write(`${formatIso(event.time)} ${event.sessionId?.slice(0, 8) ?? '-'} ${line.slice(11)}\n`);
  });
  if (!takeEngineLock(options.stateDir)) {
    io.out.write(`another engine already runs ${options.stateDir}\n`);
    store.close();
    return;
  }
  let api: Server | null = null;
  try {
    if (listen) api = await serveApi(engine, listen, baseUrl!, options.stateDir, io).catch((err: Error) => {
      io.out.write(`cannot serve the API (${err.message}): sessions run, webhook VNFMs cannot reply over HTTP\n`);
      return null;
    });
    engine.start();
    await runUntilNoSessionIsLeft(engine, options.stateDir);
  } finally {
    if (api) {
      const { drain } = await import('../api/listener.js');
      await drain(api, clock, 5_000);
      withdrawUrl(options.stateDir);
    }
    await engine.stop();
    releaseEngineLock(options.stateDir);
    store.close();
  }
}

/**
 * Runs until no session is active and every notification is out (the engine is the only one
 * delivering them). A session created just as the engine was going idle must not be left without one.
 */
async function runUntilNoSessionIsLeft(engine: Engine, stateDir: string): Promise<void> {
  for (;;) {
    await engine.whenIdle();
    await engine.whenDelivered();
    if (engine.activeSessions().length) continue;
    releaseEngineLock(stateDir);
    const orphans = engine.store.activeSessionIds().filter((id) => !engine.store.leaseHeld(id, engine.clock.now()));
    if (!orphans.length || !takeEngineLock(stateDir)) return;
    engine.adoptSessions();
  }
}

/**
 * An engine on a shared store: one more runner beside the serve replicas, taking the sessions no
 * live replica holds, until none is active. Sim clouds are read from the state directory.
 */
async function runSharedEngine(options: EngineCommandOptions, io: IO): Promise<void> {
  const repo = await openSharedStore(options.store!, { leaseTimeMs: SHARED_LEASE_MS });
  const store = Store.open(storePath(options.stateDir));
  const clock = new RealClock();
  const engine = new Engine({ store, repo, clock, plugins: statePlugins(options.stateDir), watchMs: WATCH_MS, leaseTtlMs: SHARED_LEASE_MS, owner: `engine-${hostname()}-${process.pid}` });
  engine.bus.subscribe((event) => {
    const line = eventLine(event, event.time, () => undefined);
    if (line) io.out.write(`${formatIso(event.time)} ${event.sessionId?.slice(0, 8) ?? '-'} ${line.slice(11)}\n`);
  });
  try {
    engine.start();
    // A lease seen here first is a live replica's once it is renewed; one left to run out was a dead one's (adopted then).
    const firstSeen = new Map<string, number>();
    for (;;) {
      await engine.whenIdle();
      await engine.whenDelivered();
      const leases = new Map((await repo.heldLeases(clock.now())).map((l) => [l.sessionId, l.expiresAt]));
      const waiting = (await repo.activeSessionIds()).filter((id) => {
        const expiresAt = leases.get(id);
        if (expiresAt === undefined) return true; // nobody holds it: to be adopted
        if (!firstSeen.has(id)) firstSeen.set(id, expiresAt);
        return expiresAt <= firstSeen.get(id)!; // not renewed yet: its holder may be dead
      });
      if (!waiting.length && !engine.activeSessions().length) break;
      await engine.adoptSessions();
      if (!engine.activeSessions().length) await new Promise<void>((resolve) => clock.at(clock.now() + 200, resolve));
    }
  } finally {
    await engine.stop();
    store.close();
    await repo.close();
  }
}

/** The address to serve the API at; a bad one is logged and ignored (the sessions must run anyway). */
function listenAddress(value: string | undefined, io: IO): { host: string; port: number } | null {
  if (!value) return null;
  try {
    return parseListen(value);
  } catch (err) {
    io.out.write(`not serving the API: ${(err as Error).message}\n`);
    return null;
  }
}

/** The API on loopback for the sessions this engine runs (sessions are created by the CLI: no default cloud). */
async function serveApi(engine: Engine, listen: { host: string; port: number }, url: string, stateDir: string, io: IO): Promise<Server> {
  const { attachApi, createApiServer, listenOn } = await import('../api/listener.js');
  const server = await createApiServer(null);
  await listenOn(server, listen.host, listen.port);
  attachApi(server, { engine, driver: null, log: (m) => io.err.write(`${m}\n`) });
  advertiseUrl(stateDir, url);
  io.out.write(`serving the API on ${url}/v1/maintenance\n`);
  return server;
}

/** Simulated time survives restarts: it resumes from where the last engine left it. */
function virtualClock(store: Store): Clock {
  const saved = Number(store.getMeta(VIRTUAL_NOW));
  const clock = new VirtualClock(saved > 0 ? saved : Date.now(), { auto: true });
  clock.onAdvance = (now) => store.setMeta(VIRTUAL_NOW, String(now));
  return clock;
}

/** Stops the whole process, without exiting, at the nth checkpoint: the test then kills it. */
function haltAtCheckpoint(n: number, io: IO): (label: string) => Promise<void> {
  let count = 0;
  return async (label) => {
    if (++count < n) return;
    io.out.write(`HALTED at checkpoint ${count}: ${label}\n`);
    // Block the thread: no timer, reply or I/O may run after this point.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  };
}
