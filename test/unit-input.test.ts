import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/domain/errors.js';
import { MAX_MIGRATIONS, MAX_PARALLEL_HOSTS, MAX_REPLY_SECONDS, createSessionSchema, projectReplySchema } from '../src/domain/schemas.js';
import { EARLIEST_TIME_MS, LATEST_TIME_MS } from '../src/domain/time.js';
import { parseWith } from '../src/domain/validate.js';
import { parseCloudText, readCloudFile } from '../src/infra/sim/cloud-file.js';

/** The admin example of Fenix's API documentation (seed 000), verbatim. */
const FENIX_EXAMPLE = `{"hosts": ["overcloud-novacompute-1.opnfvlf.org","overcloud-novacompute-2.opnfvlf.org","overcloud-novacompute-3.opnfvlf.org"], "state": "MAINTENANCE", "maintenance_at": "2018-02-28 06:06:03", "metadata": {"openstack_release": "Queens"}, "workflow": "default", "download": ["https://my.sw.upgrades.com/SW1.tar.gz","https://my.sw.upgrades.com/ESW1.tar.gz","https://my.sw.upgrades.com/plugins1.tar.gz"], "actions": [{"plugin": "prepare", "type": "pre"},{"plugin": "esw_upgrade", "type": "host", "metadata": {"upgrade": "ESW1"}},{"plugin": "os_upgrade", "type": "host", "metadata": {"upgrade": "SW1"}},{"plugin": "finalize", "type": "post"}]}`;

function fenixBody(): Record<string, unknown> {
  return JSON.parse(FENIX_EXAMPLE) as Record<string, unknown>;
}

/** Runs fn, expects an InvalidInputError, and returns its message. */
function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return (err as Error).message;
  }
  throw new Error('expected an InvalidInputError, but nothing was thrown');
}

const parseSession = (body: unknown) => parseWith(createSessionSchema, body, 'session');

