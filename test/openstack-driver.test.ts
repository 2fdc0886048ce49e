// The openstack driver against recorded-style Keystone v3 and Nova answers (undici MockAgent):
// no network, and every test ends with no interceptor left unused. A call nobody expected
// fails on its own (net connect is disabled, so the mock answers "not matched").
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockAgent, type Interceptable } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/domain/errors.js';
import { VirtualClock } from '../src/engine/clock.js';
import type { MoveRef } from '../src/infra/driver.js';
import { OpenStackDriver } from '../src/infra/openstack/driver.js';
import { HttpError } from '../src/infra/openstack/http.js';

const T0 = Date.UTC(2026, 0, 1);
const KEYSTONE = 'http://keystone.test:5000';
const NOVA = 'http://nova.test:8774';
const ENV: NodeJS.ProcessEnv = {
  OS_AUTH_URL: `${KEYSTONE}/v3`,
  OS_USERNAME: 'maint-operator',
  OS_PASSWORD: 'op-secret',
  OS_PROJECT_NAME: 'ops',
  OS_USER_DOMAIN_NAME: 'users',
  OS_PROJECT_DOMAIN_NAME: 'projects',
};

const agents: MockAgent[] = [];

afterEach(async () => {
  for (const agent of agents.splice(0)) {
    try {
      agent.assertNoPendingInterceptors();
    } finally {
      await agent.close();
    }
  }
});

interface Mocks {
  agent: MockAgent;
  keystone: Interceptable;
  nova: Interceptable;
  clock: VirtualClock;
  driver: OpenStackDriver;
  /** The bodies POSTed to /v3/auth/tokens, parsed, in order. */
  authBodies: unknown[];
  /** Expects one POST /v3/auth/tokens and answers with this token. */
  token(value: string, expiresAt?: number): void;
  /** Expects GET /v2.1/ (the version document) and answers with this maximum microversion. */
  versions(max: string): void;
}

function mocks(env: NodeJS.ProcessEnv = ENV): Mocks {
  const agent = new MockAgent();
  agent.disableNetConnect();
  agents.push(agent);
  const clock = new VirtualClock(T0);
  const keystone = agent.get(KEYSTONE);
  const nova = agent.get(NOVA);
  const authBodies: unknown[] = [];
  return {
    agent,
    keystone,
    nova,
    clock,
    authBodies,
    driver: new OpenStackDriver({ cloud: null, env, dispatcher: agent, clock }),
    token(value, expiresAt = clock.now() + 3600_000) {
      keystone.intercept({ path: '/v3/auth/tokens', method: 'POST' }).reply((opts) => {
        authBodies.push(JSON.parse(String(opts.body)));
        return {
          statusCode: 201,
          data: {
            token: {
              methods: ['password'],
              expires_at: new Date(expiresAt).toISOString().replace('Z', '000Z'),
              catalog: [
                { type: 'identity', endpoints: [{ interface: 'public', region: 'RegionOne', url: `${KEYSTONE}/v3` }] },
                { type: 'compute', endpoints: [{ interface: 'public', region: 'RegionOne', url: `${NOVA}/v2.1` }] },
              ],
            },
          },
          responseOptions: { headers: { 'x-subject-token': value } },
        };
      });
    },
    versions(max) {
      nova.intercept({ path: '/v2.1/', method: 'GET' }).reply(200, {
        version: { id: 'v2.1', status: 'CURRENT', version: max, min_version: '2.1', updated: '2013-07-23T11:33:21Z' },
      });
    },
  };
}

/** Authenticated, microversion 2.87 negotiated: the state of a driver after its first call. */
async function ready(env?: NodeJS.ProcessEnv): Promise<Mocks> {
  const m = mocks(env);
  m.token('tok-1');
  m.versions('2.87');
  await m.driver.microversion();
  return m;
}

const SERVICES_COMPUTE = '/v2.1/os-services?binary=nova-compute';
const SERVICES_CONDUCTOR = '/v2.1/os-services?binary=nova-conductor';
const SERVERS_PAGE1 = '/v2.1/servers/detail?all_tenants=1&limit=500';

