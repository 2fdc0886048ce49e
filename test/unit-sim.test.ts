// The simulated cloud on its own: scoped reads, moves to named targets and their refusals,
// claims, memory, faults, due order, two processes on one store, the state kept across a re-open,
// cloud-file memory checks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/engine/clock.js';
import { importCloud, parseCloudText, removeCloud } from '../src/infra/sim/cloud-file.js';
import { SimDriver } from '../src/infra/sim/driver.js';
import { SimCloud, StaleCopyError } from '../src/infra/sim/sim-cloud.js';
import { SimStore } from '../src/store/sim-store.js';
import { Store } from '../src/store/store.js';

const T0 = Date.UTC(2026, 10, 22, 6, 0, 0);

const CLOUD = `
hosts:
  - {name: compute-0, vcpus: 4}
  - {name: compute-1, vcpus: 4}
  - {name: compute-2, vcpus: 4}
  - {name: ctl-0, type: controller}
instances:
  - {id: id-a-0, name: a-0, project: p, host: compute-0, vcpus: 2}
  - {id: id-a-1, name: a-1, project: p, host: compute-0, vcpus: 2}
  - {id: id-b-0, name: b-0, project: q, host: compute-1, vcpus: 2}
  - {id: id-c-0, name: c-0, project: q, host: compute-2, vcpus: 2}
timing: {migrate_s: 30, live_migrate_s: 10, host_maintenance_s: 60}
`;

function setup(yaml = CLOUD, path = ':memory:') {
  const store = Store.open(path);
  const clock = new VirtualClock(T0);
  const cloudId = importCloud(store, parseCloudText(yaml, 'unit cloud'), 'unit', clock.now());
  return { store, clock, cloudId, cloud: SimCloud.open(store, clock, cloudId) };
}

const simEvents = (store: Store, type: string) => store.events(null).filter((e) => e.eventType === type);
const hostOf = (cloud: SimCloud, id: string) => cloud.instance(id)?.host;
const usedOn = (cloud: SimCloud, host: string) => cloud.hosts({ hosts: [host] })[0]!.vcpusUsed;

describe('SimCloud.open', () => {
  it('returns the one cloud of a store, the same object the engine driver uses', async () => {
    const { store, clock, cloudId, cloud } = setup();
    expect(SimCloud.open(store, clock, cloudId)).toBe(cloud);
    const driver = new SimDriver({ store, clock }, cloudId);
    expect(driver.cloud).toBe(cloud);
    expect(driver.identity).toBe(`sim:${cloudId}`);
    // What the driver changes, the harness sees at once.
    await driver.disableHost('compute-1', 'maintenance');
    expect(cloud.hosts({ hosts: ['compute-1'] })[0]).toMatchObject({ enabled: false, disabledReason: 'maintenance' });
  });

  it('keeps stores apart and refuses a cloud the store does not have', () => {
    const a = setup();
    const other = Store.open(':memory:');
    expect(() => SimCloud.open(other, a.clock, a.cloudId)).toThrow(`no simulated cloud ${a.cloudId} in this store`);
    removeCloud(a.store, a.cloudId);
    expect(() => SimCloud.open(a.store, a.clock, a.cloudId)).toThrow(`no simulated cloud ${a.cloudId} in this store`);
  });
});

describe('scoped listings', () => {
  it('lists exactly the hosts and instances asked for, and everything without a scope', async () => {
    const { store, clock, cloudId } = setup();
    const driver = new SimDriver({ store, clock }, cloudId);
    const names = <T extends { name: string }>(items: T[]) => items.map((i) => i.name);

    expect(names(await driver.listHosts({ hosts: ['ctl-0', 'compute-1'] }))).toEqual(['compute-1', 'ctl-0']);
    expect(names(await driver.listHosts({ hosts: ['compute-2', 'nowhere'] }))).toEqual(['compute-2']);
    expect(await driver.listHosts({ hosts: [] })).toEqual([]);
    expect(names(await driver.listHosts())).toEqual(['compute-0', 'compute-1', 'compute-2', 'ctl-0']);

    expect(names(await driver.listInstances({ hosts: ['compute-0'] }))).toEqual(['a-0', 'a-1']);
    expect(names(await driver.listInstances({ hosts: ['compute-2', 'compute-1'] }))).toEqual(['b-0', 'c-0']);
    expect(await driver.listInstances({ hosts: ['ctl-0'] })).toEqual([]);
    expect(names(await driver.listInstances({}))).toEqual(['a-0', 'a-1', 'b-0', 'c-0']);
  });

  it('follows an instance to the host it moved to', async () => {
    const { clock, cloud } = setup();
    cloud.requestMove('k1', 'id-a-0', 'MIGRATE', 'compute-2');
    // Still on its old host while it moves.
    expect(cloud.instances({ hosts: ['compute-0'] }).map((i) => [i.name, i.status])).toEqual([['a-0', 'MIGRATING'], ['a-1', 'ACTIVE']]);
    await clock.advance(30_000);
    expect(cloud.instances({ hosts: ['compute-0'] }).map((i) => i.name)).toEqual(['a-1']);
    expect(cloud.instances({ hosts: ['compute-2'] }).map((i) => i.name)).toEqual(['a-0', 'c-0']);
  });
});

