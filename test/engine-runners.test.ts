// How an engine takes a session on and lets it go, when the store answers slowly (as over a
// network to a shared store): one runner per session, however many launches race; a runner started
// while a reply is being recorded misses nothing; one stopped while its lease was being taken does
// not start after stop() resolved (it would keep a serve replica from exiting on SIGTERM, and hold
// the lease the other replicas wait for).
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/engine/clock.js';
import { Engine } from '../src/engine/engine.js';
import { importCloud, parseCloudText } from '../src/infra/sim/cloud-file.js';
import type { Repository } from '../src/store/repository.js';
import { SqliteRepository } from '../src/store/sqlite-repository.js';
import { Store } from '../src/store/store.js';
import { subscribe } from '../src/store/subscriptions.js';
import { T0 } from './helpers.js';

const CLOUD = `
hosts: [{name: ctl-0, type: controller}, {name: compute-0, vcpus: 4}]
`;

/** Resolves once every callback already queued (promises and I/O of this turn) has run. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A store with a sim cloud in it (CLOUD unless given), its clock, and the store's own repository. */
function simStore(cloud = CLOUD) {
  const store = Store.open(':memory:');
  const cloudId = importCloud(store, parseCloudText(cloud, 'runner cloud'), 'runner', T0);
  return { store, clock: new VirtualClock(T0), cloudId, inner: new SqliteRepository(store) };
}

/** A promise held shut until open() is called (a store answering slowly). */
function gate(): { shut: Promise<void>; open: () => void } {
  let open!: () => void;
  const shut = new Promise<void>((resolve) => (open = resolve));
  return { shut, open };
}

/** The repository with some of its methods replaced (a slow lease, a watched or failing read); the rest as they are. */
function overriding(inner: Repository, overrides: Partial<Repository>): Repository {
  return new Proxy(inner, {
    get(target, name, receiver) {
      if (name in overrides) return overrides[name as keyof Repository];
      const value = Reflect.get(target, name, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('engine runners', () => {
  it('a session whose lease was being taken when stop() was called is given back, not run', async () => {
    const { store, clock, cloudId, inner } = simStore();
    const id = (await new Engine({ store, clock }).createSession({ hosts: ['compute-0'] }, { kind: 'sim', cloudId })).id;
    const lease = gate();
    let asked!: () => void;
    const leaseAsked = new Promise<void>((resolve) => (asked = resolve));
    let found: Promise<unknown> = Promise.resolve();
    // The lease is answered only once the gate opens; findSession is watched to know when launch went on.
    const repo = overriding(inner, {
      acquireLease: async (...args) => {
        asked();
        await lease.shut;
        return inner.acquireLease(...args);
      },
      findSession: (sessionId) => (found = inner.findSession(sessionId)),
    });

    const engine = new Engine({ store, repo, clock });
    engine.start();
    await leaseAsked;
    const stopped = engine.stop();
    lease.open();
    await stopped;
    await found;
    await settled();
    try {
      expect(engine.activeSessions()).toEqual([]);
      expect(await inner.leaseHeld(id, clock.now())).toBe(false);
    } finally {
      await engine.stop();
      store.close();
    }
  });

  it('a session launched twice at once (created while the engine looks for sessions to adopt) gets one runner', async () => {
    const { store, clock, cloudId, inner } = simStore();
    const lease = gate();
    let leaseAsks = 0;
    let loads = 0;
    // Leases are answered once the gate opens (a slow network round trip); each runner loads its session once.
    const repo = overriding(inner, {
      acquireLease: async (...args) => {
        leaseAsks++;
        await lease.shut;
        return inner.acquireLease(...args);
      },
      loadSession: (sessionId) => (loads++, inner.loadSession(sessionId)),
    });
    const engine = new Engine({ store, repo, clock, delivery: false });
    engine.start();
    try {
      const created = engine.createSession({ hosts: ['compute-0'] }, { kind: 'sim', cloudId });
      await expect.poll(() => leaseAsks).toBe(1);
      // The engine's periodic look for sessions nobody runs finds the new one while its lease is being taken.
      const adopted = engine.adoptSessions();
      await settled();
      lease.open();
      const id = (await created).id;
      await adopted;
      expect(loads).toBe(1);
      expect(engine.activeSessions()).toEqual([id]);
    } finally {
      await engine.stop();
      store.close();
    }
  });

  it('a reply recorded while a new runner loads the session is taken on, not skipped', async () => {
    const { store, clock, cloudId, inner } = simStore(`
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}]
instances: [{name: a-0, project: proj-a, host: compute-0}]
`);
    subscribe(store, { projectId: 'proj-a', eventType: 'maintenance.planned', url: 'http://vnfm.test/hook', format: 'fenix', sessionId: null }, T0);
    // The first engine asks MAINTENANCE and stops (or dies) before any answer.
    const first = new Engine({ store, clock, delivery: false });
    first.start();
    const id = (await first.createSession({ hosts: [] }, { kind: 'sim', cloudId })).id;
    await expect.poll(() => store.events(id).some((e) => e.eventType === 'maintenance.planned'), { timeout: 30_000 }).toBe(true);
    await first.stop();
    // The next engine's runner has read the session when the project's answer is recorded.
    let next!: Engine;
    let answered = false;
    const repo = overriding(inner, {
      loadSession: async (sessionId) => {
        const rows = await inner.loadSession(sessionId);
        if (!answered) await next.reply(sessionId, 'proj-a', { state: 'ACK_MAINTENANCE' });
        answered = true;
        return rows;
      },
    });
    next = new Engine({ store, repo, clock, delivery: false });
    next.start();
    try {
      // Time moves timer by timer until the session goes on or fails (missing the reply, at its deadline).
      const left = () => store.events(id).find((e) => e.eventType === 'maintenance.session' && e.payload.previous_state === 'MAINTENANCE');
      while (!left() && (await clock.step()));
      expect(left()?.payload).toMatchObject({ state: 'START_MAINTENANCE', failure: null });
    } finally {
      await next.stop();
      store.close();
    }
  });

  it('a crashed session waiting to be run again leaves no timer behind once stopped', async () => {
    const { store, clock, cloudId, inner } = simStore();
    await new Engine({ store, clock }).createSession({ hosts: ['compute-0'] }, { kind: 'sim', cloudId });
    let crashes = 0;
    // The runner's first read fails: the engine records the crash and waits to run the session again.
    const repo = overriding(inner, {
      loadSession: async () => {
        crashes++;
        throw new Error('the store went away');
      },
    });
    const engine = new Engine({ store, repo, clock, delivery: false });
    engine.start();
    await expect.poll(() => crashes > 0 && engine.activeSessions().length === 0 && clock.pendingTimers() > 0).toBe(true);
    await engine.stop();
    expect(clock.pendingTimers()).toBe(0);
    store.close();
  });
});