const service = (id: string, binary: string, host: string, status = 'enabled', reason: string | null = null) => ({
  id,
  binary,
  host,
  zone: binary === 'nova-compute' ? 'nova' : 'internal',
  status,
  state: 'up',
  disabled_reason: reason,
  forced_down: false,
  updated_at: '2026-01-01T00:00:00.000000',
});

const COMPUTES = [
  service('5d6e4ae0-0000-4000-8000-000000000001', 'nova-compute', 'compute-1'),
  service('5d6e4ae0-0000-4000-8000-000000000002', 'nova-compute', 'compute-2', 'disabled', 'disk replacement'),
];

/** A hypervisor as os-hypervisors/detail shows it at 2.87: hypervisor_hostname is the FQDN, the service host names the compute. */
function hypervisor(id: string, host: string, figures: Record<string, unknown>) {
  const svc = COMPUTES.find((c) => c.host === host);
  return { id, hypervisor_hostname: `${host}.example.org`, state: 'up', status: 'enabled', service: { host, id: svc?.id ?? 'none' }, ...figures };
}

function server(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    name: `vm-${id}`,
    tenant_id: 'proj-a',
    status: 'ACTIVE',
    'OS-EXT-SRV-ATTR:host': 'compute-1',
    'OS-EXT-STS:task_state': null,
    flavor: { original_name: 'm1.small', vcpus: 2, ram: 2048, disk: 20 },
    addresses: { private: [{ addr: '10.0.0.5', version: 4, 'OS-EXT-IPS:type': 'fixed' }] },
    ...extra,
  };
}

describe('credentials', () => {
  it('password auth sends the user with its domain and a project scope', async () => {
    const m = mocks();
    m.token('tok-1');
    m.versions('2.87');
    await m.driver.microversion();
    expect(m.authBodies).toEqual([
      {
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: 'maint-operator', domain: { name: 'users' }, password: 'op-secret' } },
          },
          scope: { project: { name: 'ops', domain: { name: 'projects' } } },
        },
      },
    ]);
  });

  it('an application credential sends methods [application_credential] and no scope', async () => {
    const m = mocks({
      OS_AUTH_URL: `${KEYSTONE}/v3`,
      OS_AUTH_TYPE: 'v3applicationcredential',
      OS_APPLICATION_CREDENTIAL_ID: 'ac-42',
      OS_APPLICATION_CREDENTIAL_SECRET: 'ac-secret',
    });
    m.token('tok-1');
    m.versions('2.87');
    await m.driver.microversion();
    expect(m.authBodies).toEqual([
      { auth: { identity: { methods: ['application_credential'], application_credential: { id: 'ac-42', secret: 'ac-secret' } } } },
    ]);
    expect((m.authBodies[0] as { auth: Record<string, unknown> }).auth).not.toHaveProperty('scope');
  });

  it('a missing OS_PASSWORD or OS_AUTH_URL is an input error naming it', () => {
    const clock = new VirtualClock(T0);
    const { OS_PASSWORD: _password, ...noPassword } = ENV;
    const { OS_AUTH_URL: _url, ...noUrl } = ENV;
    expect(() => new OpenStackDriver({ cloud: null, env: noPassword, clock })).toThrow(InvalidInputError);
    expect(() => new OpenStackDriver({ cloud: null, env: noPassword, clock })).toThrow(/OS_PASSWORD.* is missing/);
    expect(() => new OpenStackDriver({ cloud: null, env: noUrl, clock })).toThrow(InvalidInputError);
    expect(() => new OpenStackDriver({ cloud: null, env: noUrl, clock })).toThrow(/OS_AUTH_URL.* is missing/);
  });

  it('a missing project is an input error naming OS_PROJECT_NAME', () => {
    const clock = new VirtualClock(T0);
    const { OS_PROJECT_NAME: _name, ...noProject } = ENV;
    expect(() => new OpenStackDriver({ cloud: null, env: noProject, clock })).toThrow(/OS_PROJECT_NAME or OS_PROJECT_ID .* is missing/);
  });

  describe('clouds.yaml', () => {
    const dir = mkdtempSync(join(tmpdir(), 'maintctl-clouds-'));
    const file = join(dir, 'clouds.yaml');
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      file,
      [
        'clouds:',
        '  lab:',
        '    region_name: RegionOne',
        '    auth:',
        `      auth_url: ${KEYSTONE}/v3`,
        '      username: lab-admin',
        '      password: lab-secret',
        '      project_name: lab',
        '      user_domain_name: Default',
        '      project_domain_name: Default',
        '  staging:',
        '    auth:',
        `      auth_url: ${KEYSTONE}/v3`,
        '',
      ].join('\n'),
    );

    it('OS_CLOUD names a cloud in the file OS_CLIENT_CONFIG_FILE points at', async () => {
      const m = mocks({ OS_CLOUD: 'lab', OS_CLIENT_CONFIG_FILE: file });
      m.token('tok-1');
      m.versions('2.87');
      expect(await m.driver.microversion()).toBe('2.87');
      expect(m.authBodies).toEqual([
        {
          auth: {
            identity: { methods: ['password'], password: { user: { name: 'lab-admin', domain: { name: 'Default' }, password: 'lab-secret' } } },
            scope: { project: { name: 'lab', domain: { name: 'Default' } } },
          },
        },
      ]);
    });

    it('an unknown cloud name is an input error listing the known ones', () => {
      const make = () => new OpenStackDriver({ cloud: null, env: { OS_CLOUD: 'prod', OS_CLIENT_CONFIG_FILE: file }, clock: new VirtualClock(T0) });
      expect(make).toThrow(InvalidInputError);
      expect(make).toThrow(`cloud "prod" is not in ${file}: it has lab, staging`);
    });
  });
});

