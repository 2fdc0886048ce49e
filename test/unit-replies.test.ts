import { describe, expect, it } from 'vitest';
import { InvalidInputError, RefusedError } from '../src/domain/errors.js';
import type { Instance, Project } from '../src/domain/model.js';
import { affectedInstances, checkReply } from '../src/domain/replies.js';
import type { ProjectReplyBody } from '../src/domain/schemas.js';
import { parseReplyState, type AskedState } from '../src/domain/states.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const DEADLINE = NOW + 20_000;
const VISIT = 3;
/** Questions about moving instances belong to a wave; the others are session-wide. */
const waveOf = (state: AskedState | null) => (state === 'PREPARE_MAINTENANCE' || state === 'PLANNED_MAINTENANCE' ? 1 : null);

function project(state: AskedState | null, patch: Partial<Project> = {}): Project {
  return { projectId: 'proj-a', policy: 'ask', state, visit: VISIT, wave: waveOf(state), replyState: null, replyAt: DEADLINE, repliedAt: null, ...patch };
}

function instance(instanceId: string, projectState: AskedState | null, patch: Partial<Instance> = {}): Instance {
  return {
    instanceId,
    name: `vm-${instanceId}`,
    projectId: 'proj-a',
    host: 'compute-0',
    vcpus: 1,
    memoryMb: null,
    floatingIp: false,
    wave: waveOf(projectState),
    target: null,
    action: null,
    actionDone: false,
    projectState,
    replacedId: null,
    ...patch,
  };
}

/** Expects fn to throw the given error class and returns the message. */
function thrown(fn: () => unknown, kind: typeof RefusedError | typeof InvalidInputError): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(kind);
    return (err as Error).message;
  }
  throw new Error(`expected a ${kind.name}, but nothing was thrown`);
}

const reply = (body: ProjectReplyBody, p: Project, instances: Instance[] = [], now = NOW) => checkReply(p, VISIT, instances, body, now);

describe('parseReplyState', () => {
  it('splits a reply state into verdict and asked state', () => {
    expect(parseReplyState('ACK_MAINTENANCE')).toEqual({ verdict: 'ACK', state: 'MAINTENANCE' });
    expect(parseReplyState('NACK_PLANNED_MAINTENANCE')).toEqual({ verdict: 'NACK', state: 'PLANNED_MAINTENANCE' });
    expect(parseReplyState('ACK_MAINTENANCE_COMPLETE')).toEqual({ verdict: 'ACK', state: 'MAINTENANCE_COMPLETE' });
    expect(parseReplyState('ACK_SCALE_IN')).toEqual({ verdict: 'ACK', state: 'SCALE_IN' });
  });

  it('rejects states nobody is asked about and things that are not replies', () => {
    for (const text of ['ACK_FOO', 'HELLO', 'ACK_', 'ACK_START_MAINTENANCE', 'ACK_MAINTENANCE_DONE', 'ack_maintenance', 'MAINTENANCE']) {
      expect(parseReplyState(text), text).toBeNull();
    }
  });
});

describe('affectedInstances', () => {
  it('lists the project instances that are part of the asked state', () => {
    const instances = [
      instance('a1', 'PLANNED_MAINTENANCE'),
      instance('a2', null),
      instance('a3', 'MAINTENANCE'),
      instance('b1', 'PLANNED_MAINTENANCE', { projectId: 'proj-b' }),
    ];
    expect(affectedInstances(project('PLANNED_MAINTENANCE'), instances).map((i) => i.instanceId)).toEqual(['a1']);
  });

  it('is empty when the project was never asked', () => {
    expect(affectedInstances(project(null), [instance('a1', null)])).toEqual([]);
  });
});

