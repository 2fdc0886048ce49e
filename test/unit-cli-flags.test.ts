// Flag parsing of the CLI commands: what is refused before anything is asked of the engine.
import { describe, expect, it } from 'vitest';
import { parseAgentFlags } from '../src/cli/project/agent.js';
import { parseReplyFlags } from '../src/cli/project/reply.js';
import { parseCreateFlags } from '../src/cli/session/create.js';
import { UsageError } from '../src/cli/exit-codes.js';

const reply = (flags: Partial<Parameters<typeof parseReplyFlags>[2]>) => () => parseReplyFlags('s', 'p', { action: [], ...flags });

describe('project reply flags', () => {
  it('refuse instance actions with a rejection', () => {
    expect(reply({ nack: true, allActions: 'MIGRATE' })).toThrow(new UsageError('instance actions go with an acknowledgement, not with NACK'));
    expect(reply({ state: 'NACK_PLANNED_MAINTENANCE', action: ['vm=MIGRATE'] })).toThrow(UsageError);
  });

  it('refuse a state that is not ACK_X or NACK_X as a usage error', () => {
    expect(reply({ state: 'FOO' })).toThrow(/invalid --state "FOO": use ACK_<STATE> or NACK_<STATE>/);
  });

  it('refuse two verdicts, and --action with --all-actions', () => {
    expect(reply({ ack: true, nack: true })).toThrow(/only one of --ack, --nack and --state/);
    expect(reply({ allActions: 'MIGRATE', action: ['vm=MIGRATE'] })).toThrow(/either --all-actions or --action/);
  });

  it('take instance actions by id or name', () => {
    expect(parseReplyFlags('s', 'p', { ack: true, action: ['vnf-a-0=LIVE_MIGRATE', 'id=with=equals=OWN_ACTION'] }).actions).toEqual({
      'vnf-a-0': 'LIVE_MIGRATE',
      'id=with=equals': 'OWN_ACTION',
    });
  });
});

describe('project agent flags', () => {
  it('take hooks only for the states where the application acts', () => {
    expect(parseAgentFlags('p', { policy: 'ack', action: 'MIGRATE', hook: ['SCALE_IN=true'] }).hooks).toEqual({ SCALE_IN: 'true' });
    expect(() => parseAgentFlags('p', { policy: 'ack', action: 'MIGRATE', hook: ['PLANNED_MAINTENANCE=true'] })).toThrow(/STATE one of SCALE_IN, OWN_ACTION, MAINTENANCE_COMPLETE/);
    expect(() => parseAgentFlags('p', { policy: 'maybe', action: 'MIGRATE', hook: [] })).toThrow(/use ack or nack/);
  });
});