describe('moves to a named target', () => {
  it('lands on the target at the simulated time, holding room there meanwhile', async () => {
    const { store, clock, cloud } = setup();
    const driver = new SimDriver({ store, clock }, cloud.cloudId);
    const move = { key: 'k1', instanceId: 'id-a-0', kind: 'MIGRATE' as const, from: 'compute-0', to: 'compute-2', startedAt: T0 };
    await driver.requestMove(move);
    expect(await driver.observeMove(move)).toEqual({ phase: 'running', checkAt: T0 + 30_000 });
    expect(usedOn(cloud, 'compute-2')).toBe(4);
    expect(usedOn(cloud, 'compute-0')).toBe(4);

    await clock.advance(29_999);
    expect(hostOf(cloud, 'id-a-0')).toBe('compute-0');
    expect(cloud.instance('id-a-0')?.status).toBe('MIGRATING');

    await clock.advance(1);
    expect(await driver.observeMove(move)).toEqual({ phase: 'done', result: { host: 'compute-2' } });
    expect(cloud.instance('id-a-0')).toMatchObject({ host: 'compute-2', status: 'ACTIVE' });
    expect(usedOn(cloud, 'compute-0')).toBe(2);
    expect(usedOn(cloud, 'compute-2')).toBe(4);
    const moved = simEvents(store, 'sim.instance.moved');
    expect(moved.map((e) => [e.time, e.payload])).toEqual([
      [T0 + 30_000, { cloud_id: cloud.cloudId, key: 'k1', instance_id: 'id-a-0', name: 'a-0', from: 'compute-0', to: 'compute-2' }],
    ]);
  });

  it('does nothing for a key it already has, whatever the second request says', async () => {
    const { store, clock, cloud } = setup();
    cloud.requestMove('k1', 'id-a-0', 'MIGRATE', 'compute-2');
    cloud.requestMove('k1', 'id-a-0', 'LIVE_MIGRATE', 'compute-1');
    await clock.advance(30_000);
    cloud.requestMove('k1', 'id-a-0', 'MIGRATE', 'compute-1');
    expect(simEvents(store, 'sim.move.started')).toHaveLength(1);
    expect(hostOf(cloud, 'id-a-0')).toBe('compute-2');
    expect(usedOn(cloud, 'compute-1')).toBe(2);
  });

  it.each([
    ['a full host', 'id-b-0', 'compute-0', 'no valid host was found for instance b-0: compute-0 has 0 vCPUs free, it needs 2'],
    ['a controller', 'id-a-0', 'ctl-0', 'no valid host was found for instance a-0: ctl-0 is a controller, not a compute'],
    ['an unknown host', 'id-a-0', 'compute-9', 'no valid host was found for instance a-0: compute-9 does not exist'],
    ['its own host', 'id-a-0', 'compute-0', 'no valid host was found for instance a-0: it is already on compute-0'],
  ])('refuses %s, and nothing starts', async (_what, id, to, message) => {
    const { store, cloud } = setup();
    const before = cloud.hosts();
    expect(() => cloud.requestMove('k1', id, 'MIGRATE', to)).toThrow(message);
    expect(cloud.observe('k1')).toEqual({ phase: 'unknown' });
    expect(cloud.operations()).toEqual([]);
    expect(cloud.hosts()).toEqual(before);
    expect(cloud.instance(id)?.status).toBe('ACTIVE');
    expect(simEvents(store, 'sim.move.started')).toEqual([]);
  });

  it('refuses a disabled host, saying why it is disabled', () => {
    const { cloud } = setup();
    cloud.setEnabled('compute-2', false, 'maintenance');
    expect(() => cloud.requestMove('k1', 'id-a-0', 'MIGRATE', 'compute-2')).toThrow(
      'no valid host was found for instance a-0: compute-2 is disabled (maintenance)',
    );
    cloud.setEnabled('compute-2', true, null);
    cloud.requestMove('k1', 'id-a-0', 'MIGRATE', 'compute-2');
    expect(cloud.observe('k1').phase).toBe('running');
  });

  it('counts the room claimed by a move heading there: the second move to the last room is refused', async () => {
    const { clock, cloud } = setup();
    cloud.requestMove('k1', 'id-a-0', 'MIGRATE', 'compute-2');
    expect(() => cloud.requestMove('k2', 'id-a-1', 'MIGRATE', 'compute-2')).toThrow(
      'no valid host was found for instance a-1: compute-2 has 0 vCPUs free, it needs 2',
    );
    expect(() => cloud.requestMove('k3', 'id-b-0', 'LIVE_MIGRATE', 'compute-2')).toThrow('compute-2 has 0 vCPUs free, it needs 2');
    // Once the first has landed the room is still taken; elsewhere there is room.
    await clock.advance(30_000);
    expect(() => cloud.requestMove('k2', 'id-a-1', 'MIGRATE', 'compute-2')).toThrow('compute-2 has 0 vCPUs free, it needs 2');
    cloud.requestMove('k2', 'id-a-1', 'MIGRATE', 'compute-1');
    expect(cloud.operations().map((op) => [op.key, op.to, op.outcome])).toEqual([
      ['k1', 'compute-2', 'done'],
      ['k2', 'compute-1', 'running'],
    ]);
  });

  it('gives the claim back when the moving instance is deleted, and the move fails', async () => {
    const { clock, cloud } = setup();
    cloud.requestMove('k1', 'id-a-0', 'MIGRATE', 'compute-2');
    cloud.deleteInstance('id-a-0');
    expect(usedOn(cloud, 'compute-2')).toBe(2);
    expect(usedOn(cloud, 'compute-0')).toBe(2);
    await clock.advance(30_000);
    expect(cloud.observe('k1')).toEqual({ phase: 'failed', cause: 'instance id-a-0 was deleted during the move' });
    expect(cloud.instances().map((i) => i.name)).toEqual(['a-1', 'b-0', 'c-0']);
  });
});

