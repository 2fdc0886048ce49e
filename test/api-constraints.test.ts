// Later Fenix's constraint routes over serve: a group and an instance put, read, listed and
// deleted with Fenix's field names; bad bodies refused naming the field; a project token kept to
// its own project's constraints; the constraints kept across a restart of the server.
import { afterEach, describe, expect, it } from 'vitest';
import { jsonCall } from './support/vnfm.js';
import { startServer, tempDir, type RunningServer } from './support/serve.js';

const GROUP = {
  group_id: 'g-1',
  project_id: 'proj-a',
  group_name: 'web',
  anti_affinity_group: true,
  max_instances_per_host: 1,
  max_impacted_members: 2,
  recovery_time: 4,
  resource_mitigation: true,
};
const INSTANCE = {
  instance_id: 'i-1',
  project_id: 'proj-a',
  group_id: 'g-1',
  instance_name: 'web-0',
  max_interruption_time: 120,
  migration_type: 'LIVE_MIGRATE',
  resource_mitigation: false,
  lead_time: 40,
};

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

const message = (r: { body: Record<string, unknown> }) => (r.body.error as { message: string }).message;

describe('constraint routes', () => {
  it('put, get, list and delete a group and an instance, kept across a restart', async () => {
    const stateDir = tempDir('maintctl-constraints-');
    server = await startServer({ stateDir });
    expect(await jsonCall('PUT', `${server.url}/v1/instance_group/g-1`, GROUP)).toEqual({ status: 200, body: GROUP });
    expect(await jsonCall('PUT', `${server.url}/v1/instance/i-1`, INSTANCE)).toEqual({ status: 200, body: INSTANCE });
    await server.stop();
    server = await startServer({ stateDir });
    expect((await jsonCall('GET', `${server.url}/v1/instance_group/g-1`)).body).toEqual(GROUP);
    expect((await jsonCall('GET', `${server.url}/v1/instance/i-1`)).body).toEqual(INSTANCE);
    expect((await jsonCall('GET', `${server.url}/v1/instance_group`)).body).toEqual({ instance_groups: [GROUP] });
    expect((await jsonCall('GET', `${server.url}/v1/instance?project_id=proj-b`)).body).toEqual({ instances: [] });
    expect(await jsonCall('DELETE', `${server.url}/v1/instance/i-1`)).toEqual({ status: 200, body: INSTANCE });
    expect(await jsonCall('DELETE', `${server.url}/v1/instance_group/g-1`)).toEqual({ status: 200, body: GROUP });
    const gone = await jsonCall('GET', `${server.url}/v1/instance_group/g-1`);
    expect([gone.status, message(gone)]).toEqual([404, 'no instance group g-1']);
  });

  it("fills Fenix's defaults and reads Doctor's MIGRATION as MIGRATE", async () => {
    server = await startServer();
    const r = await jsonCall('PUT', `${server.url}/v1/instance/i-2`, { project_id: 'proj-a', migration_type: 'MIGRATION' });
    expect(r.body).toEqual({
      instance_id: 'i-2',
      project_id: 'proj-a',
      group_id: null,
      instance_name: '',
      max_interruption_time: null,
      migration_type: 'MIGRATE',
      resource_mitigation: false,
      lead_time: 0,
    });
  });

  it.each([
    ['/v1/instance_group/g-1', { ...GROUP, colour: 'red' }, 'invalid instance group: Unrecognized key: "colour"'],
    ['/v1/instance_group/g-1', { ...GROUP, max_impacted_members: -1 }, 'invalid instance group: max_impacted_members: must be 0 or more'],
    ['/v1/instance_group/g-1', { ...GROUP, anti_affinity_group: 'yes' }, 'invalid instance group: anti_affinity_group: must be true or false'],
    ['/v1/instance_group/g-1', { ...GROUP, group_id: 'g-2' }, 'group_id: the body says "g-2" but the path names "g-1"'],
    ['/v1/instance/i-1', { ...INSTANCE, migration_type: 'TELEPORT' }, 'invalid instance constraints: migration_type: must be one of MIGRATE, LIVE_MIGRATE, OWN_ACTION'],
    ['/v1/instance/i-1', { ...INSTANCE, lead_time: 'soon' }, 'invalid instance constraints: lead_time: must be a number of seconds'],
    ['/v1/instance/i-1', { instance_id: 'i-1' }, 'invalid instance constraints: project_id: must be a string'],
  ])('PUT %s with %j: 400 naming the field', async (path, body, expected) => {
    server = await startServer();
    const r = await jsonCall('PUT', `${server.url}${path}`, body);
    expect([r.status, message(r)]).toEqual([400, expected]);
    expect((await jsonCall('GET', `${server.url}/v1/instance_group`)).body).toEqual({ instance_groups: [] });
  });
});
