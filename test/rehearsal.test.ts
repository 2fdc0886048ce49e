// session create --dry-run: the session rehearsed on a copy of the infrastructure, in memory on
// a virtual clock. What a user checks: the plan matches what a real run on the same cloud does,
// --timing changes the prediction, a session that would fail says why (exit 3), the OpenStack
// cloud is only read (a MockAgent catches anything but a GET), and nothing is written to the
// state directory.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedClient } from '../src/client/embedded.js';
import type { Deps } from '../src/cli/deps.js';
import { EXIT, exitCodeFor } from '../src/cli/exit-codes.js';
import { bufferIO } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';
import { parseCreateFlags, runCreate } from '../src/cli/session/create.js';
import { VirtualClock } from '../src/engine/clock.js';
import { rehearse, type RehearsalPlan } from '../src/engine/rehearsal.js';
import { storePath } from '../src/client/state-dir.js';
import { putGroup, putInstance } from '../src/store/constraints.js';
import { Store } from '../src/store/store.js';
import { harness, runSession, T0 } from './helpers.js';
import { ID, fakeOpenStacks } from './support/openstack-fake.js';

const root = mkdtempSync(join(tmpdir(), 'maintctl-rehearsal-'));
let files = 0;

function cloudFile(yaml: string): string {
  const path = join(root, `cloud-${++files}.yaml`);
  writeFileSync(path, yaml);
  return path;
}

