// The release, cluster, notification and constraint routes on a PostgreSQL-backed serve: the same
// documents and refusals as on the embedded store, a cluster update run to its end there, and a
// second replica on the same database reading what the first wrote.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresMissing, startPostgres, type Postgres } from './support/postgres.js';
import { startServer, type RunningServer } from './support/serve.js';
import { jsonCall } from './support/vnfm.js';

// Hosts with no instances: an update needs no project to answer.
const CLOUD = `
hosts: [{name: ctl-0, type: controller}, {name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}]
timing: {migrate_s: 0.05, live_migrate_s: 0.05, host_maintenance_s: 0.05}
`;

const message = (r: { body: Record<string, unknown> }) => (r.body.error as { message: string }).message;

describe.skipIf(postgresMissing())('releases and constraints on a shared store', () => {
  let pg: Postgres;
  let a: RunningServer;
  let b: RunningServer;
  beforeAll(async () => {
    pg = await startPostgres();
    const store = await pg.createDatabase();
    a = await startServer({ store, cloudYaml: CLOUD });
    b = await startServer({ store, cloudYaml: CLOUD });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await pg?.stop();
  });

  const call = (server: RunningServer, method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown) => jsonCall(method, `${server.url}${path}`, body);

  it('adds releases and a cluster, updates the cluster to its end, and both replicas show the same documents', async () => {
    expect((await call(a, 'POST', '/v1/releases', { name: 'r1', version: '1.0' })).status).toBe(200);
    expect((await call(a, 'POST', '/v1/releases', { name: 'r2', version: '2.0', can_update_from: ['1.0'] })).status).toBe(200);
    const again = await call(b, 'POST', '/v1/releases', { name: 'r1', version: '1.1' });
    expect([again.status, message(again)]).toEqual([409, 'release r1 exists already: delete it first, or give another name']);
    expect((await call(a, 'POST', '/v1/clusters', { name: 'prod', release: 'r1', hosts: ['compute-0', 'compute-1'] })).status).toBe(200);
    const taken = await call(b, 'POST', '/v1/clusters', { name: 'qa', release: 'r1', hosts: ['compute-1'] });
    expect([taken.status, message(taken)]).toEqual([409, 'hosts already in a cluster: compute-1 (prod): a host belongs to one cluster']);
    const same = await call(b, 'POST', '/v1/maintenance', { cluster: 'prod', release: 'r1' });
    expect([same.status, message(same)]).toEqual([400, 'cluster prod already runs r1 (1.0): updates: r2 (2.0)']);

    const created = await call(b, 'POST', '/v1/maintenance', { cluster: 'prod', release: 'r2' });
    expect(created.status).toBe(200);
    const id = String(created.body.session_id);
    expect((await call(a, 'GET', '/v1/clusters/prod')).body).toMatchObject({ status: 'update', pending_release: 'r2', session_id: id, operation: 'update' });
    const inUse = await call(a, 'DELETE', '/v1/releases/r2');
    expect(inUse.status).toBe(409);
    await expect.poll(async () => (await call(a, 'GET', `/v1/maintenance/${id}`)).body.state, { timeout: 60_000 }).toBe('MAINTENANCE_DONE');
    const done = await call(b, 'GET', '/v1/clusters/prod');
    expect(done.body).toMatchObject({ status: 'operational', current_release: 'r2', pending_release: null, hosts: [{ host: 'compute-0', release: 'r2' }, { host: 'compute-1', release: 'r2' }] });
    expect((await call(a, 'GET', '/v1/clusters/prod')).body).toEqual(done.body);
    const notices = await call(a, 'GET', '/v1/notifications?cluster=prod');
    expect((notices.body as unknown as Array<{ topic: string; host: string | null }>).map((n) => [n.topic, n.host])).toEqual([
      ['warning', null],
      ['done', 'compute-0'],
      ['done', 'compute-1'],
      ['done', null],
    ]);
    expect((await call(b, 'GET', '/v1/notifications?cluster=prod&topic=done')).body).toHaveLength(3);
    expect((await call(b, 'GET', '/v1/notifications?cluster=nope')).status).toBe(404);
    // The first release is free now.
    expect((await call(b, 'DELETE', '/v1/releases/r1')).body).toMatchObject({ name: 'r1', version: '1.0' });
    expect(((await call(a, 'GET', '/v1/releases')).body as unknown as Array<{ name: string }>).map((r) => r.name)).toEqual(['r2']);
  });

  it('puts, reads, lists and deletes instance groups and instance constraints on either replica', async () => {
    const group = { group_id: 'g-1', project_id: 'proj-a', group_name: 'web', anti_affinity_group: true, max_instances_per_host: 1, max_impacted_members: 2, recovery_time: 4.5, resource_mitigation: false };
    const instance = { instance_id: 'i-1', project_id: 'proj-a', group_id: 'g-1', instance_name: 'web-0', max_interruption_time: 120, migration_type: 'LIVE_MIGRATE', resource_mitigation: false, lead_time: 40 };
    expect(await call(a, 'PUT', '/v1/instance_group/g-1', group)).toMatchObject({ status: 200, body: group });
    expect(await call(a, 'PUT', '/v1/instance/i-1', instance)).toMatchObject({ status: 200, body: instance });
    expect(await call(b, 'GET', '/v1/instance_group/g-1')).toMatchObject({ status: 200, body: group });
    expect(await call(b, 'GET', '/v1/instance/i-1')).toMatchObject({ status: 200, body: instance });
    expect((await call(b, 'GET', '/v1/instance_group?project_id=proj-a')).body).toMatchObject({ instance_groups: [group] });
    expect((await call(b, 'GET', '/v1/instance')).body).toMatchObject({ instances: [instance] });
    const bad = await call(b, 'PUT', '/v1/instance_group/g-2', { ...group, group_id: 'g-2', max_impacted_members: 'two' });
    expect(bad.status).toBe(400);
    expect((await call(a, 'GET', '/v1/instance_group/g-2')).status).toBe(404);
    expect((await call(b, 'DELETE', '/v1/instance_group/g-1')).body).toMatchObject(group);
    expect((await call(a, 'GET', '/v1/instance_group/g-1')).status).toBe(404);
    expect((await call(a, 'DELETE', '/v1/instance/i-1')).status).toBe(200);
    expect((await call(b, 'GET', '/v1/instance')).body).toEqual({ instances: [] });
  });
});