describe('moves without a target', () => {
  it('go where the scheduler puts them: maintained hosts first, then the one with most room', async () => {
    const yaml = `
hosts:
  - {name: compute-0, vcpus: 8}
  - {name: compute-1, vcpus: 8}
  - {name: compute-2, vcpus: 4}
instances:
  - {id: id-a-0, name: a-0, project: p, host: compute-0, vcpus: 1}
  - {id: id-a-1, name: a-1, project: p, host: compute-0, vcpus: 1}
  - {id: id-b-0, name: b-0, project: p, host: compute-1, vcpus: 2}
timing: {migrate_s: 30, live_migrate_s: 10, host_maintenance_s: 60}
`;
    const { clock, cloud } = setup(yaml);
    cloud.requestMove('k1', 'id-a-0', 'MIGRATE', null);
    expect(cloud.operations()[0]?.to).toBe('compute-1'); // 6 free against compute-2's 4
    await clock.advance(30_000);
    cloud.requestHostMaintenance('m2', 'compute-2');
    await clock.advance(60_000);
    expect(cloud.observe('m2')).toEqual({ phase: 'done', result: {} });
    cloud.requestMove('k2', 'id-a-1', 'MIGRATE', null);
    expect(cloud.operations().find((op) => op.key === 'k2')?.to).toBe('compute-2');
  });

  it('says what did not fit when no host has room', () => {
    const { cloud } = setup();
    cloud.setEnabled('compute-1', false, 'x');
    cloud.setEnabled('compute-2', false, 'x');
    expect(() => cloud.requestMove('k1', 'id-a-0', 'MIGRATE', null)).toThrow('no valid host was found for instance a-0 (2 vCPUs)');
  });
});

