// serve --auth keystone, against the fake Keystone: admin role -> admin, any other token scoped to
// its project, unknown or expired -> 401; a token is validated once until it expires.
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/engine/clock.js';
import { KeystoneAuthenticator } from '../src/api/keystone-auth.js';
import { storePath } from '../src/client/state-dir.js';
import { Store } from '../src/store/store.js';
import { subscribe } from '../src/store/subscriptions.js';
import { ENV, T0, fakeOpenStacks } from './support/openstack-fake.js';
import { startServer, tempDir } from './support/serve.js';
import { jsonCall } from './support/vnfm.js';

const fake = fakeOpenStacks();
afterEach(() => fake.check());

function rig() {
  const clock = new VirtualClock(T0);
  const { agent, validations } = fake.keystone({
    'tok-admin': { roles: ['admin', 'member'], project: 'p-admin', expiresAt: T0 + 3600_000 },
    'tok-proj1': { roles: ['member', 'reader'], project: 'proj1', expiresAt: T0 + 600_000 },
    'tok-unscoped': { roles: [], expiresAt: T0 + 600_000 },
    'tok-expired': { roles: ['admin'], project: 'p-admin', expiresAt: T0 - 1000 },
  });
  return { auth: new KeystoneAuthenticator({ cloud: null, env: ENV, dispatcher: agent, clock }), clock, validations };
}

describe('KeystoneAuthenticator', () => {
  it('makes a token with the admin role admin, and any other its project', async () => {
    const { auth } = rig();
    expect(await auth.authenticate('tok-admin')).toEqual({ role: 'admin' });
    expect(await auth.authenticate('tok-proj1')).toEqual({ role: 'project', project: 'proj1' });
  });

  it('refuses unknown, expired and unscoped tokens (401 for the request)', async () => {
    const { auth } = rig();
    expect(await auth.authenticate('garbage')).toBeNull();
    expect(await auth.authenticate('tok-expired')).toBeNull();
    expect(await auth.authenticate('tok-unscoped')).toBeNull();
  });

  it('asks Keystone once per token until the token expires, then again', async () => {
    const { auth, clock, validations } = rig();
    for (let i = 0; i < 5; i++) expect(await auth.authenticate('tok-proj1')).toEqual({ role: 'project', project: 'proj1' });
    expect(validations).toEqual(['tok-proj1']);
    await clock.advance(600_000);
    expect(await auth.authenticate('tok-proj1')).toBeNull();
    expect(validations).toEqual(['tok-proj1', 'tok-proj1']);
  });
});

describe('serve with Keystone tokens', () => {
  it('lets a proj1 member answer for proj1 (200), not proj2 (403), admin everything, a bad token nothing (401)', async () => {
    const { auth } = rig();
    const stateDir = tempDir('maintctl-ks-');
    const store = Store.open(storePath(stateDir));
    for (const projectId of ['proj1', 'proj2']) subscribe(store, { projectId, eventType: 'maintenance.planned', url: null, format: 'fenix', sessionId: null }, Date.now());
    store.close();
    const cloudYaml = `
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}]
instances: [{name: p1-0, project: proj1, host: compute-0, vcpus: 1}, {name: p2-0, project: proj2, host: compute-1, vcpus: 1}]
`;
    const server = await startServer({ stateDir, cloudYaml, authenticator: auth, host: '127.0.0.1' });
    try {
      const as = (token: string) => ({ 'x-auth-token': token });
      const created = await jsonCall('POST', `${server.url}/v1/maintenance`, { project_maintenance_reply: 3600 }, as('tok-admin'));
      expect(created.status).toBe(200);
      const sid = String(created.body.session_id);
      const ack = { state: 'ACK_MAINTENANCE' };
      expect((await jsonCall('PUT', `${server.url}/v1/maintenance/${sid}/proj1`, ack, as('tok-proj1'))).status).toBe(200);
      expect(await jsonCall('PUT', `${server.url}/v1/maintenance/${sid}/proj2`, ack, as('tok-proj1'))).toEqual({
        status: 403,
        body: { error: { message: 'this token is for project proj1, not proj2' } },
      });
      expect((await jsonCall('GET', `${server.url}/v1/maintenance`, undefined, as('tok-proj1'))).status).toBe(403);
      expect((await jsonCall('GET', `${server.url}/v1/maintenance`, undefined, as('garbage'))).status).toBe(401);
      expect((await jsonCall('GET', `${server.url}/v1/maintenance`, undefined, as('tok-expired'))).status).toBe(401);
      expect((await jsonCall('PUT', `${server.url}/v1/maintenance/${sid}/proj2`, ack, as('tok-admin'))).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
