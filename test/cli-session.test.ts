// maintctl session create/list/show/update/delete, run as a user would, twice: embedded over a
// fresh state directory per test, and remote against a `maintctl serve` of its own per test
// (test/support/cli-world.ts). Commands run in this process (main() with a buffer IO), and so do
// the engines; what needs a real process (colour detection on a pipe) runs the built CLI. Sessions
// run on real time, on sim clouds with zero timings, so they end within moments; the tests never
// sleep, they block on the CLI (`--wait`, `show --watch`) instead.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { cliEnv, maintctlIn, tempDir, writeIn } from './support/cli.js';
import { CLI_MODES, cliWorld, type CliMode, type CliWorld } from './support/cli-world.js';

const FENIX_REQUEST = join(__dirname, 'fixtures', 'fenix-create-session.json');
/** Worlds of every test, closed at the end (their engines and servers stopped). */
const worlds: CliWorld[] = [];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ONE_ERROR_LINE = /^maintctl: [^\n]+\n$/;
const WAIT = ['--wait', '--timeout', '20s']; // a stuck session fails the test (exit 4) rather than hanging it

const HOSTS = `hosts: [{name: ctl-0, type: controller}, {name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances: [{name: a-0, project: proj-a, host: compute-0, vcpus: 2}, {name: b-0, project: proj-b, host: compute-1, vcpus: 2}]
`;
const FAST = 'timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 0}\n';
const projects = (a: string, b = 'ack') =>
  `projects: [{id: proj-a, auto_reply: ${a}, action: MIGRATE, reply_delay_s: 0}, {id: proj-b, auto_reply: ${b}, action: LIVE_MIGRATE, reply_delay_s: 0}]\n`;

const QUICK_CLOUD = HOSTS + projects('ack') + FAST;
const NACK_CLOUD = HOSTS + projects('nack') + FAST;
const SILENT_CLOUD = HOSTS + projects('none') + FAST;
const SLOW_CLOUD = HOSTS + projects('ack') + 'timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 30}\n';
const FAULTY_CLOUD = QUICK_CLOUD + 'faults: [{migrate_fails: a-0}]\n';
const OPNFV_HOSTS = ['overcloud-novacompute-1.opnfvlf.org', 'overcloud-novacompute-2.opnfvlf.org', 'overcloud-novacompute-3.opnfvlf.org'];
const OPNFV_CLOUD = `hosts:
${OPNFV_HOSTS.map((h) => `  - {name: ${h}, vcpus: 4}`).join('\n')}
instances:
  - {name: vnf-0, project: proj-a, host: ${OPNFV_HOSTS[0]}, vcpus: 2}
  - {name: vnf-1, project: proj-a, host: ${OPNFV_HOSTS[1]}, vcpus: 2}
projects: [{id: proj-a, auto_reply: ack, action: MIGRATE, reply_delay_s: 0}]
${FAST}`;

type Doc = {
  session_id: string;
  state: string;
  maintenance_at: string;
  percent_done: number;
  failure: string | null;
  metadata: Record<string, unknown>;
  actions: Array<{ plugin: string; type: string; metadata: Record<string, unknown> }>;
  download: string[];
  hosts: Array<{ name: string; type: string; state: string; maintained: boolean; disabled: boolean }>;
  instances: Array<{ name: string; project_id: string; host: string }>;
  events: Array<{ event_type: string }>;
};
type Summary = { session_id: string; state: string; hosts_maintained: number; hosts_total: number };

/** Rows in the store, or null when the state directory has no store at all. */
function storeCounts(dir: string): Record<string, number> | null {
  const path = join(dir, 'maintctl.db');
  if (!existsSync(path)) return null;
  const db = new Database(path);
  try {
    const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { sessions: count('sessions'), sim_clouds: count('sim_clouds'), sim_hosts: count('sim_hosts'), sim_instances: count('sim_instances') };
  } finally {
    db.close();
  }
}

/** The same counts, all 0 when there is no store yet. */
const rowsIn = (dir: string) => storeCounts(dir) ?? { sessions: 0, sim_clouds: 0, sim_hosts: 0, sim_instances: 0 };

