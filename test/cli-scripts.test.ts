// What scripts and people meet after their first session: documents on time-outs, hints that
// work as pasted, prefixes and states as typed, the events of a session, what no engine means.
import { spawnSync } from 'node:child_process';
import { readFileSync, symlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cliEnv, maintctlIn, start, tempDir, writeIn } from './support/cli.js';
import { CLI_MODES, cliWorld } from './support/cli-world.js';

const COMPUTES = (n: number) => Array.from({ length: n }, (_, i) => `{name: compute-${i}, vcpus: 4}`).join(', ');
const QUICK = `hosts: [${COMPUTES(3)}]
instances: [{name: a-0, project: proj-a, host: compute-0, vcpus: 2}]
projects: [{id: proj-a, auto_reply: ack, reply_delay_s: 0}]
timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 0}
`;
/** Each host takes 1 s, one after the other: a session of three lasts long enough to time out a --wait of 1 s. */
const SLOW = QUICK.replace('host_maintenance_s: 0', 'host_maintenance_s: 1');
const WAIT = ['--wait', '--timeout', '60s'];

type Doc = { session_id: string; state: string; hosts: Array<{ name: string; disabled: boolean }>; events: Array<{ event_type: string }> };

async function create(dir: string, cloudYaml: string, args: string[] = []): Promise<string> {
  const cloud = writeIn(dir, `cloud-${Math.random().toString(36).slice(2)}.yaml`, cloudYaml);
  const r = await maintctlIn(dir, ['-o', 'json', 'session', 'create', '--cloud', cloud, ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as Doc).session_id;
}

/** Returns once a host of the session is in maintenance (so its computes are disabled), as `session events --follow` shows. */
async function untilInMaintenance(dir: string, id: string): Promise<void> {
  const follower = start(['--state-dir', dir, 'session', 'events', id, '--follow']);
  try {
    await follower.waitFor(/host {7}compute-\d IN_MAINTENANCE/);
  } finally {
    follower.stop();
  }
}

/** `maintctl` on the PATH, as an installed one is, to run hints as pasted. */
function shellWithMaintctl(): (line: string) => { code: number | null; stdout: string; stderr: string } {
  const bin = join(tempDir('maintctl-bin-'), 'bin');
  mkdirSync(bin);
  symlinkSync(BIN, join(bin, 'maintctl'));
  const env = cliEnv({ PATH: `${bin}:${join(process.execPath, '..')}:${process.env.PATH ?? ''}` });
  return (line) => {
    const r = spawnSync('sh', ['-c', line], { env, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}

describe('scripts', () => {
  it('-o json --wait that times out exits 4 with the document on stdout and a hint that works as pasted', async () => {
    const dir = tempDir();
    const cloud = writeIn(dir, 'slow.yaml', SLOW);
    const r = await maintctlIn(dir, ['-o', 'json', 'session', 'create', '--cloud', cloud, '--wait', '--timeout', '1s']);
    expect(r.code).toBe(4);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.state).not.toMatch(/MAINTENANCE_(DONE|FAILED)/);
    const hint = /follow it with: (maintctl [^)]+)\)/.exec(r.stderr)?.[1];
    expect(hint).toBe(`maintctl --state-dir ${dir} session show ${doc.session_id.slice(0, 8)} --watch`);
    const pasted = shellWithMaintctl()(`${hint!} -o json`);
    expect(pasted.stderr).toBe('');
    expect((JSON.parse(pasted.stdout) as Doc).state).toBe('MAINTENANCE_DONE');
  });

  it('--timeout 0 is refused like the other durations, before anything is stored', async () => {
    const dir = tempDir();
    const cloud = writeIn(dir, 'cloud.yaml', QUICK);
    const r = await maintctlIn(dir, ['session', 'create', '--cloud', cloud, '--wait', '--timeout', '0']);
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'maintctl: invalid --timeout "0": it must be more than zero, e.g. --timeout 10m\n' });
    expect((await maintctlIn(dir, ['session', 'list'])).code).toBe(5); // no store was made
  });

  it('empty values and out-of-range numbers get one line in maintctl\'s words', async () => {
    const dir = tempDir();
    const cases: Array<[string[], string]> = [
      [['project', 'subscribe', ''], 'empty project: give a project id'],
      [['project', 'subscribe', 'proj-a', '--url', ''], 'empty value for --url: give a value'],
      [['session', 'show', ' '], 'empty id: give a session id or prefix'],
    ];
    for (const [args, message] of cases) expect(await maintctlIn(dir, args)).toEqual({ code: 2, stdout: '', stderr: `maintctl: ${message}\n` });
    const huge = writeIn(dir, 'huge.yaml', 'hosts: [{name: compute-0, vcpus: 1e20}]\n');
    const r = await maintctlIn(dir, ['session', 'create', '--cloud', huge]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`maintctl: invalid cloud file ${huge}: hosts[0].vcpus: too large: give a whole number of at most 9,007,199,254,740,991\n`);
  });
});

