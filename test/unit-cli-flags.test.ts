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
  });
});
