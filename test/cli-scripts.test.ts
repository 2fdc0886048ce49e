// What scripts and people meet after their first session: documents on time-outs, hints that
// work as pasted, prefixes and states as typed, the events of a session, what no engine means.
// In this process, embedded and remote alike (main() with a buffer IO, test/support/cli-world.ts);
// what needs a real process is said at each test that has one. A session that must last does so
// without a clock: its project does not answer until the test lets an agent answer (a 30 minute
// deadline), or its hosts take ten minutes each and the test deletes it.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cliEnv, start, tempDir, type Running } from './support/cli.js';
import { CLI_MODES, cliWorld, type CliMode, type CliWorld } from './support/cli-world.js';

const COMPUTES = (n: number) => Array.from({ length: n }, (_, i) => `{name: compute-${i}, vcpus: 4}`).join(', ');
const QUICK = `hosts: [${COMPUTES(3)}]
instances: [{name: a-0, project: proj-a, host: compute-0, vcpus: 2}]
projects: [{id: proj-a, auto_reply: ack, reply_delay_s: 0}]
timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 0}
`;
/** proj-a answers nothing by itself: the session waits for it (a `project agent`), up to its --reply-timeout. */
const SILENT = QUICK.replace('auto_reply: ack', 'auto_reply: none');
const PATIENT = ['--reply-timeout', '30m'];
/** Each host takes ten minutes: the session is in maintenance until the test deletes it. */
const LONG = QUICK.replace('host_maintenance_s: 0', 'host_maintenance_s: 600');
const WAIT = ['--wait', '--timeout', '60s'];

type Doc = { session_id: string; state: string; hosts: Array<{ name: string; disabled: boolean }>; events: Array<{ event_type: string }> };

/** Worlds of every test, closed at the end (their engines and servers stopped, sessions left deleted). */
const worlds: CliWorld[] = [];
afterAll(async () => {
  await Promise.all(worlds.map((w) => w.close()));
});

async function world(mode: CliMode, options?: Parameters<typeof cliWorld>[1]): Promise<CliWorld> {
  const w = await cliWorld(mode, options);
  worlds.push(w);
  return w;
}

async function create(w: CliWorld, cloud: string, args: string[] = []): Promise<string> {
  const r = await w.run(['-o', 'json', 'session', 'create', '--cloud', cloud, ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as Doc).session_id;
}

/** A session on the silent cloud whose `create --wait` timed out (exit 4): the document, and the hint printed with it. */
async function timedOut(w: CliWorld): Promise<{ doc: Doc; hint: string | undefined }> {
  const cloud = w.cloud('silent.yaml', SILENT);
  const r = await w.run(['-o', 'json', 'session', 'create', '--cloud', cloud, ...PATIENT, '--wait', '--timeout', '1s']);
  expect(r.code).toBe(4);
  const doc = JSON.parse(r.stdout) as Doc;
  expect(doc.state).not.toMatch(/MAINTENANCE_(DONE|FAILED)/);
  return { doc, hint: /follow it with: (maintctl [^)]+)\)/.exec(r.stderr)?.[1] };
}

/** proj-a's agent, answering ACK for the rest of the session (it ends with it). */
const agentFor = (w: CliWorld, id: string) => w.start(['project', 'agent', 'proj-a', '--session', id, '--policy', 'ack']);

/** `maintctl` on the PATH, as an installed one is, to run hints as pasted. */
function shellWithMaintctl(): (line: string) => Promise<{ stdout: string; stderr: string }> {
  const bin = join(tempDir('maintctl-bin-'), 'bin');
  mkdirSync(bin);
  symlinkSync(BIN, join(bin, 'maintctl'));
  const env = cliEnv({ PATH: `${bin}:${join(process.execPath, '..')}:${process.env.PATH ?? ''}` });
  return (line) => promisify(execFile)('sh', ['-c', line], { env, encoding: 'utf8', timeout: 60_000 });
}

