// snapshotInfrastructure: a read-only copy of an infrastructure as a sim cloud file.
// (a) against the OpenStack driver with a MockAgent on which every request but a GET (and the
// one Keystone login) is caught and fails the test, so taking a copy provably changes nothing;
// (b) against a hand-written driver for what a cloud file cannot say as a cloud does.
import { MockAgent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/domain/errors.js';
import { cloudFileSchema } from '../src/domain/schemas.js';
import { VirtualClock } from '../src/engine/clock.js';
import type { HostScope, InfraDriver, InfraHost, InfraInstance } from '../src/infra/driver.js';
import { OpenStackDriver } from '../src/infra/openstack/driver.js';
import { snapshotInfrastructure, type SnapshotNote } from '../src/infra/snapshot.js';


const T0 = Date.UTC(2026, 0, 1);
const KEYSTONE = 'http://keystone.test:5000';
const NOVA = 'http://nova.test:8774';
const ENV: NodeJS.ProcessEnv = {
  OS_AUTH_URL: `${KEYSTONE}/v3`,
  OS_USERNAME: 'maint-operator',
  OS_PASSWORD: 'op-secret',
  OS_PROJECT_NAME: 'ops',
};

const ID = {
  web1: '1a000000-0000-4000-8000-000000000001',
  web2: '2b000000-0000-4000-8000-000000000002',
  db: '3c000000-0000-4000-8000-000000000003',
};

describe('(a) a copy of an OpenStack cloud, through the real driver, reading only', () => {
  const agents: MockAgent[] = [];
  /** Requests that would have changed something: any method but GET on Nova, anything but the one login on Keystone. */
  const forbidden: string[] = [];

  afterEach(async () => {
    try {
      expect(forbidden.splice(0)).toEqual([]);
      for (const agent of agents) {
        // The guards below may stay unused (that is the point); every answer set up must have been asked for.
        expect(agent.pendingInterceptors().filter((i) => typeof i.method !== 'function')).toEqual([]);
      }
    } finally {
      for (const agent of agents.splice(0)) await agent.close();
    }
  });

  function cloud() {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agents.push(agent);
    const keystone = agent.get(KEYSTONE);
    const nova = agent.get(NOVA);
    keystone.intercept({ path: '/v3/auth/tokens', method: 'POST' }).reply(201, {
      token: {
        methods: ['password'],
        expires_at: new Date(T0 + 3600_000).toISOString(),
        catalog: [{ type: 'compute', endpoints: [{ interface: 'public', region: 'RegionOne', url: `${NOVA}/v2.1` }] }],
      },
    }, { headers: { 'x-subject-token': 'tok-1' } });
    // The guards: registered after the answers, they catch every request those do not, whatever
    // its path, unless it is a GET. They answer 405 so the driver stops at once (no retry on 4xx).
    const guard = (origin: string) => (opts: { method: string; path: string }) => {
      forbidden.push(`${opts.method} ${origin}${opts.path}`);
      return { statusCode: 405, data: { badMethod: { code: 405, message: 'a snapshot must only read' } } };
    };
    const notGet = (method: string) => method !== 'GET';
    keystone.intercept({ path: () => true, method: notGet }).reply(guard(KEYSTONE)).persist();
    nova.intercept({ path: () => true, method: notGet }).reply(guard(NOVA)).persist();

    const get = (path: string, body: object) => nova.intercept({ path: `/v2.1${path}`, method: 'GET' }).reply(200, body);
    get('/', { version: { id: 'v2.1', status: 'CURRENT', version: '2.87', min_version: '2.1' } });
    const svc = (id: string, binary: string, host: string, status = 'enabled', reason: string | null = null) => ({
      id, binary, host, status, disabled_reason: reason, state: 'up', zone: 'nova', forced_down: false,
    });
    get('/os-services?binary=nova-compute', {
      services: [svc('s-1', 'nova-compute', 'compute-1'), svc('s-2', 'nova-compute', 'compute-2', 'disabled', 'fan replaced')],
    });
    get('/os-services?binary=nova-conductor', { services: [svc('s-3', 'nova-conductor', 'controller-1')] });
    get('/os-hypervisors/detail', {
      hypervisors: [
        // compute-1 is over-committed: 4 vCPUs, its servers' flavors add up to 6.
        { id: 'h-1', hypervisor_hostname: 'compute-1.lab', service: { host: 'compute-1', id: 's-1' }, vcpus: 4, vcpus_used: 6, memory_mb: 16384, memory_mb_used: 8704 },
        { id: 'h-2', hypervisor_hostname: 'compute-2.lab', service: { host: 'compute-2', id: 's-2' }, vcpus: 8, vcpus_used: 2, memory_mb: 32768, memory_mb_used: 4608 },
      ],
    });
    const server = (id: string, name: string, project: string, host: string, vcpus: number, ram: number, floating = false) => ({
      id,
      name,
      tenant_id: project,
      status: 'ACTIVE',
      'OS-EXT-SRV-ATTR:host': host,
      'OS-EXT-STS:task_state': null,
      flavor: { original_name: `f${vcpus}`, vcpus, ram, disk: 10 },
      addresses: { net: [{ addr: '10.0.0.9', 'OS-EXT-IPS:type': 'fixed' }, ...(floating ? [{ addr: '203.0.113.9', 'OS-EXT-IPS:type': 'floating' }] : [])] },
    });
    const servers = {
      web2: server(ID.web2, 'web', 'proj-a', 'compute-1', 4, 4096, true),
      web1: server(ID.web1, 'web', 'proj-a', 'compute-1', 2, 4096),
      db: server(ID.db, 'db', 'proj-b', 'compute-2', 2, 4096),
    };
    return { agent, get, servers, driver: new OpenStackDriver({ cloud: null, env: ENV, dispatcher: agent, clock: new VirtualClock(T0) }) };
  }

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
