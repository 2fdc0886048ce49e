// /v1/releases, /v1/clusters, /v1/notifications and session rollback over HTTP: admin only,
// bad input a 400 with a message, refusals 409, unknown names 404, and nothing written on refusal.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, tempDir, type RunningServer } from './support/serve.js';
import { jsonCall } from './support/vnfm.js';

const ADMIN = 'releases-api-admin-token-000000';
const PROJECT = 'releases-api-project-token-0000';
let server: RunningServer;
const admin = { 'x-auth-token': ADMIN };

beforeAll(async () => {
  const dir = tempDir('maintctl-api-releases-');
  const tokens = join(dir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify({ tokens: [{ token: ADMIN, role: 'admin' }, { token: PROJECT, project: 'proj-a' }] }));
  server = await startServer({ stateDir: join(dir, 'state'), tokens });
});
afterAll(() => server?.stop());

const call = (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, headers = admin) => jsonCall(method, `${server.url}${path}`, body, headers);
const message = (r: { body: Record<string, unknown> }) => (r.body.error as { message: string }).message;

describe('the release routes', () => {
  it('add, list and show releases and clusters; refuse what the CLI refuses, with the same messages', async () => {
    expect((await call('POST', '/v1/releases', { name: 'r1', version: '1.0' })).status).toBe(200);
    const r2 = await call('POST', '/v1/releases', { name: 'r2', version: '2.0', can_update_from: ['1.0'] });
    expect(r2).toMatchObject({ status: 200, body: { name: 'r2', version: '2.0', can_update_from: ['1.0'], compatible_with: null } });
    const bad = await call('POST', '/v1/releases', { name: 'r3', version: '', extra: 1 });
    expect(bad.status).toBe(400);
    expect(message(bad)).toMatch(/^invalid release: /);
    expect((await call('POST', '/v1/clusters', { name: 'prod', release: 'r1', hosts: ['compute-0', 'compute-1'] })).status).toBe(200);
    expect(await call('GET', '/v1/clusters/prod')).toMatchObject({ status: 200, body: { status: 'operational', current_release: 'r1', hosts: [{ host: 'compute-0', release: 'r1' }, { host: 'compute-1', release: 'r1' }] } });
    expect((await call('GET', '/v1/releases')).body).toHaveLength(2);
    const inUse = await call('DELETE', '/v1/releases/r1');
    expect([inUse.status, message(inUse)]).toEqual([409, 'release r1 is in use by cluster prod: it can be deleted once no cluster runs it']);
    expect((await call('GET', '/v1/releases/nope')).status).toBe(404);
    expect((await call('GET', '/v1/clusters/nope')).status).toBe(404);
    const same = await call('POST', '/v1/maintenance', { cluster: 'prod', release: 'r1' });
    expect([same.status, message(same)]).toEqual([400, 'cluster prod already runs r1 (1.0): updates: r2 (2.0)']);
    expect((await call('GET', '/v1/maintenance')).body).toEqual({ session_id: [] });
    expect((await call('GET', '/v1/notifications?topic=bogus')).status).toBe(400);
    expect(await call('GET', '/v1/notifications?cluster=prod')).toEqual({ status: 200, body: [] });
  });

  it('roll back over HTTP: a session that changes no release is refused', async () => {
    const created = await call('POST', '/v1/maintenance', { hosts: ['compute-2'] });
    const id = String(created.body.session_id);
    const refused = await call('POST', `/v1/sessions/${id}/rollback`, {});
    expect([refused.status, message(refused)]).toEqual([409, `session ${id} changes no cluster's release: there is nothing to roll back`]);
  });

  it('are for admins only', async () => {
    for (const [method, path] of [['GET', '/v1/releases'], ['POST', '/v1/releases'], ['GET', '/v1/clusters'], ['GET', '/v1/notifications']] as const) {
      const r = await call(method, path, method === 'POST' ? { name: 'x', version: '1' } : undefined, { 'x-auth-token': PROJECT });
      expect(r.status, `${method} ${path}`).toBe(403);
    }
    expect((await call('GET', '/v1/releases')).body).toHaveLength(2);
  });
});