// In this process, embedded and remote alike (test/support/cli-world.ts).
describe.each(CLI_MODES)('ids (%s)', (mode) => {
  it('an ambiguous prefix lists the ids it matches; prefixes are taken in any case', async () => {
    const w = await cliWorld(mode);
    try {
      // Seventeen sessions: at least two share their first character (there are sixteen).
      const cloud = w.cloud('cloud.yaml', QUICK.replace(COMPUTES(3), COMPUTES(17)));
      const ids: string[] = [];
      for (let i = 0; i < 17; i++) {
        const r = await w.run(['session', 'create', '--cloud', cloud, '--hosts', `compute-${i}`]);
        expect(r.stderr).toBe('');
        ids.push(r.stdout.trim());
      }
      const first = ids.map((id) => id[0]!).find((c, i, all) => all.indexOf(c) !== i)!;
      const sharing = ids.filter((id) => id.startsWith(first)).sort();
      const r = await w.run(['session', 'show', first.toUpperCase()]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`maintctl: session id prefix "${first.toUpperCase()}" is ambiguous: it matches ${sharing.slice(0, 10).join(', ')}${sharing.length > 10 ? ' and more' : ''}; give more characters\n`);
      const upper = await w.run(['-o', 'json', 'session', 'show', ids[0]!.slice(0, 13).toUpperCase()]);
      expect(upper.stderr).toBe('');
      expect((JSON.parse(upper.stdout) as Doc).session_id).toBe(ids[0]);
    } finally {
      await w.close();
    }
  });
});