function disabledSimHosts(dir: string): string[] {
  const db = new Database(join(dir, 'maintctl.db'));
  try {
    return (db.prepare('SELECT name FROM sim_hosts WHERE enabled = 0 ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name);
  } finally {
    db.close();
  }
}

async function listJson(w: CliWorld): Promise<Summary[]> {
  const r = await w.run(['-o', 'json', 'session', 'list']);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(r.stdout) as Summary[];
}

async function showJson(w: CliWorld, id: string): Promise<Doc> {
  const r = await w.run(['-o', 'json', 'session', 'show', id]);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(r.stdout) as Doc;
}

/** Creates a session on the quick cloud and follows it to its end. */
async function quickSessionDone(w: CliWorld): Promise<Doc> {
  const cloud = w.cloud('quick.yaml', QUICK_CLOUD);
  const r = await w.run(['-o', 'json', 'session', 'create', '--cloud', cloud, ...WAIT]);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  const doc = JSON.parse(r.stdout) as Doc;
  expect(doc.state).toBe('MAINTENANCE_DONE');
  return doc;
}

function expectDone(doc: Doc): void {
  expect(doc.session_id).toMatch(UUID);
  expect(doc.state).toBe('MAINTENANCE_DONE');
  expect(doc.percent_done).toBe(100);
  expect(doc.failure).toBeNull();
  expect(doc.hosts.length).toBeGreaterThan(0);
  for (const h of doc.hosts) expect(h, h.name).toMatchObject({ state: 'MAINTAINED', maintained: true, disabled: false });
  expect(doc.events.length).toBeGreaterThan(0);
}

afterAll(async () => {
  await Promise.all(worlds.map((w) => w.close()));
});

// Every test has a world of its own: they all run side by side.
describe.each(CLI_MODES)('maintctl session (%s)', (mode) => {
  const world = async () => {
    const w = await cliWorld(mode);
    worlds.push(w);
    return w;
  };

  describe.concurrent('session create', () => {
    it('prints just the session id, and the session runs in the background to MAINTENANCE_DONE', async () => {
      const w = await world();
      const cloud = w.cloud('cloud.yaml', QUICK_CLOUD);
      const r = await w.run(['session', 'create', '--cloud', cloud]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^[0-9a-f-]{36}\n$/);
      const id = r.stdout.trim();
      expect(id).toMatch(UUID);

      // `show --watch` blocks until the session ends; -o json prints the final document.
      const watched = await w.run(['-o', 'json', 'session', 'show', id, '--watch']);
      expect(watched).toMatchObject({ code: 0, stderr: '' });
      expectDone(JSON.parse(watched.stdout) as Doc);
    });

    it('-o json prints {"session_id": ...}', async () => {
      const w = await world();
      const cloud = w.cloud('cloud.yaml', QUICK_CLOUD);
      const r = await w.run(['-o', 'json', 'session', 'create', '--cloud', cloud]);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const body = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(Object.keys(body)).toEqual(['session_id']);
      expect(body.session_id).toMatch(UUID);
      const end = await w.run(['-o', 'json', 'session', 'show', String(body.session_id), '--watch']);
      expect(end.code).toBe(0);
    });

    it('--wait follows to MAINTENANCE_DONE and -o json prints the final show document', async () => {
      const w = await world();
      const cloud = w.cloud('cloud.yaml', QUICK_CLOUD);
      const r = await w.run(['-o', 'json', 'session', 'create', '--cloud', cloud, ...WAIT]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const doc = JSON.parse(r.stdout) as Doc;
      expectDone(doc);
      expect(doc.hosts.map((h) => h.name).sort()).toEqual(['compute-0', 'compute-1', 'compute-2', 'ctl-0']);
      const computes = doc.hosts.filter((h) => h.type === 'compute');
      expect(computes).toHaveLength(3);
      for (const h of computes) expect(h, h.name).toMatchObject({ maintained: true, disabled: false });
      expect(doc.instances.map((i) => i.name).sort()).toEqual(['a-0', 'b-0']);
      expect(doc.events.at(-1)?.event_type).toBeTruthy();
      // The document --wait printed is the one `session show` gives afterwards.
      const shown = await showJson(w, doc.session_id);
      expect(shown.state).toBe('MAINTENANCE_DONE');
      expect(shown.events.length).toBe(doc.events.length);
    });

    it('--wait with the default table output prints the events and the final view', async () => {
      const w = await world();
      const cloud = w.cloud('cloud.yaml', QUICK_CLOUD);
      const r = await w.run(['session', 'create', '--cloud', cloud, ...WAIT]);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(/MAINTENANCE_COMPLETE -> MAINTENANCE_DONE \(100%\)/);
      expect(r.stdout).toMatch(/^State +MAINTENANCE_DONE +100% done/m);
      expect(r.stdout).toMatch(/^compute-1 +compute +MAINTAINED/m);
    });

    it('--wait -o yaml prints the final document as YAML', async () => {
      const w = await world();
      const cloud = w.cloud('cloud.yaml', QUICK_CLOUD);
      const r = await w.run(['-o', 'yaml', 'session', 'create', '--cloud', cloud, ...WAIT]);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout.trimStart().startsWith('{')).toBe(false); // YAML, not JSON
      expectDone(parseYaml(r.stdout) as Doc);
    });

    it('--wait exits 3 when a project NACKs, naming the project', async () => {
      const w = await world();
      const cloud = w.cloud('nack.yaml', NACK_CLOUD);
      const r = await w.run(['-o', 'json', 'session', 'create', '--cloud', cloud, ...WAIT]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(ONE_ERROR_LINE);
      const doc = JSON.parse(r.stdout) as Doc;
      expect(doc.state).toBe('MAINTENANCE_FAILED');
      // The hint works as pasted: it names the state directory (not the default one) or the server.
      expect(r.stderr).toBe(
        `maintctl: session ${doc.session_id} failed: project proj-a rejected MAINTENANCE (NACK_MAINTENANCE) ` +
          `(once the cause is fixed: maintctl ${w.hintFlags()} session update ${doc.session_id.slice(0, 8)})\n`,
      );
      expect(doc.failure).toMatch(/proj-a.*NACK/);
    });

    it('--wait exits 3 when a project does not answer by --reply-timeout', async () => {
      const w = await world();
      const cloud = w.cloud('silent.yaml', SILENT_CLOUD);
      const r = await w.run(['-o', 'json', 'session', 'create', '--cloud', cloud, '--reply-timeout', '0.3s', ...WAIT]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(ONE_ERROR_LINE);
      // proj-b answers at once, unless the machine is too busy for it to within the 0.3 s.
      expect(r.stderr).toMatch(/^maintctl: session [0-9a-f-]{36} failed: project proj-a(, proj-b)? did not answer MAINTENANCE by its deadline/);
      const doc = JSON.parse(r.stdout) as Doc;
      expect(doc.state).toBe('MAINTENANCE_FAILED');
      // Nothing was touched: no host maintained, none left disabled.
      for (const h of doc.hosts) expect(h, h.name).toMatchObject({ maintained: false, disabled: false });
    });

    it('--wait --timeout exits 4 while the session goes on; session delete stops it and enables its hosts again', async () => {
      const w = await world();
      const cloud = w.cloud('slow.yaml', SLOW_CLOUD);
      const r = await w.run(['session', 'create', '--cloud', cloud, '--wait', '--timeout', '200ms']);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(ONE_ERROR_LINE);
      const m = /^maintctl: session ([0-9a-f-]{36}) is still [A-Z_]+ after .*session show ([0-9a-f]{8}) --watch/.exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      const id = m![1]!;
      expect(m![2]).toBe(id.slice(0, 8));

      // Still running afterwards.
      const [summary] = await listJson(w);
      expect(summary?.session_id).toBe(id);
      expect(['MAINTENANCE_DONE', 'MAINTENANCE_FAILED']).not.toContain(summary?.state);
      const table = await w.run(['session', 'list']);
      expect(table.code).toBe(0);
      const row = new RegExp(`^${id} +([A-Z_]+) `, 'm').exec(table.stdout);
      expect(row, table.stdout).not.toBeNull();
      expect(['MAINTENANCE_DONE', 'MAINTENANCE_FAILED']).not.toContain(row![1]);

      // Hosts disabled now are among those delete enables again (it may disable more meanwhile).
      const before = await showJson(w, id);
      const disabledBefore = before.hosts.filter((h) => h.disabled).map((h) => h.name);
      const del = await w.run(['session', 'delete', id]);
      expect(del).toMatchObject({ code: 0, stderr: '' });
      const d = /^deleted session ([0-9a-f-]{36})(?:; enabled again: (.+))?\n$/.exec(del.stdout);
      expect(d, del.stdout).not.toBeNull();
      expect(d![1]).toBe(id);
      const reenabled = d![2] ? d![2].split(', ') : [];
      for (const h of disabledBefore) expect(reenabled).toContain(h);
      for (const h of reenabled) expect(['compute-0', 'compute-1', 'compute-2']).toContain(h);
      expect(disabledSimHosts(w.storeDir)).toEqual([]);

      const gone = await w.run(['session', 'show', id]);
      expect(gone).toEqual({ code: 5, stdout: '', stderr: `maintctl: no session ${id}\n` });
      expect(await listJson(w)).toEqual([]);
    });
  });

  describe.concurrent('session list and show', () => {
    it('lists sessions, shows one by id or prefix, with --instances, and tells ambiguous prefixes apart', async () => {
      const w = await world();
      const first = await quickSessionDone(w);
      const second = await quickSessionDone(w);
      const ids = [first.session_id, second.session_id];

      const table = await w.run(['session', 'list']);
      expect(table).toMatchObject({ code: 0, stderr: '' });
      expect(table.stdout).toMatch(/^ID +STATE +/);
      for (const id of ids) expect(table.stdout).toMatch(new RegExp(`^${id} +MAINTENANCE_DONE +default +4/4 `, 'm'));

      const list = await listJson(w);
      expect(list.map((s) => s.session_id)).toEqual(ids);
      for (const s of list) expect(s).toMatchObject({ state: 'MAINTENANCE_DONE', hosts_maintained: 4, hosts_total: 4 });

      const byId = await w.run(['session', 'show', ids[0]!]);
      expect(byId).toMatchObject({ code: 0, stderr: '' });
      expect(byId.stdout).toMatch(new RegExp(`^Session +${ids[0]}$`, 'm'));
      expect(byId.stdout).toMatch(/^State +MAINTENANCE_DONE +100% done/m);
      expect(byId.stdout).toMatch(/^ctl-0 +controller +MAINTAINED/m);
      // Without --instances there is no instance table (ids are random, so look for its header and rows).
      expect(byId.stdout).not.toMatch(/^INSTANCE +NAME/m);
      expect(byId.stdout).not.toMatch(/ a-0 +proj-a /);

      const byPrefix = await w.run(['session', 'show', ids[0]!.slice(0, 8)]);
      expect(byPrefix).toMatchObject({ code: 0, stderr: '' });
      expect(byPrefix.stdout).toMatch(new RegExp(`^Session +${ids[0]}$`, 'm'));
      expect((await showJson(w, ids[1]!.slice(0, 8))).session_id).toBe(ids[1]);

      const withInstances = await w.run(['session', 'show', ids[1]!, '--instances']);
      expect(withInstances).toMatchObject({ code: 0, stderr: '' });
      expect(withInstances.stdout).toMatch(/^INSTANCE +NAME +PROJECT +HOST/m);
      expect(withInstances.stdout).toMatch(/^[0-9a-f-]{36} +a-0 +proj-a +compute-\d/m);
      expect(withInstances.stdout).toMatch(/^[0-9a-f-]{36} +b-0 +proj-b +compute-\d/m);

      // A prefix two ids share is ambiguous; ids are random, so either there is one, or every
      // first character already tells them apart.
      let common = '';
      for (let i = 0; i < ids[0]!.length && ids[0]![i] === ids[1]![i]; i++) common += ids[0]![i];
      if (common) {
        const ambiguous = await w.run(['session', 'show', common]);
        const both = [...ids].sort().join(', ');
        expect(ambiguous).toEqual({ code: 2, stdout: '', stderr: `maintctl: session id prefix "${common}" is ambiguous: it matches ${both}; give more characters\n` });
      } else {
        for (const id of ids) expect((await showJson(w, id[0]!)).session_id).toBe(id);
      }
    });

    it('session show of an unknown id exits 5 with one line; an empty id exits 2', async () => {
      const w = await world();
      await quickSessionDone(w);
      const unknown = '00000000-0000-4000-8000-000000000000';
      expect(await w.run(['session', 'show', unknown])).toEqual({ code: 5, stdout: '', stderr: `maintctl: no session ${unknown}\n` });
      expect(await w.run(['-o', 'json', 'session', 'show', 'zzz'])).toEqual({ code: 5, stdout: '', stderr: 'maintctl: no session zzz\n' });
      expect(await w.run(['session', 'delete', 'zzz'])).toEqual({ code: 5, stdout: '', stderr: 'maintctl: no session zzz\n' });
      expect(await w.run(['session', 'update', 'zzz'])).toEqual({ code: 5, stdout: '', stderr: 'maintctl: no session zzz\n' });
      const empty = await w.run(['session', 'show', '']);
      expect(empty.code).toBe(2);
      expect(empty.stderr).toMatch(ONE_ERROR_LINE);
    });

  });

  describe.concurrent('session update', () => {
    it('continues a failed session once the cause is fixed, and refuses a finished one', async () => {
      const w = await world();
      const cloud = w.cloud('faulty.yaml', FAULTY_CLOUD);
      const failed = await w.run(['-o', 'json', 'session', 'create', '--cloud', cloud, ...WAIT]);
      expect(failed.code).toBe(3);
      expect(failed.stderr).toMatch(ONE_ERROR_LINE);
      const doc = JSON.parse(failed.stdout) as Doc;
      expect(doc.state).toBe('MAINTENANCE_FAILED');
      expect(failed.stderr).toMatch(new RegExp(`^maintctl: session ${doc.session_id} failed: .*instance a-0 .*failed`));
      expect(doc.instances.map((i) => i.name).sort()).toEqual(['a-0', 'b-0']);

      // The operator fixes the cause (the simulated migration no longer fails) with the engine stopped.
      await w.restart(() => {
        const db = new Database(join(w.storeDir, 'maintctl.db'));
        try {
          expect(db.prepare("UPDATE sim_clouds SET faults = '[]' WHERE faults != '[]'").run().changes).toBe(1);
        } finally {
          db.close();
        }
      });

      const updated = await w.run(['-o', 'json', 'session', 'update', doc.session_id.slice(0, 8), ...WAIT]);
      expect(updated).toMatchObject({ code: 0, stderr: '' });
      const end = JSON.parse(updated.stdout) as Doc;
      expect(end.session_id).toBe(doc.session_id);
      expectDone(end);
      expect(end.instances.map((i) => i.name).sort()).toEqual(['a-0', 'b-0']);
      expect((await listJson(w)).map((s) => s.state)).toEqual(['MAINTENANCE_DONE']);

      const refused = await w.run(['session', 'update', doc.session_id]);
      expect(refused).toEqual({
        code: 6,
        stdout: '',
        stderr: `maintctl: session ${doc.session_id} is MAINTENANCE_DONE: only a failed session can be continued\n`,
      });
      expect((await showJson(w, doc.session_id)).state).toBe('MAINTENANCE_DONE');
    });
  });

  describe.concurrent('invalid input: one line on stderr, nothing stored, no engine started', () => {
    /** A case `only` one mode has is about what that mode alone does (the CLI reading cloud files). */
    const cases: Array<{ name: string; only?: CliMode; args: (w: CliWorld) => string[]; code?: number; stderr: (w: CliWorld) => RegExp | string }> = [
      {
        name: 'a date that does not exist in --at',
        args: (w) => ['session', 'create', '--cloud', w.cloud('c.yaml', QUICK_CLOUD), '--at', '2018-02-30'],
        stderr: () => /^maintctl: invalid --at: "2018-02-30": use "YYYY-MM-DD HH:MM:SS"/,
      },
      {
        name: 'an unknown plug-in type',
        args: (w) => ['session', 'create', '--cloud', w.cloud('c.yaml', QUICK_CLOUD), '--action', 'hostx:dummy'],
        stderr: () => 'maintctl: invalid --action "hostx:dummy": type "hostx" is not one of pre, host, post, compute, controller\n',
      },
      {
        name: 'an unknown plug-in name',
        args: (w) => ['session', 'create', '--cloud', w.cloud('c.yaml', QUICK_CLOUD), '--action', 'host:esw_upgrade'],
        stderr: (w) =>
          `maintctl: unknown action plug-in "esw_upgrade": it is not a built-in (dummy, shell, ssh, wait) and no executable of that name is in ${join(w.storeDir, 'plugins')}: add an executable there or give its directory with --plugin-dir DIR\n`,
      },
      {
        name: '--metadata without a value',
        args: (w) => ['session', 'create', '--cloud', w.cloud('c.yaml', QUICK_CLOUD), '--metadata', 'novalue'],
        stderr: () => /^maintctl: invalid --metadata "novalue": use KEY=VALUE/,
      },
      {
        name: 'a cloud file that does not exist',
        only: 'embedded',
        args: (w) => ['session', 'create', '--cloud', join(w.dir, 'nope.yaml')],
        stderr: (w) => `maintctl: cloud file ${join(w.dir, 'nope.yaml')} does not exist\n`,
      },
      {
        name: 'a cloud the server does not have',
        only: 'remote',
        args: (w) => ['session', 'create', '--cloud', join(w.dir, 'nope.yaml')],
        stderr: (w) => `maintctl: no cloud named "${join(w.dir, 'nope.yaml')}" on this server: name one of (none is served)\n`,
      },
      {
        name: 'a cloud file with an instance on an unknown host',
        only: 'embedded',
        args: (w) => ['session', 'create', '--cloud', w.cloud('bad.yaml', QUICK_CLOUD.replace('host: compute-1', 'host: compute-9'))],
        stderr: (w) => `maintctl: invalid cloud file ${join(w.dir, 'bad.yaml')}: instances[1].host: no host named "compute-9"\n`,
      },
      {
        name: 'no --cloud at all',
        args: () => ['session', 'create'],
        stderr: (w) =>
          w.mode === 'embedded'
            ? /^maintctl: no infrastructure to maintain: give --cloud openstack\[:NAME\] or --cloud FILE/
            : 'maintctl: this server has no default cloud: name one with "cloud" (none is served)\n',
      },
      {
        name: '--hosts naming a host the cloud does not have',
        args: (w) => ['session', 'create', '--cloud', w.cloud('c.yaml', QUICK_CLOUD), '--hosts', 'compute-9'],
        stderr: () => 'maintctl: unknown host compute-9: the infrastructure has compute-0, compute-1, compute-2, ctl-0\n',
      },
      {
        name: '-o xml',
        args: (w) => ['-o', 'xml', 'session', 'create', '--cloud', w.cloud('c.yaml', QUICK_CLOUD)],
        stderr: () => 'maintctl: invalid -o "xml": use table, json or yaml\n',
      },
      {
        name: 'an unknown flag',
        args: (w) => ['session', 'create', '--cloud', w.cloud('c.yaml', QUICK_CLOUD), '--bogus'],
        stderr: () => /^maintctl: unknown option '--bogus'/,
      },
      {
        name: '--timeout without --wait',
        args: (w) => ['session', 'create', '--cloud', w.cloud('c.yaml', QUICK_CLOUD), '--timeout', '5s'],
        stderr: () => 'maintctl: --timeout needs --wait\n',
      },
      {
        name: '-f with a JSON file that is not an object',
        args: (w) => ['session', 'create', '--cloud', w.cloud('c.yaml', QUICK_CLOUD), '-f', writeIn(w.dir, 'list.json', '["compute-0"]\n')],
        stderr: (w) => `maintctl: request file ${join(w.dir, 'list.json')} is not a JSON object: not an object\n`,
      },
      {
        name: '-f combined with --hosts',
        args: (w) => ['session', 'create', '--cloud', w.cloud('c.yaml', QUICK_CLOUD), '-f', FENIX_REQUEST, '--hosts', 'compute-0'],
        stderr: () => /^maintctl: -f FILE is the whole request: give the other session fields in the file, not as flags\n$/,
      },
      {
        name: 'a request body with a field Fenix does not have',
        args: (w) => {
          const request = writeIn(w.dir, 'req.json', JSON.stringify({ hosts: [], state: 'MAINTENANCE', bogus_field: 1 }));
          return ['session', 'create', '--cloud', w.cloud('c.yaml', QUICK_CLOUD), '-f', request];
        },
        stderr: () => /^maintctl: .*bogus_field/,
      },
    ];

    for (const c of cases.filter((c) => !c.only || c.only === mode)) {
      it(c.name, async () => {
        const w = await world();
        const args = c.args(w);
        await w.run(['session', 'list']); // the server (remotely) up with the test's clouds: the store as it is before
        const before = rowsIn(w.storeDir);
        const r = await w.run(args);
        expect(r.code).toBe(c.code ?? 2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(ONE_ERROR_LINE);
        const want = c.stderr(w);
        if (typeof want === 'string') expect(r.stderr).toBe(want);
        else expect(r.stderr).toMatch(want);
        expect(rowsIn(w.storeDir)).toEqual(before);
        expect(before.sessions).toBe(0);
        if (mode === 'embedded') expect(existsSync(join(w.storeDir, 'engine.lock'))).toBe(false);
      });
    }

    it('-f with a file that is not JSON exits 2 and stores nothing', async () => {
      // Left out: a file whose first ten characters hold a line break (block-style YAML such as
      // "hosts:\n  - compute-0") gets a two-line message, because JSON.parse's error quotes them.
      const w = await world();
      const file = writeIn(w.dir, 'request.yaml', 'hosts: [compute-0]\nstate: MAINTENANCE\n');
      const cloud = w.cloud('c.yaml', QUICK_CLOUD);
      await w.run(['session', 'list']);
      const before = storeCounts(w.storeDir);
      const r = await w.run(['session', 'create', '--cloud', cloud, '-f', file]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(ONE_ERROR_LINE);
      expect(r.stderr.startsWith(`maintctl: request file ${file} is not a JSON object: `)).toBe(true);
      expect(storeCounts(w.storeDir)).toEqual(before); // none at all, embedded
    });

    it('a refused request leaves an existing store exactly as it was', async () => {
      const w = await world();
      await quickSessionDone(w);
      const before = storeCounts(w.storeDir);
      expect(before).toEqual({ sessions: 1, sim_clouds: 1, sim_hosts: 4, sim_instances: 2 });
      const cloud = join(w.dir, 'quick.yaml');
      const refusals = [
        ['session', 'create', '--cloud', cloud, '--action', 'host:esw_upgrade'],
        ['session', 'create', '--cloud', cloud, '--hosts', 'compute-0,compute-9'],
        ['session', 'create', '--cloud', cloud, '--workflow', 'nosuchflow'],
      ];
      // A server reads its cloud files when it starts, not per request.
      if (mode === 'embedded') refusals.push(['session', 'create', '--cloud', w.cloud('bad.yaml', QUICK_CLOUD.replace('host: compute-0', 'host: ctl-0'))]);
      for (const args of refusals) {
        const r = await w.run(args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr, args.join(' ')).toMatch(ONE_ERROR_LINE);
        expect(storeCounts(w.storeDir), args.join(' ')).toEqual(before);
      }
      expect((await listJson(w)).map((s) => s.state)).toEqual(['MAINTENANCE_DONE']);
    });
  });

  describe.concurrent('the Fenix create request (-f) and request flags', () => {
    it('understands the Fenix example body field by field and refuses only the plug-ins it does not have', async () => {
      const w = await world();
      const cloud = w.cloud('opnfv.yaml', OPNFV_CLOUD);
      // Without its plug-in bundle (plugins1.tar.gz), the example names plug-ins found nowhere.
      const body = JSON.parse(readFileSync(FENIX_REQUEST, 'utf8')) as { download: string[]; maintenance_at: string };
      const unbundled = writeIn(w.dir, 'unbundled.json', JSON.stringify({ ...body, download: body.download.slice(0, 2) }));
      const r = await w.run(['session', 'create', '--cloud', cloud, '-f', unbundled]);
      expect(r).toEqual({
        code: 2,
        stdout: '',
        stderr: `maintctl: unknown action plug-in "prepare", "esw_upgrade", "os_upgrade", "finalize": it is not a built-in (dummy, shell, ssh, wait) and no executable of that name is in ${join(w.storeDir, 'plugins')}: add an executable there or give its directory with --plugin-dir DIR\n`,
      });
      expect(rowsIn(w.storeDir).sessions).toBe(0);
      // With it they may come from the bundle: accepted, and looked for once it is unpacked (far in the future here).
      const later = writeIn(w.dir, 'later.json', JSON.stringify({ ...body, maintenance_at: '2099-01-01 00:00:00' }));
      const accepted = await w.run(['-o', 'json', 'session', 'create', '--cloud', cloud, '-f', later]);
      expect(accepted.code, accepted.stderr).toBe(0);
      const id = (JSON.parse(accepted.stdout) as Doc).session_id;
      expect((await showJson(w, id)).download).toEqual(body.download);
      expect((await w.run(['session', 'delete', id])).code).toBe(0);
    });

    it('runs the same body with every plug-in replaced by dummy to MAINTENANCE_DONE', async () => {
      const w = await world();
      const cloud = w.cloud('opnfv.yaml', OPNFV_CLOUD);
      const body = JSON.parse(readFileSync(FENIX_REQUEST, 'utf8')) as { actions: Array<{ plugin: string }>; download: string[] };
      for (const a of body.actions) a.plugin = 'dummy';
      body.download = []; // downloads are fetched (test/downloads.test.ts): none from the example's made-up server
      const request = writeIn(w.dir, 'request.json', JSON.stringify(body, null, 4));

      const r = await w.run(['session', 'create', '--cloud', cloud, '-f', request, ...WAIT]);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const id = (await listJson(w))[0]!.session_id;
      const doc = await showJson(w, id);
      expectDone(doc);
      expect(doc.metadata).toEqual({ openstack_release: 'Queens' });
      expect(doc.maintenance_at).toBe('2018-02-28 06:06:03');
      expect(doc.actions).toEqual([
        { plugin: 'dummy', type: 'pre', metadata: {} },
        { plugin: 'dummy', type: 'host', metadata: { upgrade: 'ESW1' } },
        { plugin: 'dummy', type: 'host', metadata: { upgrade: 'SW1' } },
        { plugin: 'dummy', type: 'post', metadata: {} },
      ]);
      expect(doc.download).toEqual([]);
      expect(doc.hosts.map((h) => h.name)).toEqual(OPNFV_HOSTS);
      expect(doc.instances.map((i) => i.name).sort()).toEqual(['vnf-0', 'vnf-1']);
    });

    it('--metadata (repeated) and --action TYPE:PLUGIN:K=V end up in session show', async () => {
      const w = await world();
      const cloud = w.cloud('cloud.yaml', QUICK_CLOUD);
      const r = await w.run([
        '-o', 'json', 'session', 'create', '--cloud', cloud,
        '--metadata', 'openstack_release=Queens', '--metadata', 'ticket=CHG-42', '--metadata', 'note=a=b',
        '--action', 'host:dummy:upgrade=SW1,reboot=yes', '--action', 'pre:dummy',
        '--at', '2018-02-28 06:06:03',
        ...WAIT,
      ]);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const id = (JSON.parse(r.stdout) as Doc).session_id;
      const doc = await showJson(w, id);
      expectDone(doc);
      expect(doc.metadata).toEqual({ openstack_release: 'Queens', ticket: 'CHG-42', note: 'a=b' });
      expect(doc.actions).toEqual([
        { plugin: 'dummy', type: 'host', metadata: { upgrade: 'SW1', reboot: 'yes' } },
        { plugin: 'dummy', type: 'pre', metadata: {} },
      ]);
      expect(doc.maintenance_at).toBe('2018-02-28 06:06:03');
    });
  });
});

// What only a real process shows: whether stdout is a terminal decides colour.
describe('maintctl session, as a process', () => {
  it('output for scripts carries no ANSI escapes when piped, even with FORCE_COLOR set', async () => {
    const dir = tempDir('maintctl-session-');
    const env = cliEnv({ FORCE_COLOR: '1', NO_COLOR: undefined });
    const cloud = writeIn(dir, 'cloud.yaml', NACK_CLOUD);
    const failed = await maintctlIn(dir, ['session', 'create', '--cloud', cloud, ...WAIT], env);
    expect(failed.code).toBe(3);
    const list = await maintctlIn(dir, ['-o', 'json', 'session', 'list'], env);
    const id = (JSON.parse(list.stdout) as Summary[])[0]!.session_id;
    for (const args of [['session', 'list'], ['session', 'show', id], ['session', 'show', id, '--instances'], ['-o', 'yaml', 'session', 'show', id]]) {
      const r = await maintctlIn(dir, args, env);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).not.toContain('\x1b');
    }
    expect(failed.stdout).not.toContain('\x1b');
    expect(failed.stderr).not.toContain('\x1b');
    expect(failed.stdout).toMatch(/MAINTENANCE_FAILED/);
  });
});
