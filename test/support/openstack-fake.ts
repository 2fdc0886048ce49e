// A fake OpenStack for the real OpenStack driver: Keystone and Nova on an undici MockAgent that
// answers one login and the GETs a test sets up, and catches every other request (any method but
// GET on Nova, anything but the login on Keystone) so a test can prove nothing was changed.
// Used by the snapshot and rehearsal tests.
import { MockAgent } from 'undici';
import { expect } from 'vitest';
import { VirtualClock } from '../../src/engine/clock.js';
import { OpenStackDriver } from '../../src/infra/openstack/driver.js';

export const T0 = Date.UTC(2026, 0, 1);
export const KEYSTONE = 'http://keystone.test:5000';
export const NOVA = 'http://nova.test:8774';
export const ENV: NodeJS.ProcessEnv = {
  OS_AUTH_URL: `${KEYSTONE}/v3`,
  OS_USERNAME: 'maint-operator',
  OS_PASSWORD: 'op-secret',
  OS_PROJECT_NAME: 'ops',
};

/** The servers' ids: two named "web" (proj-a) on compute-1, "db" (proj-b) on compute-2. */
export const ID = {
  web1: '1a000000-0000-4000-8000-000000000001',
  web2: '2b000000-0000-4000-8000-000000000002',
  db: '3c000000-0000-4000-8000-000000000003',
};

/**
 * Fake clouds made by one test file; `check()` (in afterEach) fails the test on a request that
 * would have changed something or an answer set up and never asked for, and closes the agents.
 */
export function fakeOpenStacks() {
  const agents: MockAgent[] = [];
  /** Requests that would have changed something. */
  const forbidden: string[] = [];

  async function check(): Promise<void> {
    try {
      expect(forbidden.splice(0)).toEqual([]);
      for (const agent of agents) {
        // The guards may stay unused (that is the point); every answer set up must have been asked for.
        expect(agent.pendingInterceptors().filter((i) => typeof i.method !== 'function')).toEqual([]);
      }
    } finally {
      for (const agent of agents.splice(0)) await agent.close();
    }
  }

  /**
   * Two computes and a controller: compute-1 over-committed (4 vCPUs, its servers' flavors add up
   * to 6), compute-2 disabled ("fan replaced"). The servers list is for the test to set up with
   * `get`, from `servers`.
   */
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
      return { statusCode: 405, data: { badMethod: { code: 405, message: 'this test only reads' } } };
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

  /**
   * A Keystone that validates tokens (GET /v3/auth/tokens with X-Subject-Token) from `tokens`,
   * 404 for any other, after one login of the server's own service user. `validations` lists the
   * subject tokens asked about, in order (to see what the cache saves).
   */
  function keystone(tokens: Record<string, { roles: string[]; project?: string; expiresAt: number }>) {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agents.push(agent);
    const pool = agent.get(KEYSTONE);
    const validations: string[] = [];
    pool.intercept({ path: '/v3/auth/tokens', method: 'POST' }).reply(201, { token: { methods: ['password'], expires_at: new Date(T0 + 86_400_000).toISOString(), catalog: [] } }, { headers: { 'x-subject-token': 'service-token' } });
    pool
      .intercept({ path: '/v3/auth/tokens', method: 'GET' })
      .reply((opts): { statusCode: number; data: object } => {
        const headers = new Headers(opts.headers as Record<string, string>);
        if (headers.get('x-auth-token') !== 'service-token') return { statusCode: 401, data: { error: { code: 401, message: 'The request you have made requires authentication.' } } };
        const subject = headers.get('x-subject-token') ?? '';
        validations.push(subject);
        const token = tokens[subject];
        if (!token) return { statusCode: 404, data: { error: { code: 404, message: `Could not find token: ${subject}` } } };
        return {
          statusCode: 200,
          data: {
            token: {
              methods: ['password'],
              expires_at: new Date(token.expiresAt).toISOString(),
              roles: token.roles.map((name, i) => ({ id: `r-${i}`, name })),
              ...(token.project ? { project: { id: token.project, name: `${token.project}-name`, domain: { id: 'default' } } } : {}),
            },
          },
        };
      })
      .persist();
    return { agent, validations };
  }

  return { cloud, keystone, check };
}