describe('memory', () => {
  const yaml = `
hosts:
  - {name: big, vcpus: 16, memory_mb: 8192}
  - {name: small, vcpus: 16, memory_mb: 4096}
  - {name: plain, vcpus: 16}
instances:
  - {id: id-m-0, name: m-0, project: p, host: small, vcpus: 1, memory_mb: 3072}
  - {id: id-m-1, name: m-1, project: p, host: big, vcpus: 1, memory_mb: 2048}
  - {id: id-n-0, name: n-0, project: p, host: big, vcpus: 1}
timing: {migrate_s: 30, live_migrate_s: 10, host_maintenance_s: 60}
`;

  it('reports memory where it is given and null where it is not', () => {
    const { cloud } = setup(yaml);
    expect(cloud.hosts().map((h) => [h.name, h.memoryMb, h.memoryMbUsed])).toEqual([
      ['big', 8192, 2048],
      ['plain', null, null],
      ['small', 4096, 3072],
    ]);
    expect(cloud.instances().map((i) => [i.name, i.memoryMb])).toEqual([['m-0', 3072], ['m-1', 2048], ['n-0', null]]);
  });

  it('refuses a target without the memory, counting claims, and ignores memory where one side does not give it', async () => {
    const { clock, cloud } = setup(yaml);
    expect(() => cloud.requestMove('k1', 'id-m-1', 'MIGRATE', 'small')).toThrow(
      'no valid host was found for instance m-1: small has 1024 MiB free, it needs 2048',
    );
    // n-0 has no memory size: it fits on small although small has only 1024 MiB left.
    cloud.requestMove('k2', 'id-n-0', 'MIGRATE', 'small');
    // plain does not say how much memory it has: anything fits there.
    cloud.requestMove('k3', 'id-m-0', 'MIGRATE', 'plain');
    cloud.requestMove('k4', 'id-m-1', 'LIVE_MIGRATE', 'plain');
    // While they move, the instances count where they are and where they are heading.
    expect(cloud.hosts({ hosts: ['plain', 'small'] }).map((h) => [h.name, h.memoryMbUsed, h.vcpusUsed])).toEqual([
      ['plain', null, 2],
      ['small', 3072, 2],
    ]);
    await clock.advance(30_000);
    expect(cloud.hosts({ hosts: ['big', 'small'] }).map((h) => [h.name, h.memoryMbUsed])).toEqual([
      ['big', 0],
      ['small', 0],
    ]);
    expect(cloud.instances({ hosts: ['plain'] }).map((i) => i.name)).toEqual(['m-0', 'm-1']);
  });
});

describe('faults and timing', () => {
  it('a migrate fault fails the move at its due time and the instance stays where it was', async () => {
    const { store, clock, cloud } = setup(`${CLOUD}faults: [{migrate_fails: a-0}]\n`);
    cloud.requestMove('k1', 'id-a-0', 'MIGRATE', 'compute-2');
    await clock.advance(30_000);
    expect(cloud.observe('k1')).toEqual({ phase: 'failed', cause: 'simulated fault; a-0 stays on compute-0' });
    expect(cloud.instance('id-a-0')).toMatchObject({ host: 'compute-0', status: 'ACTIVE' });
    expect(usedOn(cloud, 'compute-2')).toBe(2);
    expect(simEvents(store, 'sim.move.failed').map((e) => e.time)).toEqual([T0 + 30_000]);

    cloud.setFaults([]);
    cloud.requestMove('k2', 'id-a-0', 'MIGRATE', 'compute-2');
    await clock.advance(30_000);
    expect(cloud.observe('k2')).toEqual({ phase: 'done', result: { host: 'compute-2' } });
  });

  it('a host fault fails its maintenance; maintenance of a host with instances is refused', async () => {
    const { clock, cloud } = setup();
    cloud.setFaults([{ host_fails: 'compute-1' }]);
    expect(() => cloud.requestHostMaintenance('m0', 'compute-0')).toThrow('host compute-0 still runs a-0, a-1: refusing to take it down');
    cloud.deleteInstance('id-b-0');
    cloud.requestHostMaintenance('m1', 'compute-1');
    await clock.advance(60_000);
    expect(cloud.observe('m1')).toEqual({ phase: 'failed', cause: 'host compute-1 did not come back after maintenance (simulated fault)' });
  });

  it('new timing applies to moves requested after it', async () => {
    const { clock, cloud } = setup();
    cloud.setTiming({ migrate_s: 5, live_migrate_s: 1, host_maintenance_s: 2 });
    cloud.requestMove('k1', 'id-a-0', 'MIGRATE', 'compute-2');
    expect(cloud.observe('k1')).toEqual({ phase: 'running', checkAt: T0 + 5_000 });
    await clock.advance(5_000);
    expect(hostOf(cloud, 'id-a-0')).toBe('compute-2');
  });
});