/** `computes` computes of 8 vCPUs, each running two 2-vCPU instances (one per project), `spare` empty ones, a controller. */
function cloud(computes: number, spare: number, timing = '{migrate_s: 30, live_migrate_s: 10, host_maintenance_s: 600}'): string {
  const lines = ['hosts:', '  - {name: ctl-0, type: controller}'];
  for (let c = 0; c < computes + spare; c++) lines.push(`  - {name: compute-${c}, vcpus: 8}`);
  lines.push('instances:');
  for (let c = 0; c < computes; c++) {
    lines.push(`  - {id: id-a-${c}, name: a-${c}, project: proj-a, host: compute-${c}, vcpus: 2}`);
    lines.push(`  - {id: id-b-${c}, name: b-${c}, project: proj-b, host: compute-${c}, vcpus: 2}`);
  }
  lines.push(
    'projects:',
    '  - {id: proj-a, auto_reply: ack, action: MIGRATE}',
    '  - {id: proj-b, auto_reply: ack, action: LIVE_MIGRATE}',
    `timing: ${timing}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Deps for running the command in-process; a rehearsal must never make an engine client. */
function deps(stateDir: string, format: Deps['format'] = 'json') {
  const io = bufferIO();
  const d: Deps = {
    io,
    format,
    clock: new VirtualClock(T0),
    stateDir,
    client: () => {
      throw new Error('a rehearsal opened the engine client');
    },
  };
  return { deps: d, io };
}

/** `session create --cloud FILE --dry-run [flags]` run in-process: the plan, the exit code, the output. */
async function dryRun(cloud: string, flags: Record<string, unknown> = {}, stateDir = join(root, `state-${++files}`), format: Deps['format'] = 'json') {
  const options = parseCreateFlags({ metadata: [], action: [], download: [], unsubscribed: [], cloud, dryRun: true, ...flags });
  const { deps: d, io } = deps(stateDir, format);
  let code: number = EXIT.ok;
  try {
    await runCreate(options, d);
  } catch (err) {
    code = exitCodeFor(err);
    if (code === EXIT.error) throw err;
  }
  const out = io.stdout();
  return { code, out, err: io.stderr(), plan: format === 'json' ? (JSON.parse(out) as RehearsalPlan) : null, stateDir };
}

describe('a rehearsal on a sim cloud file', () => {
  it('ends DONE with the waves and moves a real run on the same cloud has, in its time, and writes nothing', async () => {
    const yaml = cloud(4, 1);
    const { code, plan, stateDir } = await dryRun(cloudFile(yaml), { maxParallel: '2' });
    expect(code).toBe(EXIT.ok);
    expect(plan!.state).toBe('MAINTENANCE_DONE');
    expect(plan!.blockers).toEqual([]);

    // Every compute in exactly one wave; every instance moved at least once.
    const computes = ['compute-0', 'compute-1', 'compute-2', 'compute-3', 'compute-4'];
    expect(plan!.waves.flatMap((w) => w.hosts).sort()).toEqual(computes);
    const instances = [0, 1, 2, 3].flatMap((c) => [`id-a-${c}`, `id-b-${c}`]);
    expect([...new Set(plan!.moves.map((m) => m.instance_id))].sort()).toEqual(instances.sort());
    expect(plan!.moves_per_instance).toBe(Math.round((plan!.moves.length / instances.length) * 100) / 100);
    expect(plan!.moves.filter((m) => m.name.startsWith('b-')).every((m) => m.action === 'LIVE_MIGRATE')).toBe(true);
    // Waves follow one another; each ends after it starts, the last at the end of the session.
    for (const w of plan!.waves) expect(w.end_s!).toBeGreaterThan(w.start_s);
    expect(Math.max(...plan!.waves.map((w) => w.end_s!))).toBeLessThanOrEqual(plan!.predicted_duration_s);

    // The same session for real, on the same cloud.
    const real = await runSession(harness(yaml), { max_parallel_hosts: 2 });
    expect(real.session.state).toBe('MAINTENANCE_DONE');
    expect(plan!.predicted_duration_s).toBe((real.session.updatedAt - real.session.createdAt) / 1000);
    const realMoves = real.allEvents.filter((e) => e.eventType === 'sim.instance.moved').map((e) => `${e.payload.name}:${e.payload.from}->${e.payload.to}`);
    expect(plan!.moves.map((m) => `${m.name}:${m.from}->${m.to}`).sort()).toEqual(realMoves.sort());

    // Nothing in the state directory: not even the directory.
    expect(existsSync(stateDir)).toBe(false);
  });

  it('runs no plug-in: each takes metadata.expected_s (or --timing plugin=), and the plan lists what would run where', async () => {
    const marker = join(root, `ran-${++files}`);
    const actions = [
      `pre:shell:command=touch ${marker},expected_s=300`,
      'compute:os_upgrade:expected_s=1200',
      'host:wait:seconds=60',
      'post:not_installed_anywhere',
    ];
    const file = cloudFile(cloud(2, 1));
    const quick = await dryRun(file, { action: actions, timing: 'plugin=0s' });
    const slow = await dryRun(file, { action: actions, timing: 'plugin=10m' });
    expect(quick.code).toBe(EXIT.ok);
    expect(existsSync(marker)).toBe(false); // the shell command never ran
    const plugins = quick.plan!.plugins;
    expect(plugins[0]).toEqual({ plugin: 'shell', type: 'pre', host: null, start_s: expect.any(Number), expected_s: 300 });
    expect(plugins.at(-1)).toEqual({ plugin: 'not_installed_anywhere', type: 'post', host: null, start_s: expect.any(Number), expected_s: 0 });
    for (const host of ['compute-0', 'compute-1', 'compute-2']) {
      expect(plugins.filter((p) => p.host === host).map((p) => [p.plugin, p.expected_s])).toEqual([['wait', 60], ['os_upgrade', 1200]]);
    }
    expect(plugins.filter((p) => p.host === 'ctl-0').map((p) => [p.plugin, p.expected_s])).toEqual([['wait', 60]]);
    // Only the plug-in without expected_s takes the --timing figure.
    expect(slow.plan!.predicted_duration_s - quick.plan!.predicted_duration_s).toBe(600);
    const table = await dryRun(file, { action: actions }, undefined, 'table');
    expect(table.out).toMatch(/^PLUG-IN +TYPE +WHERE +START +EXPECTED$/m);
    expect(table.out).toMatch(/^os_upgrade +compute +compute-\d +\S+ +20m00s$/m);
  });

  it('for people: a summary line, the waves, the first 20 moves and how many more', async () => {
    const { code, out } = await dryRun(cloudFile(cloud(12, 1)), {}, undefined, 'table');
    expect(code).toBe(EXIT.ok);
    expect(out).toMatch(/^Rehearsal: MAINTENANCE_DONE in \S+, 13 waves, (\d+) moves, [\d.]+ moves per instance\n/);
    expect(out).toMatch(/^WAVE +HOSTS +START +END$/m);
    expect(out).toMatch(/^1 +compute-\d+ +\d+s +\S+$/m);
    const moves = Number(/, (\d+) moves,/.exec(out)![1]);
    expect(moves).toBeGreaterThan(20);
    expect(out.match(/^id-[ab]-\d+ /gm)).toHaveLength(20);
    expect(out).toContain(`... ${moves - 20} more`);
  });

  it('--timing changes the predicted duration by what it changes', async () => {
    // One host at a time and moves that take no time: the session takes its hosts' maintenance, one after another.
    const path = cloudFile(cloud(2, 1));
    const quick = await dryRun(path, { timing: 'migrate=0s,live_migrate=0,host=10m' });
    const slow = await dryRun(path, { timing: 'migrate=0s,live_migrate=0,host=20m' });
    for (const r of [quick, slow]) expect(r.plan!.state).toBe('MAINTENANCE_DONE');
    const hosts = 4; // the controller and three computes
    expect(slow.plan!.predicted_duration_s - quick.plan!.predicted_duration_s).toBe(hosts * 600);

    // Slower moves make it longer too; the file's own timing is what is left out of --timing.
    const fromFile = await dryRun(path);
    const slowMoves = await dryRun(path, { timing: 'migrate=10m' });
    expect(slowMoves.plan!.predicted_duration_s).toBeGreaterThan(fromFile.plan!.predicted_duration_s + 600);
  });
});

describe('a rehearsal of a session that would fail', () => {
  it('nothing can be emptied: MAINTENANCE_FAILED, exit 3, and the cause as a blocker', async () => {
    const full = `hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}]
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 4}
  - {name: a-1, project: proj-a, host: compute-1, vcpus: 4}