describe('token renewal', () => {
  it('renews a token 30 s from expiry before the next call, not one 90 s from it', async () => {
    const m = await ready();
    const expiry = T0 + 3600_000;
    m.nova.intercept({ path: SERVERS_PAGE1, method: 'GET', headers: { 'x-auth-token': 'tok-1' } }).reply(200, { servers: [] });
    await m.clock.advanceTo(expiry - 90_000);
    await m.driver.listInstances();

    m.token('tok-2', expiry + 3600_000);
    m.nova.intercept({ path: SERVERS_PAGE1, method: 'GET', headers: { 'x-auth-token': 'tok-2' } }).reply(200, { servers: [] });
    await m.clock.advanceTo(expiry - 30_000);
    await m.driver.listInstances();
    expect(m.authBodies).toHaveLength(2);
  });

  it('a 401 from Nova gets exactly one new token and one retry', async () => {
    const m = await ready();
    m.nova
      .intercept({ path: SERVERS_PAGE1, method: 'GET', headers: { 'x-auth-token': 'tok-1' } })
      .reply(401, { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } });
    m.token('tok-2');
    m.nova.intercept({ path: SERVERS_PAGE1, method: 'GET', headers: { 'x-auth-token': 'tok-2' } }).reply(200, { servers: [server('a')] });
    expect(await m.driver.listInstances()).toHaveLength(1);
    expect(m.authBodies).toHaveLength(2);
  });

  it('a second 401 is an error naming HTTP 401', async () => {
    const m = await ready();
    const unauthorized = { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } };
    m.nova.intercept({ path: SERVERS_PAGE1, method: 'GET', headers: { 'x-auth-token': 'tok-1' } }).reply(401, unauthorized);
    m.token('tok-2');
    m.nova.intercept({ path: SERVERS_PAGE1, method: 'GET', headers: { 'x-auth-token': 'tok-2' } }).reply(401, unauthorized);
    await expect(m.driver.listInstances()).rejects.toThrow(
      `GET ${NOVA}${SERVERS_PAGE1} answered HTTP 401: The request you have made requires authentication.`,
    );
    expect(m.authBodies).toHaveLength(2);
  });
});

describe('microversions', () => {
  it.each([
    ['2.93', '2.87'],
    ['2.60', '2.60'],
  ])('a compute API up to %s is used at %s', async (max, used) => {
    const m = mocks();
    m.token('tok-1');
    m.versions(max);
    m.nova
      .intercept({ path: SERVERS_PAGE1, method: 'GET', headers: { 'openstack-api-version': `compute ${used}`, 'x-openstack-nova-api-version': used } })
      .reply(200, { servers: [] });
    expect(await m.driver.listInstances()).toEqual([]);
    expect(await m.driver.microversion()).toBe(used);
  });

  it('a compute API older than 2.56 fails the first call, saying what it has and what is needed', async () => {
    const m = mocks();
    m.token('tok-1');
    m.versions('2.53');
    await expect(m.driver.listInstances()).rejects.toThrow(/supports microversions up to 2\.53; maintctl needs 2\.56 or newer/);
  });
});