describe('settle', () => {
  it('applies what is due in due order, not in the order it was asked', async () => {
    const { store, clock, cloud } = setup();
    cloud.requestMove('slow', 'id-a-0', 'MIGRATE', 'compute-2'); // due at +30 s
    await clock.advance(5_000);
    cloud.requestMove('fast', 'id-c-0', 'LIVE_MIGRATE', 'compute-1'); // due at +15 s
    await clock.advance(60_000);
    cloud.settle();
    const moved = simEvents(store, 'sim.instance.moved').map((e) => [e.payload.key, e.time]);
    expect(moved).toEqual([['fast', T0 + 15_000], ['slow', T0 + 30_000]]);
  });
});

describe('two processes on one store', () => {
  it('finish an operation once: a copy older than the store writes nothing and is read afresh', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maintctl-sim-two-'));
    try {
      const path = join(dir, 'sim.db');
      const { store, clock, cloudId } = setup(CLOUD, path);
      const other = Store.open(path); // a second engine process: its own connection, its own copy
      const mine = new SimDriver({ store, clock }, cloudId);
      const theirs = new SimDriver({ store: other, clock }, cloudId);
      await mine.requestHostMaintenance('host:ctl-0:0', 'ctl-0');
      const stale = SimCloud.open(other, clock, cloudId); // read while the step still runs
      expect(stale.observe('host:ctl-0:0')).toMatchObject({ phase: 'running' });

      await clock.advance(60_000);
      expect(await mine.observeHostMaintenance('host:ctl-0:0')).toEqual({ phase: 'done', result: {} });
      // The old copy still thinks the step is due: settling it would maintain ctl-0 again.
      expect(() => stale.settle()).toThrow(StaleCopyError);
      expect(await theirs.observeHostMaintenance('host:ctl-0:0')).toEqual({ phase: 'done', result: {} });
      await theirs.disableHost('compute-0', 'next'); // a change after a stale read goes through

      const fresh = Store.open(path);
      const rows = new SimStore(fresh).load(cloudId)!.hosts.filter((h) => h.name === 'ctl-0' || h.name === 'compute-0');
      expect(rows.map((h) => [h.name, h.maintainedCount, h.enabled])).toEqual([['compute-0', 0, false], ['ctl-0', 1, true]]);
      fresh.close();
      expect(simEvents(other, 'sim.host.maintained')).toHaveLength(1);
      other.close();
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a transaction that fails', () => {
  it('leaves the cloud, in memory and in the store, as it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'maintctl-sim-tx-'));
    try {
      const path = join(dir, 'sim.db');
      const { store, clock, cloudId, cloud } = setup(CLOUD, path);
      const before = { hosts: cloud.hosts(), instances: cloud.instances() };
      expect(() =>
        cloud.transaction(() => {
          cloud.createInstance({ name: 'x-0', projectId: 'p', vcpus: 2, floatingIp: false });
          cloud.deleteInstance('id-c-0');
          cloud.requestMove('k1', 'id-a-0', 'MIGRATE', 'compute-2');
          throw new Error('the application changed its mind');
        }),
      ).toThrow('the application changed its mind');
      expect({ hosts: cloud.hosts(), instances: cloud.instances() }).toEqual(before);
      expect(cloud.observe('k1')).toEqual({ phase: 'unknown' });
      store.close();
      const reopened = Store.open(path);
      const again = SimCloud.open(reopened, clock, cloudId);
      expect({ hosts: again.hosts(), instances: again.instances() }).toEqual(before);
      expect(again.operations()).toEqual([]);
      reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a re-opened store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'maintctl-sim-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the same hosts, instances, running operations, faults and timing, and finishes what was running', async () => {
    const path = join(dir, 'reopen.db');
    const first = setup(CLOUD, path);
    const { cloud, clock, cloudId } = first;
    cloud.requestMove('done-1', 'id-c-0', 'LIVE_MIGRATE', 'compute-1');
    await clock.advance(10_000);
    cloud.requestMove('running-1', 'id-a-0', 'MIGRATE', 'compute-2');
    cloud.setFaults([{ migrate_fails: 'a-1' }]);
    cloud.setTiming({ migrate_s: 40, live_migrate_s: 20, host_maintenance_s: 90 });
    cloud.setEnabled('compute-1', false, 'half done');
    cloud.recordAct('s-1', 'p', 'scale_in', [{ name: 'a-9', vcpus: 1 }]);
    const seen = {
      hosts: cloud.hosts(),
      instances: cloud.instances(),
      operations: cloud.operations(),
      faults: cloud.faults,
      timing: cloud.timing,
    };
    expect(seen.operations.map((op) => [op.key, op.outcome])).toEqual([['done-1', 'done'], ['running-1', 'running']]);
    first.store.close();

    const store = Store.open(path);
    const later = new VirtualClock(clock.now());
    const reopened = SimCloud.open(store, later, cloudId);
    expect(reopened).not.toBe(cloud);
    expect({
      hosts: reopened.hosts(),
      instances: reopened.instances(),
      operations: reopened.operations(),
      faults: reopened.faults,
      timing: reopened.timing,
    }).toEqual(seen);
    expect(reopened.act('s-1', 'p', 'scale_in')).toEqual([{ name: 'a-9', vcpus: 1 }]);
    expect(reopened.recordAct('s-1', 'p', 'scale_in', [])).toBe(false);

    // The claim of the running move came back with it (compute-2 is empty but for it), and the
    // move finishes at its due time.
    expect(reopened.hosts({ hosts: ['compute-2'] })[0]?.vcpusUsed).toBe(2);
    expect(reopened.instances({ hosts: ['compute-2'] })).toEqual([]);
    expect(reopened.observe('running-1')).toEqual({ phase: 'running', checkAt: T0 + 40_000 });
    await later.advanceTo(T0 + 40_000);
    expect(reopened.instance('id-a-0')).toMatchObject({ host: 'compute-2', status: 'ACTIVE' });
    store.close();
  });
});

describe('cloud file memory', () => {
  const base = (instances: string, host = '{name: compute-1, vcpus: 8, memory_mb: 4096}') =>
    `hosts: [${host}]\ninstances: [${instances}]\n`;

  it('refuses instances that need more memory than their compute has', () => {
    const text = base('{name: a, project: p, host: compute-1, memory_mb: 4096}, {name: b, project: p, host: compute-1, memory_mb: 2048}');
    expect(() => parseCloudText(text, 'm.yaml')).toThrow('invalid cloud file m.yaml: hosts: instances on "compute-1" use 6144 MiB but it has 4096');
  });

  it('accepts instances that fit, instances without memory, and hosts without memory', () => {
    const fits = parseCloudText(base('{name: a, project: p, host: compute-1, memory_mb: 4096}, {name: b, project: p, host: compute-1}'), 'ok.yaml');
    expect(fits.hosts[0]?.memory_mb).toBe(4096);
    expect(fits.instances.map((i) => i.memory_mb)).toEqual([4096, undefined]);
    const noHostMemory = base('{name: a, project: p, host: compute-1, memory_mb: 999999}', '{name: compute-1, vcpus: 8}');
    expect(parseCloudText(noHostMemory, 'ok.yaml').instances[0]?.memory_mb).toBe(999999);
  });

  it('wants memory_mb to be a positive whole number', () => {
    expect(() => parseCloudText(base('', '{name: compute-1, vcpus: 8, memory_mb: 0}'), 'z.yaml')).toThrow(/^invalid cloud file z\.yaml: hosts\[0\]\.memory_mb: /);
    expect(() => parseCloudText(base('{name: a, project: p, host: compute-1, memory_mb: 1.5}'), 'z.yaml')).toThrow(
      /^invalid cloud file z\.yaml: instances\[0\]\.memory_mb: /,
    );
  });

  it('stores the memory it was given', () => {
    const { cloud } = setup(base('{name: a, project: p, host: compute-1, memory_mb: 1024}'));
    expect(cloud.hosts()[0]).toMatchObject({ memoryMb: 4096, memoryMbUsed: 1024 });
    expect(cloud.instances()[0]?.memoryMb).toBe(1024);
  });
});
