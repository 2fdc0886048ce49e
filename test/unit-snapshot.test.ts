// snapshotInfrastructure: a read-only copy of an infrastructure as a sim cloud file.
// (a) against the OpenStack driver with a MockAgent on which every request but a GET (and the
// one Keystone login) is caught and fails the test, so taking a copy provably changes nothing;
// (b) against a hand-written driver for what a cloud file cannot say as a cloud does.
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/domain/errors.js';
import { cloudFileSchema } from '../src/domain/schemas.js';
import type { HostScope, InfraDriver, InfraHost, InfraInstance } from '../src/infra/driver.js';
import { snapshotInfrastructure, type SnapshotNote } from '../src/infra/snapshot.js';
import { ID, fakeOpenStacks } from './support/openstack-fake.js';

describe('(a) a copy of an OpenStack cloud, through the real driver, reading only', () => {
  const { cloud, check } = fakeOpenStacks();
  afterEach(check);

  const withMemory = <T extends object>(doc: T, memory_mb: number) => ({ ...doc, memory_mb });

  it('copies every host and server: parses as a cloud file, over-commitment raised, the repeated name suffixed', async () => {
    const { get, servers, driver } = cloud();
    get('/servers/detail?all_tenants=1&limit=500', { servers: [servers.web2, servers.web1, servers.db] });
    const notes: SnapshotNote[] = [];
    const copy = await snapshotInfrastructure(driver, { timing: { migrate_s: 5 }, onNote: (n) => notes.push(n) });

    expect(cloudFileSchema.parse(JSON.parse(JSON.stringify(copy)))).toEqual(copy);
    expect(copy.hosts).toEqual([
      withMemory({ name: 'compute-1', type: 'compute', vcpus: 6 }, 16384),
      withMemory({ name: 'compute-2', type: 'compute', vcpus: 8 }, 32768),
      { name: 'controller-1', type: 'controller', vcpus: 0 },
    ]);
    expect(copy.instances).toEqual([
      withMemory({ id: ID.web2, name: 'web~2b000000', project: 'proj-a', host: 'compute-1', vcpus: 4, floating_ip: true }, 4096),
      withMemory({ id: ID.web1, name: 'web', project: 'proj-a', host: 'compute-1', vcpus: 2, floating_ip: false }, 4096),
      withMemory({ id: ID.db, name: 'db', project: 'proj-b', host: 'compute-2', vcpus: 2, floating_ip: false }, 4096),
    ]);
    expect(copy.projects).toEqual([]);
    expect(copy.faults).toEqual([]);
    expect(copy.timing).toEqual({ migrate_s: 5, live_migrate_s: 10, host_maintenance_s: 60 });
    expect(notes.map((n) => n.kind).sort()).toEqual(['disabled_before', 'overcommitted', 'renamed'].sort());
    expect(notes.find((n) => n.kind === 'overcommitted')).toMatchObject({ host: 'compute-1', vcpus: 4, vcpusUsed: 6 });
    expect(notes.find((n) => n.kind === 'renamed')).toMatchObject({ instanceId: ID.web2, name: 'web', as: 'web~2b000000' });
    expect(notes.find((n) => n.kind === 'disabled_before')).toMatchObject({ host: 'compute-2', reason: 'fan replaced' });
  });

  it("copies a session's hosts only, asking Nova for their servers and not the whole cloud's", async () => {
    const { get, servers, driver } = cloud();
    get('/servers/detail?all_tenants=1&host=compute-1&limit=500', { servers: [servers.web2, servers.web1] });
    const copy = await snapshotInfrastructure(driver, { hosts: ['compute-1'] });
    expect(copy.hosts).toEqual([withMemory({ name: 'compute-1', type: 'compute', vcpus: 6 }, 16384)]);
    expect(copy.instances.map((i) => [i.id, i.name])).toEqual([
      [ID.web2, 'web~2b000000'],
      [ID.web1, 'web'],
    ]);
  });
});