describe('retries (with the real backoff: 250 ms, 500 ms)', () => {
  it('GET /os-services answering 503 twice, then 200, succeeds on the third call', async () => {
    const m = await ready();
    m.nova.intercept({ path: SERVICES_COMPUTE, method: 'GET' }).reply(503, 'Service Unavailable').times(2);
    m.nova.intercept({ path: SERVICES_COMPUTE, method: 'GET' }).reply(200, { services: COMPUTES });
    m.nova.intercept({ path: `/v2.1/os-services/${COMPUTES[0]!.id}`, method: 'PUT' }).reply(200, { service: COMPUTES[0] });
    await m.driver.disableHost('compute-1', 'maintenance');
  });

  it('429 is retried', async () => {
    const m = await ready();
    m.nova.intercept({ path: SERVERS_PAGE1, method: 'GET' }).reply(429, { overLimit: { code: 429, message: 'Over limit' } });
    m.nova.intercept({ path: SERVERS_PAGE1, method: 'GET' }).reply(200, { servers: [server('a')] });
    expect(await m.driver.listInstances()).toHaveLength(1);
  });

  it('a refused connection is retried', async () => {
    const m = await ready();
    const refused = Object.assign(new Error('connect ECONNREFUSED 192.0.2.10:8774'), { code: 'ECONNREFUSED' });
    m.nova.intercept({ path: SERVERS_PAGE1, method: 'GET' }).replyWithError(refused);
    m.nova.intercept({ path: SERVERS_PAGE1, method: 'GET' }).reply(200, { servers: [server('a')] });
    expect(await m.driver.listInstances()).toHaveLength(1);
  });

  it("409 Conflict on a server action is not retried and carries Nova's message", async () => {
    const m = await ready();
    const message = "Cannot 'migrate' instance 9e1c instance while it is in task_state migrating";
    m.nova.intercept({ path: '/v2.1/servers/9e1c/action', method: 'POST' }).reply(409, { conflictingRequest: { code: 409, message } });
    const error = await m.driver.requestMove(move('9e1c')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(409);
    expect((error as Error).message).toBe(`POST ${NOVA}/v2.1/servers/9e1c/action answered HTTP 409: ${message}`);
  });

  it('404 is not retried', async () => {
    const m = await ready();
    m.nova
      .intercept({ path: '/v2.1/servers/gone', method: 'GET' })
      .reply(404, { itemNotFound: { code: 404, message: 'Instance gone could not be found.' } });
    await expect(m.driver.observeMove(move('gone'))).rejects.toThrow(/HTTP 404: Instance gone could not be found\./);
  });
});

describe('listHosts', () => {
  it('computes with vCPU figures by service host, disabled ones with their reason, and conductor-only hosts as controllers', async () => {
    const m = await ready();
    m.nova.intercept({ path: SERVICES_COMPUTE, method: 'GET' }).reply(200, { services: COMPUTES });
    m.nova.intercept({ path: SERVICES_CONDUCTOR, method: 'GET' }).reply(200, {
      services: [
        service('c-1', 'nova-conductor', 'controller-1'),
        service('c-2', 'nova-conductor', 'controller-1'),
        service('c-3', 'nova-conductor', 'compute-1'),
      ],
    });
    m.nova.intercept({ path: '/v2.1/os-hypervisors/detail', method: 'GET' }).reply(200, {
      hypervisors: [
        // hypervisor_hostname is the FQDN: the service host is what names a compute.
        hypervisor('h-2', 'compute-2', { vcpus: 16, vcpus_used: 0, memory_mb: 65536, memory_mb_used: 512, status: 'disabled' }),
        hypervisor('h-1', 'compute-1', { vcpus: 32, vcpus_used: 12, memory_mb: 131072, memory_mb_used: 24576 }),
      ],
    });
    expect(await m.driver.listHosts()).toEqual([
      { name: 'compute-1', type: 'compute', vcpus: 32, vcpusUsed: 12, memoryMb: 131072, memoryMbUsed: 24576, enabled: true, disabledReason: null },
      { name: 'compute-2', type: 'compute', vcpus: 16, vcpusUsed: 0, memoryMb: 65536, memoryMbUsed: 512, enabled: false, disabledReason: 'disk replacement' },
      { name: 'controller-1', type: 'controller', vcpus: 0, vcpusUsed: 0, memoryMb: null, memoryMbUsed: null, enabled: true, disabledReason: null },
    ]);
  });

  it('a scope gets only the hosts it names, from the same three listings', async () => {
    const m = await ready();
    m.nova.intercept({ path: SERVICES_COMPUTE, method: 'GET' }).reply(200, { services: COMPUTES });
    m.nova.intercept({ path: SERVICES_CONDUCTOR, method: 'GET' }).reply(200, { services: [service('c-1', 'nova-conductor', 'controller-1')] });
    m.nova.intercept({ path: '/v2.1/os-hypervisors/detail', method: 'GET' }).reply(200, {
      hypervisors: [hypervisor('h-1', 'compute-1', { vcpus: 32, vcpus_used: 12 }), hypervisor('h-2', 'compute-2', { vcpus: 16, vcpus_used: 0 })],
    });
    const hosts = await m.driver.listHosts({ hosts: ['compute-2', 'controller-1', 'compute-9'] });
    expect(hosts.map((h) => h.name)).toEqual(['compute-2', 'controller-1']);
  });

  it('an empty scope asks Nova nothing', async () => {
    const m = await ready();
    expect(await m.driver.listHosts({ hosts: [] })).toEqual([]);
  });

  it('memory is null when the hypervisor leaves it out, and a compute with no hypervisor has no figures', async () => {
    const m = await ready();
    m.nova.intercept({ path: SERVICES_COMPUTE, method: 'GET' }).reply(200, { services: COMPUTES });
    m.nova.intercept({ path: SERVICES_CONDUCTOR, method: 'GET' }).reply(200, { services: [] });
    m.nova.intercept({ path: '/v2.1/os-hypervisors/detail', method: 'GET' }).reply(200, {
      hypervisors: [hypervisor('h-1', 'compute-1', { vcpus: 8, vcpus_used: 2 })],
    });
    expect(await m.driver.listHosts()).toEqual([
      { name: 'compute-1', type: 'compute', vcpus: 8, vcpusUsed: 2, memoryMb: null, memoryMbUsed: null, enabled: true, disabledReason: null },
      { name: 'compute-2', type: 'compute', vcpus: 0, vcpusUsed: 0, memoryMb: null, memoryMbUsed: null, enabled: false, disabledReason: 'disk replacement' },
    ]);
  });
});

describe('a new driver asked several things at once', () => {
  it('logs in once and finds the microversion once', async () => {
    const m = mocks();
    m.token('tok-1');
    m.versions('2.87');
    m.nova.intercept({ path: SERVICES_COMPUTE, method: 'GET' }).reply(200, { services: COMPUTES });
    m.nova.intercept({ path: SERVICES_CONDUCTOR, method: 'GET' }).reply(200, { services: [] });
    m.nova.intercept({ path: '/v2.1/os-hypervisors/detail', method: 'GET' }).reply(200, { hypervisors: [] });
    const hosts = await m.driver.listHosts();
    expect(hosts.map((h) => h.name)).toEqual(['compute-1', 'compute-2']);
    expect(m.authBodies).toHaveLength(1);
  });
});

describe('listInstances', () => {
  it('maps project, host, flavor vCPUs and floating IPs, and skips servers with no host', async () => {
    const m = await ready();
    m.nova.intercept({ path: SERVERS_PAGE1, method: 'GET' }).reply(200, {
      servers: [
        server('a'),
        server('b', {
          tenant_id: 'proj-b',
          'OS-EXT-SRV-ATTR:host': 'compute-2',
          flavor: { original_name: 'm1.large', vcpus: 8, ram: 16384, disk: 80 },
          addresses: {
            private: [
              { addr: '10.0.0.6', version: 4, 'OS-EXT-IPS:type': 'fixed' },
              { addr: '203.0.113.7', version: 4, 'OS-EXT-IPS:type': 'floating' },
            ],
          },
        }),
        server('shelved', { status: 'SHELVED_OFFLOADED', 'OS-EXT-SRV-ATTR:host': null }),
      ],
    });
    expect(await m.driver.listInstances()).toEqual([
      { id: 'a', name: 'vm-a', projectId: 'proj-a', host: 'compute-1', status: 'ACTIVE', vcpus: 2, memoryMb: 2048, floatingIp: false },
      { id: 'b', name: 'vm-b', projectId: 'proj-b', host: 'compute-2', status: 'ACTIVE', vcpus: 8, memoryMb: 16384, floatingIp: true },
    ]);
  });

  it('follows the marker while pages come back full (500)', async () => {
    const m = await ready();
    const full = Array.from({ length: 500 }, (_, i) => server(`s-${String(i).padStart(3, '0')}`));
    m.nova.intercept({ path: SERVERS_PAGE1, method: 'GET' }).reply(200, { servers: full });
    m.nova.intercept({ path: `${SERVERS_PAGE1}&marker=s-499`, method: 'GET' }).reply(200, { servers: [server('last')] });
    const instances = await m.driver.listInstances();
    expect(instances).toHaveLength(501);
    expect(instances.at(-1)!.id).toBe('last');
  });

  it('memory is null when the embedded flavor has no ram', async () => {
    const m = await ready();
    m.nova.intercept({ path: SERVERS_PAGE1, method: 'GET' }).reply(200, { servers: [server('a', { flavor: { original_name: 'odd', vcpus: 1 } })] });
    expect((await m.driver.listInstances()).map((i) => i.memoryMb)).toEqual([null]);
  });

  it('also follows the next link Nova gives when its max_limit is below the page size', async () => {
    const m = await ready();
    const next = [{ rel: 'next', href: `${NOVA}/v2.1/servers/detail?all_tenants=1&limit=500&marker=b` }];
    m.nova.intercept({ path: SERVERS_PAGE1, method: 'GET' }).reply(200, { servers: [server('a'), server('b')], servers_links: next });
    m.nova.intercept({ path: `${SERVERS_PAGE1}&marker=b`, method: 'GET' }).reply(200, { servers: [server('c')] });
    expect((await m.driver.listInstances()).map((i) => i.id)).toEqual(['a', 'b', 'c']);
  });
});

describe('listInstances with a scope', () => {
  const hostPage = (host: string, marker?: string) =>
    `/v2.1/servers/detail?all_tenants=1&host=${host}&limit=500${marker ? `&marker=${marker}` : ''}`;

  it("asks Nova host by host, following each host's pages, and never lists the whole cloud", async () => {
    const m = await ready();
    const full = Array.from({ length: 500 }, (_, i) => server(`c1-${String(i).padStart(3, '0')}`));
    m.nova.intercept({ path: hostPage('compute-1'), method: 'GET' }).reply(200, { servers: full });
    m.nova.intercept({ path: hostPage('compute-1', 'c1-499'), method: 'GET' }).reply(200, { servers: [server('c1-last')] });
    m.nova
      .intercept({ path: hostPage('compute-2'), method: 'GET' })
      .reply(200, { servers: [server('c2-a', { 'OS-EXT-SRV-ATTR:host': 'compute-2', flavor: { vcpus: 4, ram: 8192 } })] });
    const instances = await m.driver.listInstances({ hosts: ['compute-1', 'compute-2', 'compute-1'] });
    expect(instances).toHaveLength(502);
    expect(instances.filter((i) => i.host === 'compute-1')).toHaveLength(501);
    expect(instances.find((i) => i.id === 'c2-a')).toEqual({
      id: 'c2-a', name: 'vm-c2-a', projectId: 'proj-a', host: 'compute-2', status: 'ACTIVE', vcpus: 4, memoryMb: 8192, floatingIp: false,
    });
  });

  it('keeps only servers on the host asked, and a server seen on two hosts (it moved meanwhile) once', async () => {
    const m = await ready();
    m.nova.intercept({ path: hostPage('compute-1'), method: 'GET' }).reply(200, {
      servers: [server('moving'), server('elsewhere', { 'OS-EXT-SRV-ATTR:host': 'compute-7' })],
    });
    m.nova.intercept({ path: hostPage('compute-2'), method: 'GET' }).reply(200, { servers: [server('moving', { 'OS-EXT-SRV-ATTR:host': 'compute-2' })] });
    const instances = await m.driver.listInstances({ hosts: ['compute-1', 'compute-2'] });
    expect(instances.map((i) => [i.id, i.host])).toEqual([['moving', 'compute-1']]);
  });

  it('host names are escaped in the query', async () => {
    const m = await ready();
    m.nova.intercept({ path: hostPage('rack%201%26b'), method: 'GET' }).reply(200, { servers: [] });
    expect(await m.driver.listInstances({ hosts: ['rack 1&b'] })).toEqual([]);
  });

  it('an empty scope asks Nova nothing', async () => {
    const m = await ready();
    expect(await m.driver.listInstances({ hosts: [] })).toEqual([]);
  });
});

describe('disableHost / enableHost', () => {
  it('PUTs the service by id, with the reason when disabling', async () => {
    const m = await ready();
    const captured: unknown[] = [];
    m.nova.intercept({ path: SERVICES_COMPUTE, method: 'GET' }).reply(200, { services: COMPUTES }).times(2);
    m.nova
      .intercept({ path: `/v2.1/os-services/${COMPUTES[1]!.id}`, method: 'PUT' })
      .reply((opts) => {
        captured.push(JSON.parse(String(opts.body)));
        return { statusCode: 200, data: { service: COMPUTES[1] } };
      })
      .times(2);
    await m.driver.disableHost('compute-2', 'maintenance');
    await m.driver.enableHost('compute-2');
    expect(captured).toEqual([{ status: 'disabled', disabled_reason: 'maintenance' }, { status: 'enabled' }]);
  });

  it('an unknown host is an error naming it', async () => {
    const m = await ready();
    m.nova.intercept({ path: SERVICES_COMPUTE, method: 'GET' }).reply(200, { services: COMPUTES });
    await expect(m.driver.disableHost('compute-9', 'maintenance')).rejects.toThrow('no nova-compute service on host compute-9');
  });
});

function move(instanceId: string, kind: MoveRef['kind'] = 'MIGRATE', to: string | null = null): MoveRef {
  return { key: `op-${instanceId}`, instanceId, kind, from: 'compute-1', to, startedAt: T0 };
}

describe('observeMove', () => {
  // startedAt is T0; the driver looks from one second before it.
  const MIGRATIONS = '/v2.1/os-migrations?instance_uuid=vm1&changes-since=2025-12-31T23:59:59';
  const migration = (extra: Record<string, unknown> = {}) => ({
    id: 7,
    instance_uuid: 'vm1',
    source_compute: 'compute-1',
    dest_compute: 'compute-2',
    status: 'finished',
    migration_type: 'migration',
    created_at: '2026-01-01T00:00:02.000000',
    updated_at: '2026-01-01T00:00:20.000000',
    ...extra,
  });

  function answers(m: Mocks, srv: Record<string, unknown>, migrations: unknown[]) {
    m.nova.intercept({ path: '/v2.1/servers/vm1', method: 'GET' }).reply(200, { server: server('vm1', srv) });
    m.nova.intercept({ path: MIGRATIONS, method: 'GET' }).reply(200, { migrations });
  }

  it('VERIFY_RESIZE: confirms the resize and keeps watching', async () => {
    const m = await ready();
    answers(m, { status: 'VERIFY_RESIZE', 'OS-EXT-SRV-ATTR:host': 'compute-2' }, [migration()]);
    let body: unknown;
    m.nova.intercept({ path: '/v2.1/servers/vm1/action', method: 'POST' }).reply((opts) => {
      body = JSON.parse(String(opts.body));
      return { statusCode: 204, data: '' };
    });
    expect(await m.driver.observeMove(move('vm1'))).toEqual({ phase: 'running', checkAt: T0 + 1000 });
    expect(body).toEqual({ confirmResize: null });
  });

  it('ACTIVE on a new host with a migration from `from` since startedAt: done, with the host', async () => {
    const m = await ready();
    answers(m, { 'OS-EXT-SRV-ATTR:host': 'compute-2' }, [migration({ status: 'confirmed' })]);
    expect(await m.driver.observeMove(move('vm1'))).toEqual({ phase: 'done', result: { host: 'compute-2', migration_id: 7 } });
  });

  it("ERROR: failed, naming the server and Nova's fault", async () => {
    const m = await ready();
    answers(m, { name: 'db-0', status: 'ERROR', fault: { code: 500, message: 'No valid host was found. There are not enough hosts available.' } }, [
      migration({ status: 'error' }),
    ]);
    expect(await m.driver.observeMove(move('vm1'))).toEqual({
      phase: 'failed',
      cause: 'instance db-0 (vm1) is in ERROR: No valid host was found. There are not enough hosts available.',
    });
  });

  it("a migration in status 'error': failed", async () => {
    const m = await ready();
    answers(m, {}, [migration({ status: 'error', dest_compute: null })]);
    const observation = await m.driver.observeMove(move('vm1'));
    expect(observation).toEqual({ phase: 'failed', cause: 'Nova reports the migration of vm-vm1 (vm1) error; it is on compute-1' });
  });

  it('no migration record since startedAt and no task state: unknown (never requested)', async () => {
    const m = await ready();
    // An earlier move of the same server does not count.
    answers(m, {}, [migration({ id: 3, status: 'confirmed', created_at: '2025-12-31T22:00:00.000000' })]);
    expect(await m.driver.observeMove(move('vm1'))).toEqual({ phase: 'unknown' });
  });

  it('no migration record yet but a task state: running', async () => {
    const m = await ready();
    answers(m, { status: 'RESIZE', 'OS-EXT-STS:task_state': 'resize_prep' }, []);
    expect(await m.driver.observeMove(move('vm1'))).toEqual({ phase: 'running', checkAt: T0 + 1000 });
  });
});

describe('requestMove', () => {
  it.each([
    ['MIGRATE', null, { migrate: null }],
    ['LIVE_MIGRATE', null, { 'os-migrateLive': { host: null, block_migration: 'auto' } }],
    ['MIGRATE', 'compute-3', { migrate: { host: 'compute-3' } }],
    ['LIVE_MIGRATE', 'compute-3', { 'os-migrateLive': { host: 'compute-3', block_migration: 'auto' } }],
  ] as const)('%s to %s posts %j', async (kind, to, expected) => {
    const m = await ready();
    let body: unknown;
    m.nova.intercept({ path: '/v2.1/servers/vm1/action', method: 'POST' }).reply((opts) => {
      body = JSON.parse(String(opts.body));
      return { statusCode: 202, data: '' };
    });
    await m.driver.requestMove(move('vm1', kind, to));
    expect(body).toEqual(expected);
  });
});

describe('identity', () => {
  const clock = new VirtualClock(T0);
  const identity = (env: NodeJS.ProcessEnv) => new OpenStackDriver({ cloud: null, env, clock }).identity;

  it('names the Keystone and the region, without /v3, a trailing slash or anything secret', () => {
    const id = identity({ ...ENV, OS_AUTH_URL: `${KEYSTONE}/v3/`, OS_REGION_NAME: 'RegionTwo' });
    expect(id).toBe(`openstack:${KEYSTONE}|region=RegionTwo`);
    expect(id).not.toMatch(/op-secret|maint-operator|ops/);
  });

  it('is the same for another user and project of the same cloud, and differs by region and Keystone', () => {
    const base = identity(ENV);
    expect(base).toBe(`openstack:${KEYSTONE}`);
    expect(identity({ ...ENV, OS_USERNAME: 'other', OS_PASSWORD: 'x', OS_PROJECT_NAME: 'admin', OS_AUTH_URL: KEYSTONE })).toBe(base);
    expect(identity({ ...ENV, OS_REGION_NAME: 'RegionOne' })).not.toBe(base);
    expect(identity({ ...ENV, OS_AUTH_URL: 'https://keystone.other.test:5000/v3' })).not.toBe(base);
  });

  it('leaves out an application credential and credentials written into the auth URL', () => {
    const id = identity({
      OS_AUTH_URL: 'https://admin:url-secret@keystone.example.org/identity/v3?token=q-secret',
      OS_AUTH_TYPE: 'v3applicationcredential',
      OS_APPLICATION_CREDENTIAL_ID: 'ac-42',
      OS_APPLICATION_CREDENTIAL_SECRET: 'ac-secret',
      OS_REGION_NAME: 'north',
    });
    expect(id).toBe('openstack:https://keystone.example.org/identity|region=north');
    expect(id).not.toMatch(/secret|ac-42|admin/);
  });
});
