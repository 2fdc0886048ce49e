// Rescuing a failed session, as an operator does it: fix the cause, start the project's agent,
// then `session update` with what the rest of the session needs. In this process (main() with a
// buffer IO, test/support/cli-world.ts); a server continues a session as it is, so what new options
// do is shown embedded, and the refusals in both modes.
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_MODES, cliWorld, type CliMode, type CliWorld } from './support/cli-world.js';

const HOSTS = `hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances: [{name: a-0, project: proj-a, host: compute-0, vcpus: 2}]
timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 0}
`;
const ACK = `projects: [{id: proj-a, auto_reply: ack, reply_delay_s: 0}]\n`;
const WAIT = ['--wait', '--timeout', '60s'];

type Doc = { session_id: string; state: string; failure: string | null; events: Array<{ time: string; event_type: string; payload: Record<string, unknown> }> };

/** Worlds of every test, closed at the end (their engines and servers stopped). */
const worlds: CliWorld[] = [];
afterAll(async () => {
  await Promise.all(worlds.map((w) => w.close()));
});

async function world(mode: CliMode): Promise<CliWorld> {
  const w = await cliWorld(mode);
  worlds.push(w);
  return w;
}

async function failedSession(w: CliWorld, cloud: string, extra: string[] = []): Promise<Doc> {
  const r = await w.run(['-o', 'json', 'session', 'create', '--cloud', cloud, ...extra, ...WAIT]);
  expect(r.code, r.stderr).toBe(3);
  return JSON.parse(r.stdout) as Doc;
}

describe.concurrent('session update (embedded)', () => {
  it('--cloud FILE reloads the faults of a sim cloud: a host that failed is maintained once the fault is gone', async () => {
    const w = await world('embedded');
    const faulty = w.cloud('faulty.yaml', `${HOSTS}${ACK}faults: [{host_fails: compute-1}]\n`);
    const failed = await failedSession(w, faulty);
    expect(failed.failure).toMatch(/compute-1/);
    const fixed = w.cloud('fixed.yaml', HOSTS + ACK);
    const r = await w.run(['-o', 'json', 'session', 'update', failed.session_id.slice(0, 8), '--cloud', fixed, ...WAIT]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Doc).state).toBe('MAINTENANCE_DONE');
    // A session that has not failed is refused, whatever the options.
    const again = await w.run(['session', 'update', failed.session_id, '--cloud', faulty]);
    expect(again.code).toBe(6);
    expect(again.stderr).toBe(`maintctl: session ${failed.session_id} is MAINTENANCE_DONE: only a failed session can be continued\n`);
  });

  it('--unsubscribed gives a project nobody answers for a policy (in any case) for the rest of the session', async () => {
    const w = await world('embedded');
    const failed = await failedSession(w, w.cloud('cloud.yaml', HOSTS));
    expect(failed.failure).toMatch(/proj-a/);
    const r = await w.run(['-o', 'json', 'session', 'update', failed.session_id, '--unsubscribed', 'proj-a=MIGRATE', ...WAIT]);
    expect(r.stderr).toBe('');
    expect((JSON.parse(r.stdout) as Doc).state).toBe('MAINTENANCE_DONE');
  });

  it('an agent started on the failed session waits; update --reply-timeout and --scale-in-timeout give the project the new deadlines', async () => {
    const w = await world('embedded');
    const cloud = w.cloud('cloud.yaml', `${HOSTS}projects: [{id: proj-a, auto_reply: none}]\n`);
    const failed = await failedSession(w, cloud, ['--reply-timeout', '1s']);
    expect(failed.failure).toMatch(/proj-a did not answer MAINTENANCE by its deadline/);
    // Policy and action names in any case.
    const agent = w.start(['project', 'agent', 'proj-a', '--session', failed.session_id, '--policy', 'ACK', '--action', 'live_migrate']);
    const waiting = await agent.waitFor(/waiting for it to be continued/);
    const short = failed.session_id.slice(0, 8);
    expect(waiting).toMatch(`session ${short} is MAINTENANCE_FAILED: waiting for it to be continued (maintctl ${w.hintFlags()} session update ${short})`);
    const r = await w.run(['-o', 'json', 'session', 'update', failed.session_id, '--reply-timeout', '5m', '--scale-in-timeout', '10m', '--max-parallel', 'auto', ...WAIT]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const done = JSON.parse(r.stdout) as Doc;
    expect(done.state).toBe('MAINTENANCE_DONE');
    expect(await agent.ended()).toBe(0);
    expect(agent.lines.at(-1)).toMatch(/ended MAINTENANCE_DONE$/);
    expect(agent.lines.join('\n')).toMatch(/PLANNED_MAINTENANCE -> ACK_PLANNED_MAINTENANCE \(1 x LIVE_MIGRATE\)/);
    // Questions asked after the update give the project five minutes (MAINTENANCE_COMPLETE ten).
    const continuedAt = Date.parse(done.events.find((e) => e.event_type === 'maintenance.session' && e.payload.previous_state === 'MAINTENANCE_FAILED')!.time);
    const asked = done.events.filter((e) => e.event_type === 'maintenance.planned' && Date.parse(e.time) >= continuedAt && e.payload.state !== 'INSTANCE_ACTION_DONE');
    expect(asked.length).toBeGreaterThan(0);
    for (const q of asked) {
      const given = Date.parse(`${String(q.payload.reply_at).replace(' ', 'T')}Z`) - Date.parse(q.time);
      const expected = q.payload.state === 'MAINTENANCE_COMPLETE' ? 600_000 : 300_000;
      expect(Math.abs(given - expected), String(q.payload.state)).toBeLessThan(2000);
    }
    expect(asked.map((q) => q.payload.state)).toContain('MAINTENANCE_COMPLETE');
  });
});

describe.each(CLI_MODES)('session update refusals (%s)', (mode) => {
  it('refuses bad values with exit 2 and leaves the session failed', async () => {
    const w = await world(mode);
    const failed = await failedSession(w, w.cloud('cloud.yaml', HOSTS));
    const cases: Array<[string[], string]> = [
      [['--reply-timeout', '0'], 'invalid --reply-timeout "0": it must be more than zero, e.g. --reply-timeout 10m'],
      [['--scale-in-timeout', '8d'], 'invalid --scale-in-timeout "8d": use a duration such as 90s, 5m or 1h30m'],
      [['--max-parallel', '0'], 'invalid --max-parallel "0": give a whole number of hosts from 1 to 10000, or auto'],
      [['--unsubscribed', 'proj-a=ignore'], 'invalid --unsubscribed "proj-a=ignore": use POLICY or PROJECT=POLICY with POLICY one of fail, migrate, live_migrate'],
      [['--wait', '--timeout', '0'], 'invalid --timeout "0": it must be more than zero, e.g. --timeout 10m'],
      // A server has its clouds from its start, and takes no new options.
      mode === 'embedded'
        ? [['--cloud', 'openstack'], 'cloud file openstack does not exist']
        : [['--cloud', 'openstack'], 'a server continues a session as it is: new options (session update --reply-timeout, --cloud, ...) work embedded only for now'],
    ];
    for (const [args, message] of cases) {
      const r = await w.run(['session', 'update', failed.session_id, ...args]);
      expect(r.stderr, args.join(' ')).toBe(`maintctl: ${message}\n`);
      expect(r.code).toBe(2);
    }
    const show = await w.run(['-o', 'json', 'session', 'show', failed.session_id]);
    expect((JSON.parse(show.stdout) as Doc).state).toBe('MAINTENANCE_FAILED');
  });
});