projects: [{id: proj-a, auto_reply: ack}]
`;
    const { code, plan } = await dryRun(cloudFile(full));
    expect(code).toBe(EXIT.sessionFailed);
    expect(plan!.state).toBe('MAINTENANCE_FAILED');
    expect(plan!.moves).toEqual([]);
    expect(plan!.blockers).toHaveLength(1);
    expect(plan!.blockers[0]!.reason).toMatch(/no compute can be emptied/);

    // The same through the whole CLI: the plan is printed, then the error, and the exit code is 3.
    const io = bufferIO();
    const stateDir = join(root, 'state-cli');
    expect(await main(['--state-dir', stateDir, 'session', 'create', '--cloud', cloudFile(full), '--dry-run'], io)).toBe(EXIT.sessionFailed);
    expect(io.stdout()).toMatch(/^Rehearsal: MAINTENANCE_FAILED/);
    expect(io.stdout()).toMatch(/no compute can be emptied/);
    expect(io.stderr()).toMatch(/^maintctl: the rehearsal ended MAINTENANCE_FAILED: .*no compute can be emptied/);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('a host that does not come back is named; a NACK names its project', async () => {
    const failing = cloud(2, 1).replace('projects:', 'faults: [{host_fails: compute-1}]\nprojects:');
    const host = await dryRun(cloudFile(failing));
    expect(host.code).toBe(EXIT.sessionFailed);
    expect(host.plan!.blockers).toEqual([{ host: 'compute-1', reason: expect.any(String) }]);

    const nack = await dryRun(cloudFile(cloud(2, 1).replace('{id: proj-b, auto_reply: ack', '{id: proj-b, auto_reply: nack')));
    expect(nack.code).toBe(EXIT.sessionFailed);
    expect(nack.plan!.blockers).toEqual([{ host: null, reason: expect.stringMatching(/project proj-b .*NACK_MAINTENANCE/) }]);
  });

  it('a project nobody answers for whose policy is to fail ACKs in the rehearsal, and is a blocker (exit 3) unless subscribed', async () => {
    // proj-c is in no cloud file's projects: only a subscription in the state directory or a policy answers for it.
    const yaml = cloud(2, 1).replace(
      'projects:',
      '  - {id: id-c-0, name: c-0, project: proj-c, host: compute-0, vcpus: 2}\n  - {id: id-d-0, name: d-0, project: proj-d, host: compute-1, vcpus: 2}\nprojects:',
    );
    const path = cloudFile(yaml);
    const blocked = await dryRun(path, { unsubscribed: ['proj-d=live_migrate'] });
    expect(blocked.code).toBe(EXIT.sessionFailed);
    expect(blocked.plan!.state).toBe('MAINTENANCE_DONE');
    expect(blocked.plan!.blockers).toEqual([{ host: null, reason: 'project proj-c is not subscribed and its policy is to fail' }]);
    expect(blocked.plan!.moves.find((m) => m.name === 'd-0')!.action).toBe('LIVE_MIGRATE');
    expect(blocked.plan!.moves.find((m) => m.name === 'c-0')!.action).toBe('MIGRATE');

    // Subscribed in the real state directory: it answers itself, nothing blocks. The store is read, not written.
    const stateDir = join(root, 'state-subscribed');
    const client = new EmbeddedClient({ stateDir, startEngine: () => undefined });
    await client.subscribe({ projectId: 'proj-c', eventType: 'maintenance.planned', url: null, format: 'fenix', sessionId: null });
    client.close();
    const before = Object.fromEntries(readdirSync(stateDir).map((f) => [f, readFileSync(join(stateDir, f))]));
    const subscribed = await dryRun(path, { unsubscribed: ['proj-d=live_migrate'] }, stateDir);
    expect(subscribed.code).toBe(EXIT.ok);
    expect(subscribed.plan!.blockers).toEqual([]);
    expect(Object.fromEntries(readdirSync(stateDir).map((f) => [f, readFileSync(join(stateDir, f))]))).toEqual(before);
  });
});

describe('a rehearsal with application constraints', () => {
  it("honours the state directory's constraints and names the one that blocks, writing nothing", async () => {
    const yaml = [
      'hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]',
      'instances:',
      ...[0, 1, 2].map((c) => `  - {id: web-${c}, name: web-${c}, project: proj-a, host: compute-${c}, vcpus: 2}`),
      'projects: [{id: proj-a, auto_reply: ack, action: MIGRATE}]',
    ].join('\n');
    const path = cloudFile(yaml);
    expect((await dryRun(path)).plan!.state).toBe('MAINTENANCE_DONE');
    const stateDir = join(root, 'state-constraints');
    const store = Store.open(storePath(stateDir));
    putGroup(store, { groupId: 'g', projectId: 'proj-a', groupName: 'web', antiAffinityGroup: true, maxInstancesPerHost: 0, maxImpactedMembers: 1, recoveryTime: 0, resourceMitigation: false }, T0);
    for (const c of [0, 1, 2]) {
      putInstance(store, { instanceId: `web-${c}`, projectId: 'proj-a', groupId: 'g', instanceName: `web-${c}`, maxInterruptionTime: null, migrationType: null, resourceMitigation: false, leadTime: 0 }, T0);
    }
    store.close();
    const before = Object.fromEntries(readdirSync(stateDir).map((f) => [f, readFileSync(join(stateDir, f))]));
    const blocked = await dryRun(path, {}, stateDir);
    expect(blocked.code).toBe(EXIT.sessionFailed);
    expect(blocked.plan!.state).toBe('MAINTENANCE_FAILED');
    expect(blocked.plan!.blockers).toEqual([
      {
        host: 'compute-0',
        reason: 'no compute can be emptied: the instances on compute-0, compute-1, compute-2 do not fit on the hosts that may take them without breaking anti-affinity of instance group web (g) of project proj-a',
      },
    ]);
    expect(Object.fromEntries(readdirSync(stateDir).map((f) => [f, readFileSync(join(stateDir, f))]))).toEqual(before);
  });
});

describe('a rehearsal on OpenStack, through the real driver', () => {
  const { cloud: openstack, check } = fakeOpenStacks();
  afterEach(check);

  it('reads the cloud with GETs only and runs the session to DONE on the copy', async () => {
    const { get, servers, driver } = openstack();
    get('/servers/detail?all_tenants=1&limit=500', { servers: [servers.web1, servers.db] });
    const notes: string[] = [];
    const plan = await rehearse({ driver, request: { unsubscribed_policy: 'migrate' }, now: T0, onNote: (n) => notes.push(n.kind) });
    expect(plan.blockers).toEqual([]);
    expect(plan.state).toBe('MAINTENANCE_DONE');
    expect(plan.waves.flatMap((w) => w.hosts).sort()).toEqual(['compute-1', 'compute-2']);
    expect([...new Set(plan.moves.map((m) => m.instance_id))].sort()).toEqual([ID.web1, ID.db].sort());
    expect(plan.moves.every((m) => m.action === 'MIGRATE')).toBe(true);
    expect(plan.moves_per_instance).toBe(plan.moves.length / 2);
    expect(plan.predicted_duration_s).toBeGreaterThan(0);
    // compute-2 is disabled in Nova; the copy says so in a note.
    expect(notes).toEqual(['disabled_before']);
  });

  it("copies the session's hosts only, names the projects that would fail it, and the host it cannot empty", async () => {
    const { get, servers, driver } = openstack();
    get('/servers/detail?all_tenants=1&host=compute-1&limit=500', { servers: [servers.web2, servers.web1] });
    get('/servers/detail?all_tenants=1&host=compute-2&limit=500', { servers: [servers.db] });
    // compute-1 (6 vCPUs in the copy) is emptied onto compute-2, which is then too full to empty back.
    const plan = await rehearse({ driver, request: { hosts: ['compute-1', 'compute-2'] }, now: T0, subscribed: (p) => p === 'proj-b' });
    expect(plan.state).toBe('MAINTENANCE_FAILED');
    expect(plan.waves.map((w) => w.hosts)).toEqual([['compute-1']]);
    expect(plan.moves.map((m) => [m.name, m.from, m.to])).toEqual([
      ['web~2b000000', 'compute-1', 'compute-2'],
      ['web', 'compute-1', 'compute-2'],
    ]);
    expect(plan.blockers).toEqual([
      { host: null, reason: 'project proj-a is not subscribed and its policy is to fail' },
      { host: 'compute-2', reason: expect.stringMatching(/^no compute can be emptied/) },
    ]);
  });
});

describe('flags of --dry-run', () => {
  async function usage(args: string[]) {
    const io = bufferIO();
    const stateDir = join(root, `state-usage-${++files}`);
    const code = await main(['--state-dir', stateDir, 'session', 'create', '--cloud', 'nowhere.yaml', ...args], io);
    expect(existsSync(stateDir)).toBe(false);
    return { code, err: io.stderr() };
  }

  it('--timing reads any subset of migrate, live_migrate and host', () => {
    const parse = (timing: string) => parseCreateFlags({ metadata: [], action: [], download: [], unsubscribed: [], dryRun: true, timing }).dryRun;
    expect(parse('migrate=30s,live_migrate=10s,host=10m')).toEqual({ timing: { migrate_s: 30, live_migrate_s: 10, host_maintenance_s: 600 } });
    expect(parse('host=1h30m')).toEqual({ timing: { host_maintenance_s: 5400 } });
    expect(parse('live_migrate=250ms')).toEqual({ timing: { live_migrate_s: 0.25 } });
  });

  it('an unknown key, a bad duration, or --timing without --dry-run is a usage error naming what works', async () => {
    const unknown = await usage(['--dry-run', '--timing', 'migrate=30s,evacuate=1m']);
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.err).toMatch(/^maintctl: invalid --timing .*unknown key "evacuate": use migrate, live_migrate, host/);

    const bad = await usage(['--dry-run', '--timing', 'host=soon']);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toMatch(/^maintctl: invalid --timing host "soon": use a duration such as 90s/);

    const noValue = await usage(['--dry-run', '--timing', 'host']);
    expect(noValue.code).toBe(EXIT.usage);
    expect(noValue.err).toMatch(/use KEY=DURATION with KEY one of migrate, live_migrate, host/);

    const tooLong = await usage(['--dry-run', '--timing', 'host=200h']);
    expect(tooLong.code).toBe(EXIT.usage);
    expect(tooLong.err).toMatch(/--timing host "200h": at most 168h/);

    const alone = await usage(['--timing', 'host=10m']);
    expect(alone.code).toBe(EXIT.usage);
    expect(alone.err).toMatch(/--timing needs --dry-run/);
  });

  it('--dry-run with --wait is a usage error: a rehearsal always runs to its end', async () => {
    const r = await usage(['--dry-run', '--wait']);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/--dry-run always runs the rehearsal to its end: leave out --wait/);
  });
});
