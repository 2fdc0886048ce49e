// Rescuing a failed session, as an operator does it: fix the cause, start the project's agent,
// then `session update` with what the rest of the session needs.
import { describe, expect, it } from 'vitest';
import { maintctlIn, start, tempDir, writeIn } from './support/cli.js';

const HOSTS = `hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances: [{name: a-0, project: proj-a, host: compute-0, vcpus: 2}]
timing: {migrate_s: 0, live_migrate_s: 0, host_maintenance_s: 0}
`;
const ACK = `projects: [{id: proj-a, auto_reply: ack, reply_delay_s: 0}]\n`;
const WAIT = ['--wait', '--timeout', '60s'];

type Doc = { session_id: string; state: string; failure: string | null; events: Array<{ time: string; event_type: string; payload: Record<string, unknown> }> };

async function failedSession(dir: string, cloud: string, extra: string[] = []): Promise<Doc> {
  const r = await maintctlIn(dir, ['-o', 'json', 'session', 'create', '--cloud', cloud, ...extra, ...WAIT]);
  expect(r.code, r.stderr).toBe(3);
  return JSON.parse(r.stdout) as Doc;
}

describe('session update', () => {
  it('--cloud FILE reloads the faults of a sim cloud: a host that failed is maintained once the fault is gone', async () => {
    const dir = tempDir();
    const faulty = writeIn(dir, 'faulty.yaml', `${HOSTS}${ACK}faults: [{host_fails: compute-1}]\n`);
    const failed = await failedSession(dir, faulty);
    expect(failed.failure).toMatch(/compute-1/);
    const fixed = writeIn(dir, 'fixed.yaml', HOSTS + ACK);
    const r = await maintctlIn(dir, ['-o', 'json', 'session', 'update', failed.session_id.slice(0, 8), '--cloud', fixed, ...WAIT]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Doc).state).toBe('MAINTENANCE_DONE');
    // A session that has not failed is refused, whatever the options.
    const again = await maintctlIn(dir, ['session', 'update', failed.session_id, '--cloud', faulty]);
    expect(again.code).toBe(6);
    expect(again.stderr).toBe(`maintctl: session ${failed.session_id} is MAINTENANCE_DONE: only a failed session can be continued\n`);
  });

  it('--unsubscribed gives a project nobody answers for a policy (in any case) for the rest of the session', async () => {
    const dir = tempDir();
    const cloud = writeIn(dir, 'cloud.yaml', HOSTS);
    const failed = await failedSession(dir, cloud);
    expect(failed.failure).toMatch(/proj-a/);
    const r = await maintctlIn(dir, ['-o', 'json', 'session', 'update', failed.session_id, '--unsubscribed', 'proj-a=MIGRATE', ...WAIT]);
    expect(r.stderr).toBe('');
    expect((JSON.parse(r.stdout) as Doc).state).toBe('MAINTENANCE_DONE');
  });

  it('an agent started on the failed session waits; update --reply-timeout and --scale-in-timeout give the project the new deadlines', async () => {
    const dir = tempDir();
    const cloud = writeIn(dir, 'cloud.yaml', `${HOSTS}projects: [{id: proj-a, auto_reply: none}]\n`);
    const failed = await failedSession(dir, cloud, ['--reply-timeout', '1s']);
    expect(failed.failure).toMatch(/proj-a did not answer MAINTENANCE by its deadline/);
    // Policy and action names in any case.
    const agent = start(['--state-dir', dir, 'project', 'agent', 'proj-a', '--session', failed.session_id, '--policy', 'ACK', '--action', 'live_migrate']);
    try {
      const waiting = await agent.waitFor(/waiting for it to be continued/);
      expect(waiting).toMatch(`session ${failed.session_id.slice(0, 8)} is MAINTENANCE_FAILED: waiting for it to be continued (maintctl --state-dir ${dir} session update ${failed.session_id.slice(0, 8)})`);
      const r = await maintctlIn(dir, ['-o', 'json', 'session', 'update', failed.session_id, '--reply-timeout', '5m', '--scale-in-timeout', '10m', '--max-parallel', 'auto', ...WAIT]);
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
    } finally {
      agent.stop();
    }
  });

  it('refuses bad values with exit 2 and leaves the session failed', async () => {
    const dir = tempDir();
    const failed = await failedSession(dir, writeIn(dir, 'cloud.yaml', HOSTS));
    const cases: Array<[string[], string]> = [
      [['--reply-timeout', '0'], 'invalid --reply-timeout "0": it must be more than zero, e.g. --reply-timeout 10m'],
      [['--scale-in-timeout', '8d'], 'invalid --scale-in-timeout "8d": use a duration such as 90s, 5m or 1h30m'],
      [['--max-parallel', '0'], 'invalid --max-parallel "0": give a whole number of hosts from 1 to 10000, or auto'],
      [['--unsubscribed', 'proj-a=ignore'], 'invalid --unsubscribed "proj-a=ignore": use POLICY or PROJECT=POLICY with POLICY one of fail, migrate, live_migrate'],
      [['--wait', '--timeout', '0'], 'invalid --timeout "0": it must be more than zero, e.g. --timeout 10m'],
      [['--cloud', 'openstack'], 'cloud file openstack does not exist'],
    ];
    for (const [args, message] of cases) {
      const r = await maintctlIn(dir, ['session', 'update', failed.session_id, ...args]);
      expect(r.stderr, args.join(' ')).toBe(`maintctl: ${message}\n`);
      expect(r.code).toBe(2);
    }
    const show = await maintctlIn(dir, ['-o', 'json', 'session', 'show', failed.session_id]);
    expect((JSON.parse(show.stdout) as Doc).state).toBe('MAINTENANCE_FAILED');
  });
});