describe('people', () => {
  it('session list --state S lists the sessions in that state, in any case', async () => {
    const dir = tempDir();
    const done = await create(dir, QUICK, WAIT);
    const failed = writeIn(dir, 'nack.yaml', QUICK.replace('auto_reply: ack', 'auto_reply: nack'));
    const r = await maintctlIn(dir, ['-o', 'json', 'session', 'create', '--cloud', failed, ...WAIT]);
    const failedId = (JSON.parse(r.stdout) as Doc).session_id;
    const list = async (state: string) => (JSON.parse((await maintctlIn(dir, ['-o', 'json', 'session', 'list', '--state', state])).stdout) as Doc[]).map((s) => s.session_id);
    expect(await list('maintenance_failed')).toEqual([failedId]);
    expect(await list('MAINTENANCE_DONE')).toEqual([done]);
    expect((await maintctlIn(dir, ['session', 'list', '--state', 'SCALE_IN'])).stdout).toBe('No sessions in SCALE_IN.\n');
    const bad = await maintctlIn(dir, ['session', 'list', '--state', 'done']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^maintctl: invalid --state "done": use one of MAINTENANCE, SCALE_IN, .*MAINTENANCE_FAILED\n$/);
  });

  it('session events prints the event lines; --follow prints each new one once, until the session ends', async () => {
    const dir = tempDir();
    const id = await create(dir, SLOW);
    const follower = start(['--state-dir', dir, 'session', 'events', id.slice(0, 8), '--follow']);
    expect(await follower.ended()).toBe(0);
    const lines = follower.lines.filter(Boolean);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z {2}session {4}MAINTENANCE \(0%\)$/);
    expect(lines.at(-1)).toMatch(/session {4}MAINTENANCE_COMPLETE -> MAINTENANCE_DONE \(100%\)$/);
    expect(lines.filter((l) => l.includes('host       compute-1 MAINTENANCE_COMPLETE'))).toHaveLength(1);
    expect(new Set(lines).size).toBe(lines.length); // nothing printed twice
    // Afterwards, the same lines at once; -o json gives every event.
    const again = await maintctlIn(dir, ['session', 'events', id]);
    expect(again.stdout.trim().split('\n')).toEqual(lines);
    const json = JSON.parse((await maintctlIn(dir, ['-o', 'json', 'session', 'events', id])).stdout) as Array<{ id: number; event_type: string }>;
    const doc = JSON.parse((await maintctlIn(dir, ['-o', 'json', 'session', 'show', id])).stdout) as Doc;
    expect(json.map((e) => e.event_type)).toEqual(doc.events.map((e) => e.event_type));
  });

  it('session show says when no engine runs an active session, and how to start one', async () => {
    const dir = tempDir();
    const id = await create(dir, SLOW.replace('host_maintenance_s: 1', 'host_maintenance_s: 600'));
    await untilInMaintenance(dir, id);
    const pid = Number(readFileSync(join(dir, 'engine.lock'), 'utf8'));
    const running = await maintctlIn(dir, ['session', 'show', id]);
    expect(running.stdout).not.toMatch(/No engine/);
    process.kill(pid, 'SIGKILL'); // the engine this test's session create started
    // The kernel ends the process a moment after the signal (later on a busy machine, in the middle
    // of a write): look again, a bounded number of times (enough for its 30 s lease to lapse), until the engine is gone.
    let stopped = await maintctlIn(dir, ['session', 'show', id]);
    for (let tries = 0; tries < 150 && !stopped.stdout.includes('No engine'); tries++) stopped = await maintctlIn(dir, ['session', 'show', id]);
    expect(stopped.stdout.trim().split('\n').at(-1)).toBe(
      `No engine is running this session, so it does not progress. Start one: maintctl --state-dir ${dir} engine ` +
        `(in the foreground), or maintctl --state-dir ${dir} session show ${id.slice(0, 8)} --watch (starts one in the background).`,
    );
    const deleted = await maintctlIn(dir, ['session', 'delete', id]);
    expect(deleted.code).toBe(0);
  });

  it('update --wait shows only what happens from the update on', async () => {
    const dir = tempDir();
    const faulty = writeIn(dir, 'faulty.yaml', `${QUICK}faults: [{host_fails: compute-1}]\n`);
    const first = await maintctlIn(dir, ['session', 'create', '--cloud', faulty, ...WAIT]);
    expect(first.code).toBe(3);
    const id = /^maintctl: session (\S+) failed/m.exec(first.stderr)![1]!;
    expect(first.stdout).toMatch(/^\+\S+ {2}session {4}MAINTENANCE \(0%\)$/m);
    const fixed = writeIn(dir, 'fixed.yaml', QUICK);
    const r = await maintctlIn(dir, ['session', 'update', id, '--cloud', fixed, ...WAIT]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => /^\+\d\d:/.test(l));
    expect(lines[0]).toMatch(/session {4}MAINTENANCE_FAILED -> [A-Z_]+ /);
    expect(r.stdout).not.toMatch(/session {4}MAINTENANCE \(0%\)/);
    expect(r.stdout).toMatch(/MAINTENANCE_COMPLETE -> MAINTENANCE_DONE \(100%\)/);
  });

  it('delete --keep-disabled lists the hosts it left disabled', async () => {
    const dir = tempDir();
    const id = await create(dir, SLOW.replace('host_maintenance_s: 1', 'host_maintenance_s: 600'));
    await untilInMaintenance(dir, id);
    const doc = JSON.parse((await maintctlIn(dir, ['-o', 'json', 'session', 'show', id])).stdout) as Doc;
    const disabled = doc.hosts.filter((h) => h.disabled).map((h) => h.name);
    expect(disabled.length).toBeGreaterThan(0);
    const r = await maintctlIn(dir, ['session', 'delete', id, '--keep-disabled']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`deleted session ${id}; left disabled: ${disabled.join(', ')}\n`);
  });
});