describe('session create flags', () => {
  const base = { metadata: [], action: [], download: [], unsubscribed: [] };

  it('turn --unsubscribed into a default policy and per-project ones', () => {
    const { request } = parseCreateFlags({ ...base, cloud: 'c.yaml', unsubscribed: ['migrate', 'proj-x=live_migrate'] });
    expect(request).toMatchObject({ unsubscribed_policy: 'migrate', project_policies: { 'proj-x': 'live_migrate' } });
    expect(() => parseCreateFlags({ ...base, unsubscribed: ['proj-x=teleport'] })).toThrow(/invalid --unsubscribed "proj-x=teleport"/);
  });

  it('refuse --workflow and --unsubscribed next to -f FILE (the file is the whole request)', () => {
    expect(() => parseCreateFlags({ ...base, file: 'r.json', workflow: 'default' })).toThrow(/-f FILE is the whole request/);
    expect(() => parseCreateFlags({ ...base, file: 'r.json', unsubscribed: ['migrate'] })).toThrow(/-f FILE is the whole request/);
    expect(() => parseCreateFlags({ ...base, file: 'r.json', maxParallel: '2' })).toThrow(/-f FILE is the whole request/);
    expect(() => parseCreateFlags({ ...base, file: 'r.json', parallel: 'auto' })).toThrow(/-f FILE is the whole request/);
    expect(() => parseCreateFlags({ ...base, file: 'r.json', maxMigrations: '5' })).toThrow(/-f FILE is the whole request/);
  });

  it('take --max-parallel as a number of hosts or auto, and --parallel as its old name', () => {
    expect(parseCreateFlags({ ...base, maxParallel: 'auto' }).request.max_parallel_hosts).toBe('auto');
    expect(parseCreateFlags({ ...base, maxParallel: '10000' }).request.max_parallel_hosts).toBe(10_000);
    expect(parseCreateFlags({ ...base, parallel: '3' }).request.max_parallel_hosts).toBe(3);
    expect(parseCreateFlags({ ...base }).request).not.toHaveProperty('max_parallel_hosts');
    expect(() => parseCreateFlags({ ...base, maxParallel: '2', parallel: '2' })).toThrow(
      new UsageError('--parallel is the old name of --max-parallel: give only one of them'),
    );
  });

  it.each(['0', '-1', '1.5', 'many', '10001', '0x10', '1e3', ''])('refuse --max-parallel %j, saying what works', (value) => {
    expect(() => parseCreateFlags({ ...base, maxParallel: value })).toThrow(
      new UsageError(`invalid --max-parallel "${value}": give a whole number of hosts from 1 to 10000, or auto`),
    );
  });

  it('name --parallel, not --max-parallel, when the old name was given a bad value', () => {
    expect(() => parseCreateFlags({ ...base, parallel: '0' })).toThrow(
      new UsageError('invalid --parallel "0": give a whole number of hosts from 1 to 10000, or auto'),
    );
  });

  it('take --max-migrations from 1 to 1000', () => {
    expect(parseCreateFlags({ ...base, maxMigrations: '1' }).request.max_migrations).toBe(1);
    expect(parseCreateFlags({ ...base, maxMigrations: '1000' }).request.max_migrations).toBe(1000);
    expect(parseCreateFlags({ ...base }).request).not.toHaveProperty('max_migrations');
    for (const value of ['0', '1001', '2.5', 'auto']) {
      expect(() => parseCreateFlags({ ...base, maxMigrations: value })).toThrow(
        new UsageError(`invalid --max-migrations "${value}": give a whole number of moves from 1 to 1000`),
      );
    }
  });

  it('take reply timeouts up to 7 days and refuse longer ones with the limit', () => {
    expect(parseCreateFlags({ ...base, replyTimeout: '168h', scaleInTimeout: '90s' }).request).toMatchObject({
      project_maintenance_reply: 604_800,
      project_scale_in_reply: 90,
    });
    expect(() => parseCreateFlags({ ...base, replyTimeout: '168h1s' })).toThrow(new UsageError('invalid --reply-timeout "168h1s": at most 168h (7 days)'));
    expect(() => parseCreateFlags({ ...base, scaleInTimeout: '1000000000' })).toThrow(
      new UsageError('invalid --scale-in-timeout "1000000000": at most 168h (7 days)'),
    );
  });

  it('take --timeout up to 30 days and refuse longer ones with the limit', () => {
    expect(parseCreateFlags({ ...base, wait: true, timeout: '720h' }).timeoutMs).toBe(30 * 86_400_000);
    expect(() => parseCreateFlags({ ...base, wait: true, timeout: '721h' })).toThrow(new UsageError('invalid --timeout "721h": at most 720h (30 days)'));
  });

  it.each(['1e400s', '99999999999h', `${'9'.repeat(400)}s`, '9'.repeat(400)])('refuse the duration %s, too long for any clock, as unreadable', (value) => {
    expect(() => parseCreateFlags({ ...base, wait: true, timeout: value })).toThrow(
      new UsageError(`invalid --timeout "${value}": use a duration such as 90s, 5m or 1h30m`),
    );
    expect(() => parseCreateFlags({ ...base, replyTimeout: value })).toThrow(
      new UsageError(`invalid --reply-timeout "${value}": use a duration such as 90s, 5m or 1h30m`),
    );
  });

  it('refuse an --at outside 2000 to 9999, and keep one inside as written', () => {
    expect(parseCreateFlags({ ...base, at: '2018-02-28 06:06:03' }).request.maintenance_at).toBe('2018-02-28 06:06:03');
    expect(() => parseCreateFlags({ ...base, at: '1999-12-31 23:59:59' })).toThrow(
      new UsageError('invalid --at: "1999-12-31 23:59:59": give a time between 2000-01-01 and 9999-12-31 (UTC)'),
    );
    expect(() => parseCreateFlags({ ...base, at: '9999-12-31T23:30:00-01:00' })).toThrow(/^invalid --at: .*between 2000-01-01 and 9999-12-31/);
  });
});