describe.concurrent.each(CLI_MODES)('scripts (%s)', (mode) => {
  it('-o json --wait that times out exits 4 with the document on stdout and a hint to follow it', async () => {
    const w = await world(mode);
    const { doc, hint } = await timedOut(w);
    expect(hint).toBe(`maintctl ${w.hintFlags()} session show ${doc.session_id.slice(0, 8)} --watch`);
    expect((await w.run(['session', 'delete', doc.session_id])).code).toBe(0);
  });

  it('--timeout 0 is refused like the other durations, before anything is stored', async () => {
    const w = await world(mode);
    const cloud = w.cloud('cloud.yaml', QUICK);
    const r = await w.run(['session', 'create', '--cloud', cloud, '--wait', '--timeout', '0']);
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'maintctl: invalid --timeout "0": it must be more than zero, e.g. --timeout 10m\n' });
    const list = await w.run(['-o', 'json', 'session', 'list']);
    if (mode === 'embedded') expect(list.code).toBe(5); // no store was made
    else expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it("empty values and out-of-range numbers get one line in maintctl's words", async () => {
    const w = await world(mode);
    const cases: Array<[string[], string]> = [
      [['project', 'subscribe', ''], 'empty project: give a project id'],
      [['project', 'subscribe', 'proj-a', '--url', ''], 'empty value for --url: give a value'],
      [['session', 'show', ' '], 'empty id: give a session id or prefix'],
    ];
    for (const [args, message] of cases) expect(await w.run(args)).toEqual({ code: 2, stdout: '', stderr: `maintctl: ${message}\n` });
    // A server reads its cloud files when it starts, not per request: a bad one is the embedded engine's to refuse.
    if (mode === 'remote') return;
    const huge = w.cloud('huge.yaml', 'hosts: [{name: compute-0, vcpus: 1e20}]\n');
    const r = await w.run(['session', 'create', '--cloud', huge]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`maintctl: invalid cloud file ${huge}: hosts[0].vcpus: too large: give a whole number of at most 9,007,199,254,740,991\n`);
  });
});

// A real shell: the hint is pasted as printed, with maintctl found on the PATH.
describe.concurrent('scripts, in a shell', () => {
  it('the hint of a --wait that timed out works as pasted', async () => {
    const w = await world('embedded');
    const { doc, hint } = await timedOut(w);
    const agent = agentFor(w, doc.session_id); // the session goes on to its end while the pasted command follows it
    const pasted = await shellWithMaintctl()(`${hint!} -o json`);
    expect(pasted.stderr).toBe('');
    expect((JSON.parse(pasted.stdout) as Doc).state).toBe('MAINTENANCE_DONE');
    expect(await agent.ended()).toBe(0);
  });
});

describe.concurrent.each(CLI_MODES)('ids (%s)', (mode) => {
  it('an ambiguous prefix lists the ids it matches; prefixes are taken in any case', async () => {
    const w = await world(mode);
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
  });
});

describe.concurrent.each(CLI_MODES)('people (%s)', (mode) => {
  it('session list --state S lists the sessions in that state, in any case', async () => {
    const w = await world(mode);
    const quick = w.cloud('quick.yaml', QUICK);
    const nack = w.cloud('nack.yaml', QUICK.replace('auto_reply: ack', 'auto_reply: nack'));
    const done = await create(w, quick, WAIT);
    const r = await w.run(['-o', 'json', 'session', 'create', '--cloud', nack, ...WAIT]);
    expect(r.code, r.stderr).toBe(3);
    const failedId = (JSON.parse(r.stdout) as Doc).session_id;
    const list = async (state: string) => (JSON.parse((await w.run(['-o', 'json', 'session', 'list', '--state', state])).stdout) as Doc[]).map((s) => s.session_id);
    expect(await list('maintenance_failed')).toEqual([failedId]);
    expect(await list('MAINTENANCE_DONE')).toEqual([done]);
    expect((await w.run(['session', 'list', '--state', 'SCALE_IN'])).stdout).toBe('No sessions in SCALE_IN.\n');
    const bad = await w.run(['session', 'list', '--state', 'done']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^maintctl: invalid --state "done": use one of MAINTENANCE, SCALE_IN, .*MAINTENANCE_FAILED\n$/);
  });

  it('session events prints the event lines; --follow prints each new one once, until the session ends', async () => {
    const w = await world(mode);
    const id = await create(w, w.cloud('silent.yaml', SILENT), PATIENT);
    const follower = w.start(['session', 'events', id.slice(0, 8), '--follow']);
    await follower.next(/session {4}MAINTENANCE \(0%\)$/);
    // The rest of the session happens while the follower follows: proj-a answers only now.
    const agent = agentFor(w, id);
    expect(await follower.ended()).toBe(0);
    expect(await agent.ended()).toBe(0);
    const lines = follower.lines.filter(Boolean);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z {2}session {4}MAINTENANCE \(0%\)$/);
    expect(lines.at(-1)).toMatch(/session {4}MAINTENANCE_COMPLETE -> MAINTENANCE_DONE \(100%\)$/);
    expect(lines.filter((l) => l.includes('host       compute-1 MAINTENANCE_COMPLETE'))).toHaveLength(1);
    expect(new Set(lines).size).toBe(lines.length); // nothing printed twice
    // Afterwards, the same lines at once; -o json gives every event.
    const again = await w.run(['session', 'events', id]);
    expect(again.stdout.trim().split('\n')).toEqual(lines);
    const json = JSON.parse((await w.run(['-o', 'json', 'session', 'events', id])).stdout) as Array<{ id: number; event_type: string }>;
    const doc = JSON.parse((await w.run(['-o', 'json', 'session', 'show', id])).stdout) as Doc;
    expect(json.map((e) => e.event_type)).toEqual(doc.events.map((e) => e.event_type));
  });

  it('delete --keep-disabled lists the hosts it left disabled', async () => {
    const w = await world(mode);
    const id = await create(w, w.cloud('long.yaml', LONG));
    const follower = w.start(['session', 'events', id, '--follow']);
    await follower.next(/host {7}compute-\d IN_MAINTENANCE/); // so its computes are disabled
    const doc = JSON.parse((await w.run(['-o', 'json', 'session', 'show', id])).stdout) as Doc;
    const disabled = doc.hosts.filter((h) => h.disabled).map((h) => h.name);
    expect(disabled.length).toBeGreaterThan(0);
    const r = await w.run(['session', 'delete', id, '--keep-disabled']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`deleted session ${id}; left disabled: ${disabled.join(', ')}\n`);
    expect(await follower.ended()).toBe(5); // the session it followed is gone
  });
});

