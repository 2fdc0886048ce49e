// serve --auth keystone against the box's real Keystone: the admin token is admin, a member token
// of proj1 answers for proj1 (200) and not for proj2 (403), a garbage token is refused (401).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCredentials } from '../../src/infra/openstack/credentials.js';
import { JsonHttp } from '../../src/infra/openstack/http.js';
import { spawnServe, tempDir, type ServeProcess } from '../support/serve.js';
import { jsonCall } from '../support/vnfm.js';

const BIN = join(__dirname, '..', '..', 'bin', 'maintctl.js');
const authUrl = resolveCredentials(null).authUrl.replace(/\/+$/, '').replace(/\/v3$/, '');
/** The box's project users share one password (its OSBOX_PASSWORD, default osbox). */
const USER_PASSWORD = process.env.OSBOX_PASSWORD ?? 'osbox';

/** A token of `user` scoped to `project` (Default domain), and the project's id. */
async function login(user: string, project: string, password = USER_PASSWORD): Promise<{ token: string; projectId: string }> {
  const r = await new JsonHttp().call<{ token: { project: { id: string } } }>('POST', `${authUrl}/v3/auth/tokens`, {}, {
    auth: {
      identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password } } },
      scope: { project: { name: project, domain: { name: 'Default' } } },
    },
  });
  return { token: String(r.headers['x-subject-token']), projectId: r.body.token.project.id };
}

let serve: ServeProcess;
const tokens: Record<string, { token: string; projectId: string }> = {};

beforeAll(async () => {
  tokens.admin = await login(process.env.OS_USERNAME ?? 'admin', process.env.OS_PROJECT_NAME ?? 'admin', process.env.OS_PASSWORD);
  for (const [user, project] of [['user1', 'proj1'], ['user2', 'proj2']]) tokens[project!] = await login(user!, project!);
  const dir = tempDir('maintctl-os-auth-');
  // proj1 and proj2 answer (the others are moved without asking), so the session waits in
  // MAINTENANCE for their replies.
  for (const p of ['proj1', 'proj2']) {
    const r = spawnSync(process.execPath, [BIN, '--state-dir', dir, 'project', 'subscribe', tokens[p]!.projectId], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  }
  serve = await spawnServe(dir, ['--cloud', 'openstack', '--auth', 'keystone']);
});

afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

describe('serve --auth keystone', () => {
  it('admin everything, a proj1 member proj1 only, a garbage token nothing', async () => {
    const as = (who: string) => ({ 'x-auth-token': who === 'garbage' ? 'gAAAAABnot-a-real-fernet-token' : tokens[who]!.token });
    const created = await jsonCall('POST', `${serve.url}/v1/maintenance`, { hosts: [], project_maintenance_reply: 600, unsubscribed_policy: 'migrate' }, as('admin'));
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const sid = String(created.body.session_id);
    try {
      const p1 = tokens.proj1!.projectId;
      const p2 = tokens.proj2!.projectId;
      // The session asks every project first; wait until it has asked proj1.
      for (;;) {
        const shown = await jsonCall('GET', `${serve.url}/v1/maintenance/${sid}/${p1}`, undefined, as('proj1'));
        if (shown.status === 200 && shown.body.state === 'MAINTENANCE') break;
        expect([200, 404]).toContain(shown.status);
        await new Promise((resolve) => setTimeout(resolve, 100)); // a real cloud: poll it
      }
      expect((await jsonCall('PUT', `${serve.url}/v1/maintenance/${sid}/${p1}`, { state: 'ACK_MAINTENANCE' }, as('proj1'))).status).toBe(200);
      expect(await jsonCall('PUT', `${serve.url}/v1/maintenance/${sid}/${p2}`, { state: 'ACK_MAINTENANCE' }, as('proj1'))).toEqual({
        status: 403,
        body: { error: { message: `this token is for project ${p1}, not ${p2}` } },
      });
      expect((await jsonCall('GET', `${serve.url}/v1/maintenance`, undefined, as('proj1'))).status).toBe(403);
      expect((await jsonCall('GET', `${serve.url}/v1/maintenance`, undefined, as('garbage'))).status).toBe(401);
      expect((await jsonCall('GET', `${serve.url}/v1/maintenance/${sid}`, undefined, as('admin'))).status).toBe(200);
    } finally {
      expect((await jsonCall('DELETE', `${serve.url}/v1/maintenance/${sid}`, undefined, as('admin'))).status).toBe(200);
    }
  });
});