describe('createSessionSchema', () => {
  it('accepts the Fenix admin example verbatim', () => {
    const body = parseSession(fenixBody());
    expect(body.hosts).toEqual([
      'overcloud-novacompute-1.opnfvlf.org',
      'overcloud-novacompute-2.opnfvlf.org',
      'overcloud-novacompute-3.opnfvlf.org',
    ]);
    expect(body.state).toBe('MAINTENANCE');
    expect(body.maintenance_at).toBe('2018-02-28 06:06:03');
    expect(body.metadata).toEqual({ openstack_release: 'Queens' });
    expect(body.workflow).toBe('default');
    expect(body.download).toHaveLength(3);
    expect(body.actions.map((a) => `${a.plugin}:${a.type}`)).toEqual([
      'prepare:pre',
      'esw_upgrade:host',
      'os_upgrade:host',
      'finalize:post',
    ]);
    expect(body.actions[1]?.metadata).toEqual({ upgrade: 'ESW1' });
  });

  it('fills defaults for an empty body (discover hosts, default workflow)', () => {
    const body = parseSession({});
    expect(body.hosts).toEqual([]);
    expect(body.workflow).toBe('default');
    expect(body.metadata).toEqual({});
    expect(body.download).toEqual([]);
    expect(body.actions).toEqual([]);
  });

  it('accepts our per-session reply deadlines', () => {
    const body = parseSession({ project_maintenance_reply: 5, project_scale_in_reply: 30, max_parallel_hosts: 2 });
    expect(body.project_maintenance_reply).toBe(5);
    expect(body.max_parallel_hosts).toBe(2);
  });

  it('takes max_parallel_hosts as a whole number or "auto", and max_migrations as a whole number', () => {
    expect(parseSession({ max_parallel_hosts: 'auto' }).max_parallel_hosts).toBe('auto');
    expect(parseSession({ max_parallel_hosts: MAX_PARALLEL_HOSTS }).max_parallel_hosts).toBe(10_000);
    const body = parseSession({ max_migrations: 1 });
    expect(body.max_migrations).toBe(1);
    expect(parseSession({ max_migrations: MAX_MIGRATIONS }).max_migrations).toBe(1000);
    // The engine applies the default of 10: the body leaves it out.
    expect(parseSession({}).max_migrations).toBeUndefined();
  });

  it.each([0, -1, 1.5, 10_001, 'many', 'AUTO', null])('refuses max_parallel_hosts %j, saying what works', (value) => {
    const message = invalid(() => parseSession({ max_parallel_hosts: value }));
    expect(message).toBe('invalid session: max_parallel_hosts: must be "auto" or a whole number from 1 to 10000');
  });

  it.each([0, 1001, 2.5, 'auto', '10'])('refuses max_migrations %j, saying what works', (value) => {
    const message = invalid(() => parseSession({ max_migrations: value }));
    expect(message).toBe('invalid session: max_migrations: must be a whole number from 1 to 1000');
  });

  it('takes a reply deadline of up to 7 days and refuses one second more', () => {
    expect(MAX_REPLY_SECONDS).toBe(604_800);
    const body = parseSession({ project_maintenance_reply: 604_800, project_scale_in_reply: 604_799.5 });
    expect(body.project_maintenance_reply).toBe(604_800);
    const message = invalid(() => parseSession({ project_scale_in_reply: 604_801 }));
    expect(message).toBe('invalid session: project_scale_in_reply: at most 604800 seconds (7 days)');
  });

  it('refuses a reply deadline too long for any clock (1e13), as the API reports it', () => {
    const message = invalid(() => parseWith(createSessionSchema, { project_maintenance_reply: 1e13 }, 'session request'));
    expect(message).toBe('invalid session request: project_maintenance_reply: at most 604800 seconds (7 days)');
  });

  it('refuses a reply deadline that JSON reads as Infinity', () => {
    const message = invalid(() => parseSession(JSON.parse('{"project_maintenance_reply": 1e400}')));
    expect(message).toContain('project_maintenance_reply: ');
  });

  it('takes maintenance_at from 2000 to 9999 (UTC)', () => {
    expect(parseSession({ maintenance_at: '2000-01-01 00:00:00' }).maintenance_at).toBe('2000-01-01 00:00:00');
    expect(parseSession({ maintenance_at: '9999-12-31T23:59:59.999Z' }).maintenance_at).toBe('9999-12-31T23:59:59.999Z');
    expect(EARLIEST_TIME_MS).toBe(Date.UTC(2000, 0, 1));
    expect(new Date(LATEST_TIME_MS).toISOString()).toBe('9999-12-31T23:59:59.999Z');
  });

  it.each(['1999-12-31 23:59:59', '0001-01-01', '9999-12-31T23:00:00-05:00'])('refuses maintenance_at %s, outside 2000 to 9999', (at) => {
    const message = invalid(() => parseSession({ maintenance_at: at }));
    expect(message).toBe('invalid session: maintenance_at: must be a time between 2000-01-01 and 9999-12-31 (UTC)');
  });

  it('refuses a maintenance_at that is not a time, showing the formats that work', () => {
    const message = invalid(() => parseSession({ maintenance_at: 'tomorrow' }));
    expect(message).toMatch(/^invalid session: maintenance_at: "tomorrow": use "YYYY-MM-DD HH:MM:SS" \(UTC\) or ISO 8601/);
  });

  it('names the action path and the allowed types for a bad plug-in type', () => {
    const body = fenixBody();
    (body.actions as Array<Record<string, unknown>>)[2]!.type = 'sometimes';
    const message = invalid(() => parseSession(body));
    expect(message).toMatch(/^invalid session: /);
    expect(message).toContain('actions[2].type');
    expect(message).toContain('must be one of pre, host, post, compute, controller');
  });

  it('names the download entry that is not a URL', () => {
    const body = fenixBody();
    (body.download as string[])[1] = 'not a url';
    const message = invalid(() => parseSession(body));
    expect(message).toContain('download[1]: must be an http or https URL');
  });

  it('names an unknown top-level key', () => {
    const message = invalid(() => parseSession({ ...fenixBody(), hostz: ['x'] }));
    expect(message).toContain('hostz');
  });

  it('names an unknown key inside an action with its path', () => {
    const body = fenixBody();
    (body.actions as Array<Record<string, unknown>>)[0]!.plug = 'typo';
    const message = invalid(() => parseSession(body));
    expect(message).toContain('actions[0]');
    expect(message).toContain('plug');
  });

  it('refuses a new session in any state other than MAINTENANCE', () => {
    const message = invalid(() => parseSession({ ...fenixBody(), state: 'PLANNED_MAINTENANCE' }));
    expect(message).toContain('state: a new session starts in state MAINTENANCE');
  });

  it('refuses an empty host name, naming its index', () => {
    const message = invalid(() => parseSession({ hosts: ['compute-0', '  '] }));
    expect(message).toContain('hosts[1]: must not be empty');
  });

  it('refuses a non-positive reply deadline', () => {
    const message = invalid(() => parseSession({ project_maintenance_reply: 0 }));
    expect(message).toContain('project_maintenance_reply: must be a positive number of seconds');
  });

  it('lists every problem at once', () => {
    const message = invalid(() => parseSession({ state: 'DONE', download: ['nope'] }));
    expect(message).toContain('state:');
    expect(message).toContain('download[0]:');
  });

  it('refuses a body that is not an object', () => {
    const message = invalid(() => parseSession(['compute-0']));
    expect(message).toMatch(/^invalid session: /);
  });
});