// Embedded only: a server always runs its sessions, and continues a failed one as it is.
describe.concurrent('people (embedded)', () => {
  // A real engine process, killed: the lease it held names a process that is gone.
  it('session show says when no engine runs an active session, and how to start one', async () => {
    const engines: Running[] = [];
    const w = await world('embedded', { startEngine: (dir) => void engines.push(start(['--state-dir', dir, 'engine'])) });
    const id = await create(w, w.cloud('long.yaml', LONG));
    expect(engines).toHaveLength(1);
    const engine = engines[0]!;
    await engine.waitFor(/host +compute-\d IN_MAINTENANCE/);
    const running = await w.run(['session', 'show', id]);
    expect(running.stdout).not.toMatch(/No engine/);
    const pid = Number(readFileSync(join(w.storeDir, 'engine.lock'), 'utf8'));
    process.kill(pid, 'SIGKILL'); // the engine this test's session create started
    expect(await engine.ended()).toBe(null); // gone (killed, no exit code)
    const stopped = await w.run(['session', 'show', id]);
    expect(stopped.stdout.trim().split('\n').at(-1)).toBe(
      `No engine is running this session, so it does not progress. Start one: maintctl ${w.hintFlags()} engine ` +
        `(in the foreground), or maintctl ${w.hintFlags()} session show ${id.slice(0, 8)} --watch (starts one in the background).`,
    );
    const deleted = await w.run(['session', 'delete', id]);
    expect(deleted.code).toBe(0);
  });

  it('update --wait shows only what happens from the update on', async () => {
    const w = await world('embedded');
    const faulty = w.cloud('faulty.yaml', `${QUICK}faults: [{host_fails: compute-1}]\n`);
    const first = await w.run(['session', 'create', '--cloud', faulty, ...WAIT]);
    expect(first.code).toBe(3);
    const id = /^maintctl: session (\S+) failed/m.exec(first.stderr)![1]!;
    expect(first.stdout).toMatch(/^\+\S+ {2}session {4}MAINTENANCE \(0%\)$/m);
    const fixed = w.cloud('fixed.yaml', QUICK);
    const r = await w.run(['session', 'update', id, '--cloud', fixed, ...WAIT]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => /^\+\d\d:/.test(l));
    expect(lines[0]).toMatch(/session {4}MAINTENANCE_FAILED -> [A-Z_]+ /);
    expect(r.stdout).not.toMatch(/session {4}MAINTENANCE \(0%\)/);
    expect(r.stdout).toMatch(/MAINTENANCE_COMPLETE -> MAINTENANCE_DONE \(100%\)/);
  });
});