describe('checkReply', () => {
  it('accepts ACK for the asked state', () => {
    const accepted = reply({ state: 'ACK_MAINTENANCE' }, project('MAINTENANCE'), [instance('a1', 'MAINTENANCE')]);
    expect(accepted.reply).toEqual({ verdict: 'ACK', state: 'MAINTENANCE' });
    expect(accepted.actions.size).toBe(0);
  });

  it('accepts NACK for the asked state and ignores actions', () => {
    const accepted = reply(
      { state: 'NACK_PLANNED_MAINTENANCE', instance_actions: { a1: 'MIGRATE' } },
      project('PLANNED_MAINTENANCE'),
      [instance('a1', 'PLANNED_MAINTENANCE')],
    );
    expect(accepted.reply.verdict).toBe('NACK');
    expect(accepted.actions.size).toBe(0);
  });

  it('maps the chosen action of every affected instance', () => {
    const accepted = reply(
      { state: 'ACK_PLANNED_MAINTENANCE', instance_actions: { a1: 'MIGRATE', a2: 'OWN_ACTION' } },
      project('PLANNED_MAINTENANCE'),
      [instance('a1', 'PLANNED_MAINTENANCE'), instance('a2', 'PLANNED_MAINTENANCE')],
    );
    expect(accepted.actions).toEqual(
      new Map([
        ['a1', 'MIGRATE'],
        ['a2', 'OWN_ACTION'],
      ]),
    );
  });

  it('refuses a reply about a different state, naming both', () => {
    const message = thrown(() => reply({ state: 'ACK_SCALE_IN' }, project('MAINTENANCE')), RefusedError);
    expect(message).toContain('is asked MAINTENANCE, not SCALE_IN');
    expect(message).toContain('ACK_MAINTENANCE');
  });

  it('refuses a reply at or after the deadline, naming the deadline', () => {
    const p = project('MAINTENANCE');
    for (const now of [DEADLINE, DEADLINE + 1]) {
      const message = thrown(() => reply({ state: 'ACK_MAINTENANCE' }, p, [], now), RefusedError);
      expect(message).toContain('deadline to answer MAINTENANCE passed at 2026-01-01 12:00:20 UTC');
    }
  });

  it('accepts a reply just before the deadline', () => {
    expect(reply({ state: 'ACK_MAINTENANCE' }, project('MAINTENANCE'), [], DEADLINE - 1).reply.verdict).toBe('ACK');
  });

  it('accepts a reply to a question without a deadline', () => {
    expect(reply({ state: 'ACK_MAINTENANCE' }, project('MAINTENANCE', { replyAt: null }), [], NOW + 1e9).reply.verdict).toBe('ACK');
  });

  it('refuses a second answer to the same question', () => {
    const answered = project('MAINTENANCE', { replyState: 'ACK_MAINTENANCE', repliedAt: NOW - 1 });
    const message = thrown(() => reply({ state: 'ACK_MAINTENANCE' }, answered), RefusedError);
    expect(message).toBe('project proj-a already answered MAINTENANCE with ACK_MAINTENANCE');
  });

  it('refuses a reply when the project was never asked', () => {
    const message = thrown(() => reply({ state: 'ACK_MAINTENANCE' }, project(null)), RefusedError);
    expect(message).toBe('project proj-a has no open question right now');
  });

  it('refuses a reply to a question from an earlier visit of the state', () => {
    const stale = project('PLANNED_MAINTENANCE', { visit: VISIT - 1 });
    thrown(() => reply({ state: 'ACK_PLANNED_MAINTENANCE' }, stale), RefusedError);
  });

  it('refuses an action for an instance that is not affected, naming it', () => {
    const message = thrown(
      () =>
        reply(
          { state: 'ACK_PLANNED_MAINTENANCE', instance_actions: { a1: 'MIGRATE', other: 'MIGRATE' } },
          project('PLANNED_MAINTENANCE'),
          [instance('a1', 'PLANNED_MAINTENANCE'), instance('other', null)],
        ),
      RefusedError,
    );
    expect(message).toContain('instance other is not one of project proj-a');
  });

  it('refuses an action for an instance of another project', () => {
    thrown(
      () =>
        reply(
          { state: 'ACK_PREPARE_MAINTENANCE', instance_actions: { a1: 'MIGRATE', b1: 'MIGRATE' } },
          project('PREPARE_MAINTENANCE'),
          [instance('a1', 'PREPARE_MAINTENANCE'), instance('b1', 'PREPARE_MAINTENANCE', { projectId: 'proj-b' })],
        ),
      RefusedError,
    );
  });

  it('requires an action for every affected instance and lists the missing ids', () => {
    const message = thrown(
      () =>
        reply(
          { state: 'ACK_PLANNED_MAINTENANCE', instance_actions: { a2: 'LIVE_MIGRATE' } },
          project('PLANNED_MAINTENANCE'),
          [instance('a1', 'PLANNED_MAINTENANCE'), instance('a2', 'PLANNED_MAINTENANCE'), instance('a3', 'PLANNED_MAINTENANCE')],
        ),
      InvalidInputError,
    );
    expect(message).toContain('ACK_PLANNED_MAINTENANCE must choose an action');
    expect(message).toContain('missing: a1, a3');
  });

  it("takes an instance's migration_type where the ACK names no action for it, and still lists those without one", () => {
    const asked = [instance('a1', 'PLANNED_MAINTENANCE'), instance('a2', 'PLANNED_MAINTENANCE'), instance('a3', 'PLANNED_MAINTENANCE')];
    const types: Record<string, 'OWN_ACTION' | 'LIVE_MIGRATE'> = { a1: 'OWN_ACTION', a3: 'LIVE_MIGRATE' };
    const body = { state: 'ACK_PLANNED_MAINTENANCE', instance_actions: { a2: 'MIGRATE' as const, a3: 'MIGRATE' as const } };
    const accepted = checkReply(project('PLANNED_MAINTENANCE'), VISIT, asked, body, NOW, (id) => types[id] ?? null);
    expect(Object.fromEntries(accepted.actions)).toEqual({ a1: 'OWN_ACTION', a2: 'MIGRATE', a3: 'MIGRATE' });
    const message = thrown(() => checkReply(project('PLANNED_MAINTENANCE'), VISIT, asked, { state: 'ACK_PLANNED_MAINTENANCE' }, NOW, (id) => types[id] ?? null), InvalidInputError);
    expect(message).toContain('missing: a2');
  });

  it('requires actions in PREPARE_MAINTENANCE too', () => {
    const message = thrown(
      () => reply({ state: 'ACK_PREPARE_MAINTENANCE' }, project('PREPARE_MAINTENANCE'), [instance('a1', 'PREPARE_MAINTENANCE')]),
      InvalidInputError,
    );
    expect(message).toContain('missing: a1');
  });

  it('maps an instance named by its former id to its current id', () => {
    const accepted = reply(
      { state: 'ACK_PLANNED_MAINTENANCE', instance_actions: { 'old-id': 'OWN_ACTION' } },
      project('PLANNED_MAINTENANCE'),
      [instance('new-id', 'PLANNED_MAINTENANCE', { replacedId: 'old-id' })],
    );
    expect(accepted.actions).toEqual(new Map([['new-id', 'OWN_ACTION']]));
  });

  it('applies a single instance_action without instance_id to every affected instance', () => {
    const accepted = reply(
      { state: 'ACK_PLANNED_MAINTENANCE', instance_action: 'LIVE_MIGRATE' },
      project('PLANNED_MAINTENANCE'),
      [instance('a1', 'PLANNED_MAINTENANCE'), instance('a2', 'PLANNED_MAINTENANCE'), instance('a3', null)],
    );
    expect(accepted.actions).toEqual(
      new Map([
        ['a1', 'LIVE_MIGRATE'],
        ['a2', 'LIVE_MIGRATE'],
      ]),
    );
  });

  it('applies a single instance_action with instance_id to that instance only', () => {
    const accepted = reply(
      { state: 'ACK_PLANNED_MAINTENANCE', instance_action: 'MIGRATE', instance_id: 'a1' },
      project('PLANNED_MAINTENANCE'),
      [instance('a1', 'PLANNED_MAINTENANCE')],
    );
    expect(accepted.actions).toEqual(new Map([['a1', 'MIGRATE']]));
  });

  it('refuses instance actions in a state that takes none', () => {
    const message = thrown(
      () => reply({ state: 'ACK_MAINTENANCE', instance_actions: { a1: 'MIGRATE' } }, project('MAINTENANCE'), [instance('a1', 'MAINTENANCE')]),
      RefusedError,
    );
    expect(message).toContain('MAINTENANCE takes no instance actions');
  });

  for (const state of ['ACK_FOO', 'HELLO']) {
    it(`refuses the reply state ${state} as invalid input, showing the expected form`, () => {
      const message = thrown(() => reply({ state }, project('MAINTENANCE')), InvalidInputError);
      expect(message).toContain(`invalid reply state "${state}"`);
      expect(message).toContain('ACK_<STATE> or NACK_<STATE>');
    });
  }
});