describe('(b) edge cases, with a hand-written driver', () => {
  const host = (name: string, extra: Partial<InfraHost> = {}): InfraHost => ({
    name, type: 'compute', vcpus: 8, vcpusUsed: 0, memoryMb: null, memoryMbUsed: null, enabled: true, disabledReason: null, ...extra,
  });
  const inst = (id: string, name: string, hostName: string, extra: Partial<InfraInstance> = {}): InfraInstance => ({
    id, name, projectId: 'proj', host: hostName, status: 'ACTIVE', vcpus: 1, memoryMb: null, floatingIp: false, ...extra,
  });

  /** Answers reads from the lists given (narrowed by scope, as a driver does); anything else throws. */
  function fake(hosts: InfraHost[], instances: InfraInstance[]) {
    const scopes: Array<HostScope | undefined> = [];
    const refuse = (what: string) => () => {
      throw new Error(`a snapshot called ${what}`);
    };
    const inScope = (scope: HostScope | undefined, name: string) => !scope?.hosts || scope.hosts.includes(name);
    const driver: InfraDriver = {
      kind: 'fake',
      identity: 'fake:edge',
      async listHosts(scope) {
        scopes.push(scope);
        return hosts.filter((h) => inScope(scope, h.name));
      },
      async listInstances(scope) {
        scopes.push(scope);
        return instances.filter((i) => inScope(scope, i.host));
      },
      disableHost: refuse('disableHost'),
      enableHost: refuse('enableHost'),
      requestMove: refuse('requestMove'),
      observeMove: refuse('observeMove'),
      requestHostMaintenance: refuse('requestHostMaintenance'),
      observeHostMaintenance: refuse('observeHostMaintenance'),
    };
    return { driver, scopes };
  }

  async function copyOf(hosts: InfraHost[], instances: InfraInstance[], options: { hosts?: string[] } = {}) {
    const notes: SnapshotNote[] = [];
    const { driver, scopes } = fake(hosts, instances);
    const copy = await snapshotInfrastructure(driver, { ...options, onNote: (n) => notes.push(n) });
    expect(cloudFileSchema.safeParse(JSON.parse(JSON.stringify(copy))).success).toBe(true);
    return { copy, notes, scopes };
  }

  it('repeated names: the smallest id keeps the name, whatever order the infrastructure lists them in', async () => {
    const instances = [inst('cc-3', 'app', 'c1'), inst('aa-1', 'app', 'c1'), inst('bb-2', 'app', 'c1'), inst('dd-4', 'solo', 'c1')];
    const names = async (order: InfraInstance[]) => {
      const { copy } = await copyOf([host('c1')], order);
      return Object.fromEntries(copy.instances.map((i) => [i.id, i.name]));
    };
    const expected = { 'aa-1': 'app', 'bb-2': 'app~bb-2', 'cc-3': 'app~cc-3', 'dd-4': 'solo' };
    expect(await names(instances)).toEqual(expected);
    expect(await names([...instances].reverse())).toEqual(expected);
  });

  it('a suffix never takes a name an instance already has, and an empty name gets one', async () => {
    const { copy, notes } = await copyOf([host('c1')], [
      inst('0000000a-x', 'db', 'c1'),
      inst('0000000b-y', 'db', 'c1'),
      inst('zzz', 'db~0000000b', 'c1'),
      inst('e-1', '  ', 'c1'),
    ]);
    expect(copy.instances.map((i) => i.name)).toEqual(['db', 'db~0000000b-y', 'db~0000000b', 'instance~e-1']);
    expect(notes.filter((n) => n.kind === 'renamed')).toHaveLength(2);
  });

  it('over-committed hosts get what their instances use, each named in a note; a compute with no figure too', async () => {
    const { copy, notes } = await copyOf(
      [host('c1', { vcpus: 4 }), host('c2', { vcpus: 0 }), host('c3', { vcpus: 16 })],
      [inst('a', 'a', 'c1', { vcpus: 4 }), inst('b', 'b', 'c1', { vcpus: 2 }), inst('c', 'c', 'c2', { vcpus: 2 }), inst('d', 'd', 'c3', { vcpus: 2 })],
    );
    expect(copy.hosts.map((h) => [h.name, h.vcpus])).toEqual([['c1', 6], ['c2', 2], ['c3', 16]]);
    expect(notes.filter((n) => n.kind === 'overcommitted').map((n) => n.kind === 'overcommitted' && [n.host, n.vcpus, n.vcpusUsed])).toEqual([
      ['c1', 4, 6],
      ['c2', 0, 2],
    ]);
  });

  it('what a cloud file cannot hold: instances off the computes copied are left out, a missing vCPU figure counts 1, ERROR and disabled are noted', async () => {
    const { copy, notes } = await copyOf(
      [host('c1', { enabled: false, disabledReason: 'broken disk' }), host('ctl', { type: 'controller', vcpus: 0 })],
      [
        inst('on-ctl', 'x', 'ctl'),
        inst('nowhere', 'y', 'c9'),
        inst('zero', 'z', 'c1', { vcpus: 0 }),
        inst('err', 'e', 'c1', { status: 'ERROR', fault: 'No valid host was found.' }),
        inst('err', 'e-again', 'c1'),
      ],
    );
    expect(copy.hosts).toEqual([
      { name: 'c1', type: 'compute', vcpus: 8 },
      { name: 'ctl', type: 'controller', vcpus: 0 },
    ]);
    expect(copy.hosts[0]).not.toHaveProperty('enabled');
    expect(copy.instances.map((i) => [i.id, i.vcpus])).toEqual([['zero', 1], ['err', 1]]);
    const byKind = (kind: SnapshotNote['kind']) => notes.filter((n) => n.kind === kind);
    expect(byKind('left_out').map((n) => n.kind === 'left_out' && n.subject)).toEqual(['on-ctl', 'nowhere', 'err']);
    expect(byKind('vcpus_assumed')).toMatchObject([{ instanceId: 'zero' }]);
    expect(byKind('not_active')).toMatchObject([{ instanceId: 'err', status: 'ERROR' }]);
    expect(byKind('not_active')[0]!.message).toContain('No valid host was found.');
    expect(byKind('disabled_before')).toMatchObject([{ host: 'c1', reason: 'broken disk' }]);
  });

  it('asks the driver for the hosts given only; none given (or an empty list) means every host', async () => {
    const hosts = [host('c1'), host('c2'), host('c3')];
    const instances = [inst('a', 'a', 'c1'), inst('b', 'b', 'c2'), inst('c', 'c', 'c3')];
    const some = await copyOf(hosts, instances, { hosts: ['c3', 'c1', 'c3'] });
    expect(some.scopes).toEqual([{ hosts: ['c3', 'c1'] }, { hosts: ['c3', 'c1'] }]);
    expect(some.copy.hosts.map((h) => h.name)).toEqual(['c1', 'c3']);
    expect(some.copy.instances.map((i) => i.id)).toEqual(['a', 'c']);
    for (const options of [{}, { hosts: [] }]) {
      const all = await copyOf(hosts, instances, options);
      expect(all.scopes).toEqual([undefined, undefined]);
      expect(all.copy.instances).toHaveLength(3);
    }
  });

  it('a host asked for that the infrastructure does not have, or no host at all, is an input error', async () => {
    await expect(snapshotInfrastructure(fake([host('c1')], []).driver, { hosts: ['c1', 'c7'] })).rejects.toThrow(InvalidInputError);
    await expect(snapshotInfrastructure(fake([host('c1')], []).driver, { hosts: ['c1', 'c7'] })).rejects.toThrow('no host named "c7"');
    await expect(snapshotInfrastructure(fake([], []).driver, {})).rejects.toThrow(/reports no hosts/);
  });

  it('memory: copied where reported, and raised on a host whose flavors use more', async () => {
    const { copy, notes } = await copyOf(
      [host('c1', { memoryMb: 4096 }), host('c2')],
      [inst('a', 'a', 'c1', { memoryMb: 4096 }), inst('b', 'b', 'c1', { memoryMb: 2048 }), inst('c', 'c', 'c2', { memoryMb: 1024 }), inst('d', 'd', 'c2')],
    );
    const hosts = copy.hosts as Array<{ name: string; memory_mb?: number }>;
    const instances = copy.instances as Array<{ id: string; memory_mb?: number }>;
    expect(hosts.map((h) => [h.name, h.memory_mb])).toEqual([['c1', 6144], ['c2', undefined]]);
    expect(instances.map((i) => [i.id, i.memory_mb])).toEqual([['a', 4096], ['b', 2048], ['c', 1024], ['d', undefined]]);
    expect(notes.filter((n) => n.kind === 'memory_overcommitted')).toMatchObject([{ host: 'c1', memoryMb: 4096, memoryMbUsed: 6144 }]);
  });

});