describe('projectReplySchema', () => {
  const parseReply = (body: unknown) => parseWith(projectReplySchema, body, 'reply');

  it('accepts a state with a map of instance actions (Fenix seed 001)', () => {
    const body = parseReply({ state: 'ACK_PLANNED_MAINTENANCE', instance_actions: { 'id-1': 'MIGRATE', 'id-2': 'OWN_ACTION' } });
    expect(body.instance_actions).toEqual({ 'id-1': 'MIGRATE', 'id-2': 'OWN_ACTION' });
  });

  it('accepts the later Fenix single instance_action with instance_id', () => {
    const body = parseReply({ state: 'ACK_PLANNED_MAINTENANCE', instance_action: 'LIVE_MIGRATE', instance_id: 'id-1' });
    expect(body.instance_action).toBe('LIVE_MIGRATE');
    expect(body.instance_id).toBe('id-1');
  });

  it('accepts the extra fields VNFMs written for Fenix send (session_id, instance_ids)', () => {
    const body = parseReply({ state: 'ACK_MAINTENANCE', session_id: 's-1', instance_ids: ['id-1', 'id-2'] });
    expect(body).toMatchObject({ state: 'ACK_MAINTENANCE', session_id: 's-1' });
  });

  it('accepts a bare state', () => {
    expect(parseReply({ state: 'ACK_MAINTENANCE' })).toEqual({ state: 'ACK_MAINTENANCE' });
  });

  it('refuses an unknown action in instance_actions, naming the instance and the allowed actions', () => {
    const message = invalid(() => parseReply({ state: 'ACK_PLANNED_MAINTENANCE', instance_actions: { 'id-1': 'TELEPORT' } }));
    expect(message).toContain('instance_actions.id-1');
    expect(message).toContain('must be one of MIGRATE, LIVE_MIGRATE, OWN_ACTION');
  });

  it('refuses an unknown single instance_action', () => {
    const message = invalid(() => parseReply({ state: 'ACK_PLANNED_MAINTENANCE', instance_action: 'EVACUATE' }));
    expect(message).toContain('instance_action: must be one of MIGRATE, LIVE_MIGRATE, OWN_ACTION');
  });

  it('refuses a reply without a state', () => {
    const message = invalid(() => parseReply({ instance_actions: {} }));
    expect(message).toContain('state');
  });
});

const CLOUD = `
hosts:
  - {name: compute-0, type: compute, vcpus: 8}
  - {name: compute-1, vcpus: 4}
  - {name: compute-2, vcpus: 4}
  - {name: ctl-0, type: controller}
instances:
  - {name: vnf-a-0, project: proj-a, host: compute-0, vcpus: 2, floating_ip: false, id: 11111111-0000-0000-0000-000000000000}
  - {name: vnf-a-1, project: proj-a, host: compute-1}
  - {name: vnf-b-0, project: proj-b, host: compute-0, vcpus: 4, floating_ip: true}
projects:
  - {id: proj-a, auto_reply: ack, action: MIGRATE, scale_in: 1}
  - {id: proj-b}
timing: {migrate_s: 30, live_migrate_s: 10, host_maintenance_s: 60}
faults:
  - {migrate_fails: vnf-a-0}
  - {host_fails: compute-2}
`;

describe('parseCloudText', () => {
  it('parses a cloud file and fills in defaults', () => {
    const cloud = parseCloudText(CLOUD, 'cloud.yaml');
    expect(cloud.hosts).toEqual([
      { name: 'compute-0', type: 'compute', vcpus: 8 },
      { name: 'compute-1', type: 'compute', vcpus: 4 },
      { name: 'compute-2', type: 'compute', vcpus: 4 },
      { name: 'ctl-0', type: 'controller', vcpus: 0 },
    ]);
    expect(cloud.instances[0]).toEqual({
      name: 'vnf-a-0',
      project: 'proj-a',
      host: 'compute-0',
      vcpus: 2,
      floating_ip: false,
      id: '11111111-0000-0000-0000-000000000000',
    });
    expect(cloud.instances[1]).toEqual({ name: 'vnf-a-1', project: 'proj-a', host: 'compute-1', vcpus: 1, floating_ip: false });
    expect(cloud.projects).toEqual([
      { id: 'proj-a', auto_reply: 'ack', action: 'MIGRATE', scale_in: 1, reply_delay_s: 1 },
      { id: 'proj-b', auto_reply: 'none', action: 'MIGRATE', scale_in: 0, reply_delay_s: 1 },
    ]);
    expect(cloud.timing).toEqual({ migrate_s: 30, live_migrate_s: 10, host_maintenance_s: 60 });
    expect(cloud.faults).toEqual([{ migrate_fails: 'vnf-a-0' }, { host_fails: 'compute-2' }]);
  });

  it('fills in timing and empty lists when only hosts are given', () => {
    const cloud = parseCloudText('hosts: [{name: compute-0, vcpus: 2}]', 'tiny.yaml');
    expect(cloud.instances).toEqual([]);
    expect(cloud.projects).toEqual([]);
    expect(cloud.faults).toEqual([]);
    expect(cloud.timing).toEqual({ migrate_s: 30, live_migrate_s: 10, host_maintenance_s: 60 });
  });

  it('accepts JSON as well as YAML', () => {
    const cloud = parseCloudText('{"hosts": [{"name": "compute-0", "vcpus": 2}]}', 'cloud.json');
    expect(cloud.hosts[0]?.name).toBe('compute-0');
  });

  it('refuses an instance on an unknown host, naming the source, the path and the host', () => {
    const message = invalid(() =>
      parseCloudText('hosts: [{name: compute-0, vcpus: 4}]\ninstances: [{name: i, project: p, host: compute-9}]', 'c.yaml'),
    );
    expect(message).toContain('cloud file c.yaml');
    expect(message).toContain('instances[0].host: no host named "compute-9"');
  });

  it('refuses an instance placed on a controller', () => {
    const message = invalid(() =>
      parseCloudText(
        'hosts: [{name: compute-0, vcpus: 4}, {name: ctl-0, type: controller}]\ninstances: [{name: i, project: p, host: ctl-0}]',
        'c.yaml',
      ),
    );
    expect(message).toContain('instances[0].host: "ctl-0" is a controller, instances run on computes');
  });

  it('refuses a host whose instances use more vCPUs than it has', () => {
    const message = invalid(() =>
      parseCloudText(
        `hosts: [{name: compute-0, vcpus: 4}]
instances:
  - {name: i1, project: p, host: compute-0, vcpus: 3}
  - {name: i2, project: p, host: compute-0, vcpus: 2}`,
        'c.yaml',
      ),
    );
    expect(message).toContain('instances on "compute-0" use 5 vCPUs but it has 4');
  });

  it('refuses duplicate instance names, pointing at the second one', () => {
    const message = invalid(() =>
      parseCloudText(
        `hosts: [{name: compute-0, vcpus: 4}]
instances:
  - {name: dup, project: p, host: compute-0}
  - {name: dup, project: q, host: compute-0}`,
        'c.yaml',
      ),
    );
    expect(message).toContain('instances[1].name: duplicate instance name "dup"');
  });

  it('refuses duplicate instance ids, pointing at the second one', () => {
    const message = invalid(() =>
      parseCloudText(
        `hosts: [{name: compute-0, vcpus: 4}]
instances:
  - {name: a, id: z, project: p, host: compute-0}
  - {name: b, id: z, project: p, host: compute-0}`,
        'c.yaml',
      ),
    );
    expect(message).toContain('instances[1].id: duplicate instance id "z"');
  });

  it('says an empty cloud file is empty', () => {
    expect(invalid(() => parseCloudText('', 'c.yaml'))).toBe('cloud file c.yaml is empty: it needs at least a hosts list');
  });

  it('says what a fault looks like when one is misspelt', () => {
    const message = invalid(() => parseCloudText('hosts: [{name: c0, vcpus: 2}]\nfaults: [{migrate_fail: x}]', 'c.yaml'));
    expect(message).toContain('faults[0]: a fault is {migrate_fails: INSTANCE} or {host_fails: HOST}');
  });

  it('refuses duplicate host names', () => {
    const message = invalid(() => parseCloudText('hosts: [{name: compute-0, vcpus: 4}, {name: compute-0, vcpus: 2}]', 'c.yaml'));
    expect(message).toContain('hosts: host names must be unique');
  });

  it('refuses a fault naming an unknown host', () => {
    const message = invalid(() =>
      parseCloudText('hosts: [{name: compute-0, vcpus: 4}]\nfaults: [{host_fails: compute-7}]', 'c.yaml'),
    );
    expect(message).toContain('faults[0].host_fails: no host named "compute-7"');
  });

  it('refuses a fault naming an unknown instance', () => {
    const message = invalid(() =>
      parseCloudText(
        'hosts: [{name: compute-0, vcpus: 4}]\ninstances: [{name: i, project: p, host: compute-0}]\nfaults: [{host_fails: compute-0}, {migrate_fails: ghost}]',
        'c.yaml',
      ),
    );
    expect(message).toContain('faults[1].migrate_fails: no instance named "ghost"');
  });

  it('accepts a migrate fault naming an instance by its id', () => {
    const cloud = parseCloudText(
      'hosts: [{name: compute-0, vcpus: 4}]\ninstances: [{name: i, project: p, host: compute-0, id: uuid-1}]\nfaults: [{migrate_fails: uuid-1}]',
      'c.yaml',
    );
    expect(cloud.faults).toEqual([{ migrate_fails: 'uuid-1' }]);
  });

  it('refuses a cloud without hosts', () => {
    const message = invalid(() => parseCloudText('hosts: []', 'c.yaml'));
    expect(message).toContain('hosts: a cloud needs at least one host');
  });

  it('refuses an unknown key, naming it', () => {
    const message = invalid(() => parseCloudText('hosts: [{name: compute-0, vcpus: 4, ram: 16}]', 'c.yaml'));
    expect(message).toContain('hosts[0]');
    expect(message).toContain('ram');
  });

  it('refuses simulated timings longer than 7 days, naming the field', () => {
    const message = invalid(() => parseCloudText('hosts: [{name: compute-0}]\ntiming: {migrate_s: 1e13}', 'c.yaml'));
    expect(message).toContain('timing.migrate_s: at most 604800 seconds (7 days)');
    const reply = invalid(() => parseCloudText('hosts: [{name: compute-0}]\nprojects: [{id: p, reply_delay_s: 604801}]', 'c.yaml'));
    expect(reply).toContain('projects[0].reply_delay_s: at most 604800 seconds (7 days)');
  });

  it('refuses an unknown auto_reply', () => {
    const message = invalid(() => parseCloudText('hosts: [{name: compute-0}]\nprojects: [{id: p, auto_reply: maybe}]', 'c.yaml'));
    expect(message).toContain('projects[0].auto_reply');
  });

  it('reports invalid YAML with the source name', () => {
    const message = invalid(() => parseCloudText('hosts: [{name: compute-0\n  - : :', 'broken.yaml'));
    expect(message).toMatch(/^cloud file broken\.yaml is not valid YAML: /);
    expect(message).not.toContain('\n');
  });

  it('refuses an empty file', () => {
    const message = invalid(() => parseCloudText('', 'empty.yaml'));
    expect(message).toContain('cloud file empty.yaml');
  });
});

describe('readCloudFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'maintctl-unit-input-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads and parses a file from disk', () => {
    const path = join(dir, 'cloud.yaml');
    writeFileSync(path, CLOUD);
    expect(readCloudFile(path).hosts).toHaveLength(4);
  });

  it('says the file does not exist when it is missing', () => {
    const path = join(dir, 'missing.yaml');
    const message = invalid(() => readCloudFile(path));
    expect(message).toBe(`cloud file ${path} does not exist`);
  });

  it('names the file in validation errors', () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'hosts: [{name: compute-0, vcpus: 4}]\ninstances: [{name: i, project: p, host: nowhere}]');
    const message = invalid(() => readCloudFile(path));
    expect(message).toContain(`cloud file ${path}`);
    expect(message).toContain('no host named "nowhere"');
  });

  it('explains when the path cannot be read as a file', () => {
    const message = invalid(() => readCloudFile(dir));
    expect(message).toContain(`cannot read cloud file ${dir}`);
  });
});
