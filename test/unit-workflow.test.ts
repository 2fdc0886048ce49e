// The default workflow's handlers as tables: (rows, an optional event applied through the model,
// now) -> the effects the handler plans. Handlers are pure, so each row builds a fresh model and
// compares the plan with what the Fenix model calls for at that point.
import { describe, expect, it } from 'vitest';
import type { Host, Instance, Operation, Project, Session } from '../src/domain/model.js';
import type { SessionModel } from '../src/domain/session-model.js';
import { allowedTransition } from '../src/domain/transitions.js';
import { defaultWorkflow } from '../src/workflows/default/index.js';
import type { Effect } from '../src/workflows/types.js';
import { T0, host, instance, model, operation, project, session } from './support/model-rows.js';

const SEC = 1000;

interface Given {
  session: Session;
  hosts?: Host[];
  projects?: Project[];
  instances?: Instance[];
  operations?: Operation[];
  /** Hosts read from the infrastructure at this instant (the read is in memory only). */
  synced?: { hosts: string[]; at: number };
  /** Something that happened after the rows were loaded, applied through the model's own methods. */
  event?: (m: SessionModel) => void;
  /** Whether this is the first plan since the model was loaded (questions may be asked again). */
  freshlyLoaded?: boolean;
}

interface Row {
  name: string;
  given: () => Given;
  now: number;
  /** Effects that must be in the plan (asymmetric matchers welcome). */
  expected: unknown[];
  /** The plan must be exactly `expected` (order and completeness matter). */
  exact?: boolean;
  /** Effects that must not be in the plan. */
  absent?: unknown[];
}

/** Runs the handler of the session's state and checks every transition it asks for against the transition table. */
function plan(g: Given, now: number): Effect[] {
  const m = model(g);
  m.time = now;
  m.freshlyLoaded = g.freshlyLoaded ?? false;
  if (g.synced) m.markSynced(g.synced.hosts, g.synced.at);
  g.event?.(m);
  const from = m.session.state;
  const effects = defaultWorkflow.handlers[from]({ now, model: m });
  for (const e of effects) {
    if (e.kind === 'transition') expect(allowedTransition(from, e.to), `${from} -> ${e.to}`).toBe(true);
  }
  return effects;
}

function check(row: Row): Effect[] {
  const effects = plan(row.given(), row.now);
  if (row.exact) expect(effects).toEqual(row.expected);
  else expect(effects).toEqual(expect.arrayContaining(row.expected));
  for (const a of row.absent ?? []) expect(effects).not.toContainEqual(a);
  return effects;
}

const like = (e: Record<string, unknown>) => expect.objectContaining(e);
const starting = (op: Record<string, unknown>) => like({ kind: 'start', operation: like(op) });
const anyOf = (kind: Effect['kind']) => like({ kind });

// ---- MAINTENANCE

/** Asked MAINTENANCE in this visit (visit 1), with an answer or not. */
const askedMaintenance = (id: string, patch: Partial<Project> = {}) =>
  project(id, { state: 'MAINTENANCE', visit: 1, replyAt: T0 + 20 * SEC, ...patch });
const acked = (id: string) => askedMaintenance(id, { replyState: 'ACK_MAINTENANCE', repliedAt: T0 - 30 * SEC });

/** Fresh view (read after entering, after the replies and at maintenance_at). */
const freshMaintenance = (patch: Partial<Session> = {}) => session({ syncedAt: T0, ...patch });

describe('MAINTENANCE', () => {
  const rows: Row[] = [
    {
      name: 'a view older than the state entry -> one sync of every host, nothing else',
      given: () => ({ session: session({ stateEnteredAt: T0 - 10 * SEC, syncedAt: T0 - 20 * SEC }), hosts: [host('c1')], projects: [project('p1')] }),
      now: T0 - 5 * SEC,
      expected: [{ kind: 'sync', hosts: null, reason: expect.any(String) }],
      exact: true,
    },
    {
      name: 'a project whose policy is fail (not subscribed) -> fail naming it and how to fix it',
      given: () => ({
        session: freshMaintenance(),
        hosts: [host('c1')],
        projects: [project('p1'), project('p-lazy', { policy: 'fail' })],
      }),
      now: T0 - 5 * SEC,
      expected: [{ kind: 'fail', cause: expect.stringMatching(/p-lazy.*subscribe.*--unsubscribed/s) }],
      exact: true,
    },
    {
      name: 'nobody asked yet -> one ask of every project, replyAt = now + timeout, actions at maintenance_at',
      given: () => ({
        session: freshMaintenance({ maintenanceAt: T0 + 600 * SEC }),
        hosts: [host('c1'), host('c2')],
        projects: [project('p1'), project('p2', { policy: 'migrate' })],
        instances: [instance('i1', 'c1'), instance('i2', 'c2', { projectId: 'p2' })],
      }),
      now: T0 - 5 * SEC,
      expected: [
        {
          kind: 'ask',
          state: 'MAINTENANCE',
          projects: ['p1', 'p2'],
          instances: ['i1', 'i2'],
          allowedActions: [],
          replyAt: T0 - 5 * SEC + 20 * SEC,
          actionsAt: T0 + 600 * SEC,
          wave: null,
        },
      ],
      exact: true,
    },
    {
      name: 'only the project asked in an earlier visit is asked again',
      given: () => ({
        session: freshMaintenance({ visit: 2 }),
        hosts: [host('c1')],
        projects: [project('p1', { state: 'MAINTENANCE', visit: 2, replyAt: T0 + 20 * SEC }), project('p2', { state: 'MAINTENANCE', visit: 1, replyState: 'ACK_MAINTENANCE' })],
      }),
      now: T0 - 5 * SEC,
      expected: [like({ kind: 'ask', projects: ['p2'] })],
      exact: true,
    },
    {
      name: 'every project ACKed but now < maintenance_at -> wait until maintenance_at',
      given: () => ({ session: freshMaintenance({ maintenanceAt: T0 + 60 * SEC }), hosts: [host('c1')], projects: [acked('p1'), acked('p2')] }),
      now: T0,
      expected: [{ kind: 'wait', until: T0 + 60 * SEC, reason: expect.any(String) }],
      exact: true,
    },
    {
      name: 'every project ACKed, a pending compute is empty -> START_MAINTENANCE',
      given: () => ({
        session: freshMaintenance(),
        hosts: [host('c1', { vcpusUsed: 2 }), host('c2')],
        projects: [acked('p1')],
        instances: [instance('i1', 'c1')],
      }),
      now: T0 + SEC,
      expected: [like({ kind: 'transition', to: 'START_MAINTENANCE' })],
      exact: true,
    },
    {
      name: 'no empty compute, but one can be emptied onto the others -> PREPARE_MAINTENANCE',
      given: () => ({
        session: freshMaintenance(),
        hosts: [host('c1'), host('c2')],
        projects: [acked('p1')],
        instances: [instance('i1', 'c1'), instance('i2', 'c1'), instance('i3', 'c2')],
      }),
      now: T0 + SEC,
      expected: [like({ kind: 'transition', to: 'PREPARE_MAINTENANCE' })],
      exact: true,
    },
    {
      name: 'no room to empty any compute -> SCALE_IN recording the free vCPUs',
      given: () => ({
        session: freshMaintenance({ data: { waves: 0 } }),
        hosts: [host('c1'), host('c2')],
        projects: [acked('p1')],
        // c1 is full (8 of 8), c2 holds 6 of 8: 2 vCPUs free, neither host's instances fit elsewhere.
        instances: [...['a', 'b', 'c', 'd'].map((x) => instance(`i${x}`, 'c1')), ...['e', 'f', 'g'].map((x) => instance(`i${x}`, 'c2'))],
      }),
      now: T0 + SEC,
      expected: [like({ kind: 'transition', to: 'SCALE_IN', data: { waves: 0, freeVcpusBeforeScaleIn: 2 } })],
      exact: true,
    },
    {
      name: 'a NACK -> fail naming the project',
      given: () => ({
        session: freshMaintenance(),
        hosts: [host('c1')],
        projects: [acked('p1'), askedMaintenance('p-no', { replyState: 'NACK_MAINTENANCE', repliedAt: T0 - 30 * SEC })],
      }),
      now: T0 + SEC,
      expected: [{ kind: 'fail', cause: expect.stringMatching(/p-no.*NACK_MAINTENANCE/) }],
      exact: true,
    },
    {
      name: 'the reply deadline passed without an answer -> fail naming the late project',
      given: () => ({ session: freshMaintenance(), hosts: [host('c1')], projects: [acked('p1'), askedMaintenance('p-late', { replyAt: T0 + 20 * SEC })] }),
      now: T0 + 20 * SEC,
      expected: [{ kind: 'fail', cause: expect.stringMatching(/p-late.*deadline/) }],
      exact: true,
    },
    {
      name: 'before the deadline, an unanswered project -> wait for it until its deadline',
      given: () => ({ session: freshMaintenance(), hosts: [host('c1')], projects: [acked('p1'), askedMaintenance('p2', { replyAt: T0 + 20 * SEC })] }),
      now: T0 + 19 * SEC,
      expected: [{ kind: 'wait', until: T0 + 20 * SEC, reason: expect.stringContaining('p2') }],
      exact: true,
    },
    {
      name: 'event: the last ACK arrives after the last read -> sync every host to measure capacity',
      given: () => ({
        session: freshMaintenance(),
        hosts: [host('c1')],
        projects: [acked('p1'), askedMaintenance('p2')],
        event: (m) => m.updateProject('p2', { replyState: 'ACK_MAINTENANCE', repliedAt: T0 + 5 * SEC }),
      }),
      now: T0 + 6 * SEC,
      expected: [{ kind: 'sync', hosts: null, reason: expect.any(String) }],
      exact: true,
    },
    {
      name: 'a pre plug-in is run before capacity is measured',
      given: () => ({
        session: freshMaintenance({ actions: [{ plugin: 'drain-lb', type: 'pre', metadata: {} }] }),
        hosts: [host('c1')],
        projects: [acked('p1')],
      }),
      now: T0 + SEC,
      expected: [starting({ kind: 'plugin', key: 'pre:0', target: 'localhost', params: like({ plugin: 'drain-lb', type: 'pre' }) })],
      exact: true,
    },
  ];
  it.each(rows)('$name', (row) => {
    check(row);
  });
});

// ---- rolling: PREPARE_MAINTENANCE, START_MAINTENANCE, PLANNED_MAINTENANCE

const rollingSession = (patch: Partial<Session> = {}, options: Partial<Session['options']> = {}) =>
  session({ state: 'START_MAINTENANCE', syncedAt: T0, stateEnteredAt: T0 - 60 * SEC, data: { waves: 0 }, ...patch, options: { ...session().options, ...options } });

/** A maintained, enabled compute (a target for moves in the planned phase). */
const maintained = (name: string, vcpus = 4) => host(name, { state: 'MAINTAINED', vcpus, wave: 0 });
/** A pending compute already disabled for scheduling (the gate is down). */
const pendingOff = (name: string) => host(name, { disabled: true });

/** Two maintained hosts with 4 + 4 vCPUs of room; c1 holds 2, c2 4, c3 6 vCPUs (the order they are emptied in). */
const plannedCloud = (options: Partial<Session['options']>, room = 4): Given => ({
  session: rollingSession({}, options),
  hosts: [maintained('m1', room), maintained('m2', room), pendingOff('c1'), pendingOff('c2'), pendingOff('c3')],
  projects: [project('p1'), project('p2'), project('p3')],
  instances: [
    instance('i1', 'c1', { projectId: 'p1' }),
    instance('i2', 'c2', { projectId: 'p1' }),
    instance('i3', 'c2', { projectId: 'p2' }),
    instance('i4', 'c3', { projectId: 'p3' }),
    instance('i5', 'c3', { projectId: 'p3' }),
    instance('i6', 'c3', { projectId: 'p3' }),
  ],
});

/** The instance rows of a wave: leaving `from` for `to`, with the project's action when it answered. */
const leaving = (id: string, from: string, to: string, patch: Partial<Instance> = {}) =>
  instance(id, from, { wave: 1, target: to, projectState: 'PLANNED_MAINTENANCE', ...patch });
const waveProject = (id: string, patch: Partial<Project> = {}) =>
  project(id, { state: 'PLANNED_MAINTENANCE', visit: 1, wave: 1, replyAt: T0 + 20 * SEC, ...patch });
const waveAcked = (id: string) => waveProject(id, { replyState: 'ACK_PLANNED_MAINTENANCE', repliedAt: T0 - 10 * SEC });
const emptying = (name: string, patch: Partial<Host> = {}) => host(name, { state: 'EMPTYING', wave: 1, disabled: true, since: T0 - 30 * SEC, ...patch });
const inWaveSession = (options: Partial<Session['options']> = {}) =>
  rollingSession({ state: 'PLANNED_MAINTENANCE', data: { waves: 1, waveState: 'PLANNED_MAINTENANCE' } }, options);

/** A session whose wave 1 was asked and answered with `action` for i1..i3 on c1 (moving to m1). */
const answeredWave = (action: Instance['action'], options: Partial<Session['options']> = {}, operations: Operation[] = []): Given => ({
  session: inWaveSession(options),
  hosts: [maintained('m1', 16), emptying('c1')],
  projects: [waveAcked('p1')],
  instances: ['i1', 'i2', 'i3'].map((id) => leaving(id, 'c1', 'm1', { action })),
  operations,
});
const runningMove = (id: string) => operation(`move:${id}:w1`, { kind: 'migrate', target: id, status: 'requested', params: { from: 'c1', to: 'm1' } });

const hostOp = (name: string, step: number, patch: Partial<Operation> = {}) =>
  operation(`host:${name}:${step}`, { kind: step === 0 ? 'host_maintenance' : 'plugin', target: name, ...patch });

function waveOf(effects: Effect[]) {
  const waves = effects.filter((e): e is Extract<Effect, { kind: 'wave' }> => e.kind === 'wave');
  expect(waves).toHaveLength(1);
  return waves[0]!;
}

describe('rolling: waves', () => {
  it.each([
    { maxParallelHosts: 1 as const, hosts: ['c1'], instances: ['i1'], projects: ['p1'] },
    { maxParallelHosts: 2 as const, hosts: ['c1', 'c2'], instances: ['i1', 'i2', 'i3'], projects: ['p1', 'p2'] },
    // 8 vCPUs of room: c1 (2) and c2 (4) fit, c3 (6) does not fit in the 2 left.
    { maxParallelHosts: 'auto' as const, hosts: ['c1', 'c2'], instances: ['i1', 'i2', 'i3'], projects: ['p1', 'p2'] },
    { maxParallelHosts: 5 as const, hosts: ['c1', 'c2'], instances: ['i1', 'i2', 'i3'], projects: ['p1', 'p2'] },
    // 2 x 8 vCPUs of room: all three fit.
    { maxParallelHosts: 'auto' as const, room: 8, hosts: ['c1', 'c2', 'c3'], instances: ['i1', 'i2', 'i3', 'i4', 'i5', 'i6'], projects: ['p1', 'p2', 'p3'] },
    { maxParallelHosts: 2 as const, room: 8, hosts: ['c1', 'c2'], instances: ['i1', 'i2', 'i3'], projects: ['p1', 'p2'] },
  ])('maxParallelHosts $maxParallelHosts (room $room) -> a wave of $hosts, moves only to maintained hosts, one PLANNED_MAINTENANCE ask', (row: { maxParallelHosts: number | 'auto'; room?: number; hosts: string[]; instances: string[]; projects: string[] }) => {
    const effects = plan(plannedCloud({ maxParallelHosts: row.maxParallelHosts }, row.room ?? 4), T0);
    const wave = waveOf(effects);
    expect(wave).toEqual({ kind: 'wave', wave: 1, hosts: row.hosts, moves: expect.any(Array) });
    expect(wave.moves.map((mv) => mv.instanceId).sort()).toEqual(row.instances);
    for (const mv of wave.moves) expect(['m1', 'm2']).toContain(mv.to);
    const asks = effects.filter((e) => e.kind === 'ask');
    expect(asks).toEqual([
      {
        kind: 'ask',
        state: 'PLANNED_MAINTENANCE',
        projects: row.projects,
        instances: expect.arrayContaining(row.instances),
        allowedActions: ['MIGRATE', 'LIVE_MIGRATE', 'OWN_ACTION'],
        replyAt: T0 + 20 * SEC,
        actionsAt: T0 + 20 * SEC,
        wave: 1,
      },
    ]);
    expect(asks[0]).toHaveProperty('instances.length', row.instances.length);
    // The session shows the question being asked.
    expect(effects).toContainEqual(like({ kind: 'transition', to: 'PLANNED_MAINTENANCE' }));
  });

  it('the room reserved by the moves of a planned wave is not counted again: nothing oversubscribes a maintained host', () => {
    const effects = plan(plannedCloud({ maxParallelHosts: 'auto' }), T0);
    const wave = waveOf(effects);
    const onto = new Map<string, number>();
    for (const mv of wave.moves) onto.set(mv.to, (onto.get(mv.to) ?? 0) + 2);
    for (const used of onto.values()) expect(used).toBeLessThanOrEqual(4);
  });

  it('before any compute is maintained (prepare), moves go only to other pending computes, never to an emptying one', () => {
    const effects = plan(
      {
        session: rollingSession({ state: 'PREPARE_MAINTENANCE', data: { waves: 1, waveState: 'PREPARE_MAINTENANCE' } }, { maxParallelHosts: 1 }),
        hosts: [host('c1'), host('c2'), emptying('c0', { disabled: false })],
        projects: [project('p1')],
        instances: [instance('i1', 'c1'), instance('i2', 'c2'), instance('i3', 'c2'), instance('i0', 'c0', { wave: 1, target: 'c2', action: 'MIGRATE' })],
        operations: [runningMove('i0')],
      },
      T0,
    );
    // c0 is already in flight: with one slot there is no room for another wave.
    expect(effects.filter((e) => e.kind === 'wave')).toEqual([]);
    const two = plan(
      {
        session: rollingSession({ state: 'PREPARE_MAINTENANCE', data: { waves: 1, waveState: 'PREPARE_MAINTENANCE' } }, { maxParallelHosts: 2 }),
        hosts: [host('c1'), host('c2'), emptying('c0', { disabled: false })],
        projects: [project('p1')],
        instances: [instance('i1', 'c1'), instance('i2', 'c2'), instance('i3', 'c2'), instance('i0', 'c0', { wave: 1, target: 'c2', action: 'MIGRATE' })],
        operations: [runningMove('i0')],
      },
      T0,
    );
    const wave = waveOf(two);
    expect(wave.hosts).toEqual(['c1']);
    expect(wave.moves).toEqual([{ instanceId: 'i1', to: 'c2' }]);
    expect(two).toContainEqual(like({ kind: 'ask', state: 'PREPARE_MAINTENANCE', projects: ['p1'], wave: 2 }));
  });

  const rows: Row[] = [
    {
      name: 'a wave question is open -> no new wave (waiting for the answer)',
      given: () => ({
        session: inWaveSession({ maxParallelHosts: 3 }),
        hosts: [maintained('m1', 16), emptying('c1'), pendingOff('c2')],
        projects: [waveProject('p1'), project('p2')],
        instances: [leaving('i1', 'c1', 'm1'), instance('i2', 'c2', { projectId: 'p2' })],
      }),
      now: T0,
      expected: [{ kind: 'wait', until: T0 + 20 * SEC, reason: expect.stringContaining('p1') }],
      absent: [anyOf('wave'), anyOf('ask')],
    },
    {
      name: 'a wave question was NACKed -> fail naming the project, no new wave',
      given: () => ({
        session: inWaveSession({ maxParallelHosts: 3 }),
        hosts: [maintained('m1', 16), emptying('c1'), pendingOff('c2')],
        projects: [waveProject('p1', { replyState: 'NACK_PLANNED_MAINTENANCE', repliedAt: T0 - SEC }), project('p2')],
        instances: [leaving('i1', 'c1', 'm1'), instance('i2', 'c2', { projectId: 'p2' })],
      }),
      now: T0,
      expected: [{ kind: 'fail', cause: expect.stringMatching(/p1.*NACK_PLANNED_MAINTENANCE/) }],
      absent: [anyOf('wave')],
    },
    {
      name: 'a wave question missed its deadline -> fail',
      given: () => ({
        session: inWaveSession(),
        hosts: [maintained('m1', 16), emptying('c1')],
        projects: [waveProject('p1')],
        instances: [leaving('i1', 'c1', 'm1')],
      }),
      now: T0 + 20 * SEC,
      expected: [{ kind: 'fail', cause: expect.stringMatching(/p1.*PLANNED_MAINTENANCE.*deadline/) }],
    },
    {
      name: 'after a restart, wave instances without an answer are asked about again',
      given: () => ({
        session: inWaveSession(),
        hosts: [maintained('m1', 16), emptying('c1')],
        projects: [waveProject('p1', { visit: 0 })],
        instances: [leaving('i1', 'c1', 'm1')],
        freshlyLoaded: true,
      }),
      now: T0,
      expected: [like({ kind: 'ask', state: 'PLANNED_MAINTENANCE', projects: ['p1'], instances: ['i1'], wave: 1 })],
    },
  ];
  it.each(rows)('$name', (row) => {
    check(row);
  });
});

describe('rolling: moves', () => {
  it.each([
    { name: 'MIGRATE, maxMigrations 10, none running -> all three moves start', action: 'MIGRATE' as const, max: 10, running: [] as string[], starts: ['i1', 'i2', 'i3'], kind: 'migrate' },
    { name: 'LIVE_MIGRATE -> live_migrate operations', action: 'LIVE_MIGRATE' as const, max: 10, running: [], starts: ['i1', 'i2', 'i3'], kind: 'live_migrate' },
    { name: 'maxMigrations 2, none running -> two start', action: 'MIGRATE' as const, max: 2, running: [], starts: ['i1', 'i2'], kind: 'migrate' },
    { name: 'maxMigrations 2, one running -> one more starts', action: 'MIGRATE' as const, max: 2, running: ['i1'], starts: ['i2'], kind: 'migrate' },
    { name: 'maxMigrations 2, two running -> none starts', action: 'MIGRATE' as const, max: 2, running: ['i1', 'i2'], starts: [], kind: 'migrate' },
  ])('$name', (row) => {
    const effects = plan(answeredWave(row.action, { maxMigrations: row.max }, row.running.map(runningMove)), T0);
    const starts = effects.filter((e): e is Extract<Effect, { kind: 'start' }> => e.kind === 'start');
    expect(starts.map((e) => e.operation.target)).toEqual(row.starts);
    for (const e of starts) {
      expect(e.operation).toEqual({
        kind: row.kind,
        target: e.operation.target,
        key: `move:${e.operation.target}:w1`,
        params: { name: `vm-${e.operation.target}`, from: 'c1', to: 'm1' },
        deadline: T0 + 600 * SEC,
      });
    }
  });

  it('moves already running elsewhere count against maxMigrations', () => {
    const other = operation('move:x9:w1', { kind: 'live_migrate', target: 'x9', status: 'started' });
    const effects = plan(answeredWave('MIGRATE', { maxMigrations: 2 }, [other]), T0);
    expect(effects.filter((e) => e.kind === 'start')).toHaveLength(1);
  });

  const rows: Row[] = [
    {
      name: 'a failed move -> fail with a cause naming the instance',
      given: () => answeredWave('MIGRATE', {}, [operation('move:i2:w1', { kind: 'migrate', target: 'i2', status: 'failed', cause: 'no valid host', params: { from: 'c1', to: 'm1' } })]),
      now: T0,
      expected: [{ kind: 'fail', cause: expect.stringMatching(/vm-i2 \(i2\).*c1.*no valid host/) }],
      absent: [anyOf('wave')],
    },
    {
      name: 'a move that failed in an earlier attempt is started again after a continue',
      given: () => {
        const g = answeredWave('MIGRATE', {}, [operation('move:i2:w1', { kind: 'migrate', target: 'i2', status: 'failed', cause: 'no valid host', attempt: 1 })]);
        return { ...g, session: { ...g.session, attempt: 2 } };
      },
      now: T0,
      expected: [starting({ key: 'move:i2:w1' })],
      absent: [anyOf('fail')],
    },
    {
      name: 'event: an instance moved off its wave host -> instances-done for it, and a read of the host it left',
      given: () => ({ ...answeredWave('MIGRATE', {}, [runningMove('i1')]), event: (m) => m.updateInstance('i1', { host: 'm1' }) }),
      now: T0,
      expected: [{ kind: 'instances-done', instances: ['i1'] }],
      absent: [starting({ key: 'move:i1:w1' })],
    },
    {
      name: 'OWN_ACTION: the host is read again to see whether the instances left',
      given: () => answeredWave('OWN_ACTION'),
      now: T0,
      expected: [{ kind: 'sync', hosts: ['c1'], reason: expect.any(String) }],
      absent: [anyOf('start')],
    },
    {
      name: 'OWN_ACTION not done by the host-empty timeout -> fail naming the project and instance',
      given: () => answeredWave('OWN_ACTION'),
      now: T0 - 10 * SEC + 240 * SEC,
      expected: [{ kind: 'fail', cause: expect.stringMatching(/p1.*OWN_ACTION.*vm-i1.*c1/) }],
    },
  ];
  it.each(rows)('$name', (row) => {
    check(row);
  });
});

describe('rolling: lanes', () => {
  /** Computes all maintained or disabled except those listed; the session's wave 1 is done moving. */
  const lanes = (hosts: Host[], patch: Partial<Session> = {}, operations: Operation[] = [], instances: Instance[] = []): Given => ({
    session: rollingSession({ data: { waves: 1, waveState: 'PLANNED_MAINTENANCE' }, ...patch }),
    hosts,
    projects: [waveAcked('p1')],
    instances,
    operations,
  });
  it('an instance found on a host being emptied, in no wave, leaves in a wave of its own with its project asked', () => {
    const g = lanes([maintained('m1', 16), emptying('c1')], {}, [], [instance('x', 'c1', { projectId: 'p1' })]);
    const effects = plan(g, T0);
    expect(effects).toContainEqual({ kind: 'wave', wave: 2, hosts: [], moves: [{ instanceId: 'x', to: 'm1' }] });
    expect(effects).toContainEqual(like({ kind: 'ask', state: 'PLANNED_MAINTENANCE', projects: ['p1'], instances: ['x'], wave: 2 }));
  });

  it('an instance found on a host being emptied with no room anywhere fails the session, naming it', () => {
    const effects = plan(lanes([maintained('m1', 1), emptying('c1')], {}, [], [instance('x', 'c1', { projectId: 'p1' })]), T0);
    expect(effects).toEqual([like({ kind: 'fail', cause: expect.stringMatching(/vm-x on c1 appeared while the host was being emptied/) })]);
  });

  const rows: Row[] = [
    {
      name: 'an EMPTYING host without instances, not read since they left -> a sync of that host only',
      given: () => lanes([maintained('m1', 16), emptying('c1', { vcpusUsed: 2 }), emptying('c2')], {}, [], [instance('i9', 'c2', { wave: 1, target: 'm1', action: 'MIGRATE' })]),
      now: T0,
      expected: [{ kind: 'sync', hosts: ['c1'], reason: expect.any(String) }],
      absent: [like({ kind: 'lane', host: 'c1' })],
    },
    {
      name: 'event: the last instance left the EMPTYING host -> a sync of that host',
      given: () => ({
        ...lanes([maintained('m1', 16), emptying('c1', { vcpusUsed: 2 })], {}, [runningMove('i1')], [leaving('i1', 'c1', 'm1', { action: 'MIGRATE' })]),
        synced: { hosts: ['c1'], at: T0 - SEC },
        event: (m) => m.updateInstance('i1', { host: 'm1' }),
      }),
      now: T0,
      expected: [{ kind: 'sync', hosts: ['c1'], reason: expect.any(String) }, { kind: 'instances-done', instances: ['i1'] }],
    },
    {
      name: 'the read after the instances left shows 0 vCPUs used -> lane EMPTY',
      given: () => ({ ...lanes([maintained('m1', 16), emptying('c1', { vcpusUsed: 0 })]), synced: { hosts: ['c1'], at: T0 - SEC } }),
      now: T0,
      expected: [{ kind: 'lane', host: 'c1', to: 'EMPTY' }],
      absent: [anyOf('sync')],
    },
    {
      name: 'the read still shows vCPUs in use -> wait for the next poll, no lane change',
      given: () => ({ ...lanes([maintained('m1', 16), emptying('c1', { vcpusUsed: 2 })]), synced: { hosts: ['c1'], at: T0 - SEC } }),
      now: T0,
      expected: [{ kind: 'wait', until: T0 - SEC + 5 * SEC, reason: expect.stringContaining('c1') }],
      absent: [like({ kind: 'lane', host: 'c1' })],
    },
    {
      name: 'the host still reports usage past the host-empty timeout -> fail',
      given: () => ({ ...lanes([maintained('m1', 16), emptying('c1', { vcpusUsed: 2, since: T0 - 240 * SEC })]), synced: { hosts: ['c1'], at: T0 - SEC } }),
      now: T0,
      expected: [{ kind: 'fail', cause: expect.stringMatching(/c1 still reports 2 vCPUs/) }],
    },
    {
      name: 'an EMPTY compute while unmaintained computes are enabled -> disable_host for each of them, no maintenance yet',
      given: () => lanes([maintained('m1', 16), host('c1', { state: 'EMPTY', wave: 1 }), host('c2'), host('c3', { disabledBefore: true }), pendingOff('c4')]),
      now: T0,
      expected: [
        starting({ kind: 'disable_host', target: 'c1', key: 'disable:c1' }),
        starting({ kind: 'disable_host', target: 'c2', key: 'disable:c2' }),
      ],
      absent: [starting({ target: 'c3' }), starting({ target: 'c4' }), like({ kind: 'lane', to: 'IN_MAINTENANCE' })],
    },
    {
      name: 'an EMPTY compute while a wave instance is still moving -> only the emptying host leaves scheduling, no maintenance yet',
      given: () =>
        lanes([maintained('m1', 16), host('c1', { state: 'EMPTY', wave: 1 }), host('c2', { state: 'EMPTYING', wave: 1 })], {}, [runningMove('i1')], [leaving('i1', 'c2', 'm1', { action: 'MIGRATE' })]),
      now: T0,
      expected: [starting({ kind: 'disable_host', target: 'c2' })],
      absent: [starting({ kind: 'disable_host', target: 'c1' }), like({ kind: 'lane', to: 'IN_MAINTENANCE' })],
    },
    {
      name: 'a disable_host under way -> wait for it, still no maintenance',
      given: () =>
        lanes([maintained('m1', 16), host('c1', { state: 'EMPTY', wave: 1, disabled: true }), host('c2')], {}, [
          operation('disable:c2', { kind: 'disable_host', target: 'c2', status: 'requested', checkAt: T0 + 2 * SEC }),
        ]),
      now: T0,
      expected: [{ kind: 'wait', until: T0 + 2 * SEC, reason: expect.stringContaining('c2') }],
      absent: [like({ kind: 'lane', to: 'IN_MAINTENANCE' })],
    },
    {
      name: 'EMPTY computes once no unmaintained compute is enabled -> lane IN_MAINTENANCE for each',
      given: () => lanes([maintained('m1', 16), host('c1', { state: 'EMPTY', wave: 1, disabled: true }), host('c2', { state: 'EMPTY', wave: 1, disabled: true }), pendingOff('c3')]),
      now: T0,
      expected: [
        { kind: 'lane', host: 'c1', to: 'IN_MAINTENANCE' },
        { kind: 'lane', host: 'c2', to: 'IN_MAINTENANCE' },
      ],
    },
    {
      name: 'IN_MAINTENANCE host without its step started -> start host_maintenance',
      given: () => lanes([maintained('m1', 16), host('c1', { state: 'IN_MAINTENANCE', wave: 1, disabled: true })]),
      now: T0,
      expected: [starting({ kind: 'host_maintenance', target: 'c1', key: 'host:c1:0' })],
      absent: [anyOf('step')],
    },
    {
      name: 'host_maintenance running -> wait until its next check',
      given: () => lanes([maintained('m1', 16), host('c1', { state: 'IN_MAINTENANCE', wave: 1, disabled: true })], {}, [hostOp('c1', 0, { status: 'requested', checkAt: T0 + 3 * SEC })]),
      now: T0,
      expected: [{ kind: 'wait', until: T0 + 3 * SEC, reason: expect.stringContaining('c1') }],
      absent: [anyOf('step')],
    },
    {
      name: 'event: host_maintenance done, no plug-ins -> step 1 and lane MAINTAINED',
      given: () => {
        const op = hostOp('c1', 0, { status: 'requested' });
        return { ...lanes([maintained('m1', 16), host('c1', { state: 'IN_MAINTENANCE', wave: 1, disabled: true })], {}, [op]), event: (m) => m.putOperation({ ...op, status: 'done' }) };
      },
      now: T0,
      expected: [
        { kind: 'step', host: 'c1', step: 1 },
        { kind: 'lane', host: 'c1', to: 'MAINTAINED' },
      ],
    },
    {
      name: 'host_maintenance done with a host plug-in to follow -> step 1 only',
      given: () =>
        lanes([maintained('m1', 16), host('c1', { state: 'IN_MAINTENANCE', wave: 1, disabled: true })], { actions: [{ plugin: 'firmware', type: 'compute', metadata: {} }] }, [hostOp('c1', 0, { status: 'done' })]),
      now: T0,
      expected: [{ kind: 'step', host: 'c1', step: 1 }],
      absent: [like({ kind: 'lane', host: 'c1' })],
    },
    {
      name: 'at step 1 with the plug-in not started -> start it on the host',
      given: () =>
        lanes([maintained('m1', 16), host('c1', { state: 'IN_MAINTENANCE', wave: 1, disabled: true, step: 1 })], { actions: [{ plugin: 'firmware', type: 'compute', metadata: {} }] }, [hostOp('c1', 0, { status: 'done' })]),
      now: T0,
      expected: [starting({ kind: 'plugin', target: 'c1', key: 'host:c1:1', params: like({ plugin: 'firmware' }) })],
    },
    {
      name: 'the last plug-in done -> step 2 and lane MAINTAINED',
      given: () =>
        lanes([maintained('m1', 16), host('c1', { state: 'IN_MAINTENANCE', wave: 1, disabled: true, step: 1 })], { actions: [{ plugin: 'firmware', type: 'compute', metadata: {} }] }, [
          hostOp('c1', 0, { status: 'done' }),
          hostOp('c1', 1, { status: 'done' }),
        ]),
      now: T0,
      expected: [
        { kind: 'step', host: 'c1', step: 2 },
        { kind: 'lane', host: 'c1', to: 'MAINTAINED' },
      ],
    },
    {
      name: 'a failed host_maintenance -> fail carrying the host',
      given: () => lanes([maintained('m1', 16), host('c1', { state: 'IN_MAINTENANCE', wave: 1, disabled: true })], {}, [hostOp('c1', 0, { status: 'failed', cause: 'BMC unreachable' })]),
      now: T0,
      expected: [{ kind: 'fail', cause: expect.stringMatching(/c1.*BMC unreachable/), host: 'c1' }],
    },
    {
      name: 'a maintained host this session disabled -> enable_host',
      given: () => lanes([maintained('m1', 16), host('c1', { state: 'MAINTAINED', wave: 1, disabled: true }), host('c2', { state: 'MAINTAINED', disabledBefore: true, disabled: true })]),
      now: T0,
      expected: [starting({ kind: 'enable_host', target: 'c1', key: 'enable:c1' })],
      absent: [starting({ target: 'c2' }), like({ kind: 'transition', to: 'MAINTENANCE_COMPLETE' })],
    },
    {
      name: 'controllers PENDING -> the first one (by name) IN_MAINTENANCE, no compute enters maintenance',
      given: () =>
        lanes([
          maintained('m1', 16),
          host('ctl-b', { type: 'controller' }),
          host('ctl-a', { type: 'controller' }),
          host('c1', { state: 'EMPTY', wave: 1, disabled: true }),
        ]),
      now: T0,
      expected: [{ kind: 'lane', host: 'ctl-a', to: 'IN_MAINTENANCE' }],
      absent: [like({ kind: 'lane', host: 'ctl-b' }), like({ kind: 'lane', host: 'c1' })],
    },
    {
      name: 'a controller IN_MAINTENANCE -> its step runs, the next controller and the computes wait',
      given: () =>
        lanes([
          maintained('m1', 16),
          host('ctl-a', { type: 'controller', state: 'IN_MAINTENANCE' }),
          host('ctl-b', { type: 'controller' }),
          host('c1', { state: 'EMPTY', wave: 1, disabled: true }),
        ]),
      now: T0,
      expected: [starting({ kind: 'host_maintenance', target: 'ctl-a', key: 'host:ctl-a:0' })],
      absent: [like({ kind: 'lane', host: 'ctl-b' }), like({ kind: 'lane', host: 'c1' }), anyOf('wave')],
    },
    {
      name: 'every host maintained, nothing disabled, nothing running -> MAINTENANCE_COMPLETE alone',
      given: () => lanes([maintained('m1', 16), maintained('c1'), host('ctl-a', { type: 'controller', state: 'MAINTAINED' })]),
      now: T0,
      expected: [{ kind: 'transition', to: 'MAINTENANCE_COMPLETE', reason: expect.any(String) }],
      exact: true,
    },
    {
      name: 'every host maintained from PLANNED_MAINTENANCE -> MAINTENANCE_COMPLETE',
      given: () => lanes([maintained('m1', 16), maintained('c1')], { state: 'PLANNED_MAINTENANCE' }),
      now: T0,
      expected: [{ kind: 'transition', to: 'MAINTENANCE_COMPLETE', reason: expect.any(String) }],
      exact: true,
    },
  ];
  it.each(rows)('$name', (row) => {
    check(row);
  });
});

// ---- MAINTENANCE_COMPLETE

describe('MAINTENANCE_COMPLETE', () => {
  const posts = [
    { plugin: 'notify-b', type: 'post' as const, metadata: {} },
    { plugin: 'audit-a', type: 'post' as const, metadata: { level: 1 } },
    { plugin: 'drain-lb', type: 'pre' as const, metadata: {} },
  ];
  const complete = (operations: Operation[] = [], projects: Project[] = [project('p1'), project('p2')], patch: Partial<Session> = {}): Given => ({
    session: session({ state: 'MAINTENANCE_COMPLETE', visit: 5, stateEnteredAt: T0 - 60 * SEC, syncedAt: T0 - 60 * SEC, actions: posts, ...patch }),
    hosts: [maintained('c1'), maintained('c2')],
    projects,
    instances: [instance('i1', 'c1'), instance('i2', 'c2', { projectId: 'p2' })],
    operations,
  });
  const post = (i: number, status: Operation['status']) => operation(`post:${i}`, { kind: 'plugin', target: 'localhost', status });
  const askedComplete = (id: string, patch: Partial<Project> = {}) => project(id, { state: 'MAINTENANCE_COMPLETE', visit: 5, replyAt: T0 + 60 * SEC, ...patch });
  const ackedComplete = (id: string, at: number) => askedComplete(id, { replyState: 'ACK_MAINTENANCE_COMPLETE', repliedAt: at });

  const rows: Row[] = [
    {
      name: 'no post plug-in run -> the first in name order starts (pre plug-ins are not run again)',
      given: () => complete(),
      now: T0,
      expected: [starting({ kind: 'plugin', target: 'localhost', key: 'post:0', params: { plugin: 'audit-a', type: 'post', metadata: { level: 1 } } })],
      exact: true,
    },
    {
      name: 'the first post plug-in running -> wait, nothing else',
      given: () => complete([post(0, 'requested')]),
      now: T0,
      expected: [like({ kind: 'wait' })],
      exact: true,
    },
    {
      name: 'event: the first post plug-in done -> the second starts',
      given: () => {
        const op = post(0, 'requested');
        return { ...complete([op]), event: (m) => m.putOperation({ ...op, status: 'done' }) };
      },
      now: T0,
      expected: [starting({ kind: 'plugin', key: 'post:1', params: like({ plugin: 'notify-b' }) })],
      exact: true,
    },
    {
      name: 'a failed post plug-in -> fail naming it',
      given: () => complete([{ ...post(0, 'failed'), cause: 'exit 3' }]),
      now: T0,
      expected: [{ kind: 'fail', cause: expect.stringMatching(/audit-a.*exit 3/) }],
      exact: true,
    },
    {
      name: 'post plug-ins done -> one ask of every project with the scale-in timeout',
      given: () => complete([post(0, 'done'), post(1, 'done')]),
      now: T0,
      expected: [
        {
          kind: 'ask',
          state: 'MAINTENANCE_COMPLETE',
          projects: ['p1', 'p2'],
          instances: ['i1', 'i2'],
          allowedActions: [],
          replyAt: T0 + 60 * SEC,
          actionsAt: T0 + 60 * SEC,
          wave: null,
        },
      ],
      exact: true,
    },
    {
      name: 'one project still to answer -> wait for it',
      given: () => complete([post(0, 'done'), post(1, 'done')], [ackedComplete('p1', T0 - 30 * SEC), askedComplete('p2')]),
      now: T0,
      expected: [{ kind: 'wait', until: T0 + 60 * SEC, reason: expect.stringContaining('p2') }],
      exact: true,
    },
    {
      name: 'all ACKed after the last read -> sync every host first',
      given: () => complete([post(0, 'done'), post(1, 'done')], [ackedComplete('p1', T0 - 30 * SEC), ackedComplete('p2', T0 - 20 * SEC)]),
      now: T0,
      expected: [{ kind: 'sync', hosts: null, reason: expect.any(String) }],
      exact: true,
    },
    {
      name: 'all ACKed and the view fresh -> MAINTENANCE_DONE',
      given: () =>
        complete([post(0, 'done'), post(1, 'done')], [ackedComplete('p1', T0 - 30 * SEC), ackedComplete('p2', T0 - 20 * SEC)], { syncedAt: T0 - 10 * SEC }),
      now: T0,
      expected: [{ kind: 'transition', to: 'MAINTENANCE_DONE', reason: expect.any(String) }],
      exact: true,
    },
    {
      name: 'a NACK of MAINTENANCE_COMPLETE -> fail',
      given: () =>
        complete([post(0, 'done'), post(1, 'done')], [ackedComplete('p1', T0 - 30 * SEC), askedComplete('p2', { replyState: 'NACK_MAINTENANCE_COMPLETE', repliedAt: T0 - SEC })], { syncedAt: T0 }),
      now: T0,
      expected: [{ kind: 'fail', cause: expect.stringMatching(/p2.*NACK_MAINTENANCE_COMPLETE/) }],
      exact: true,
    },
  ];
  it.each(rows)('$name', (row) => {
    check(row);
  });
});

// ---- SCALE_IN

describe('SCALE_IN', () => {
  const scale = (patch: Partial<Session>, projects: Project[], instances: Instance[]): Given => ({
    session: session({ state: 'SCALE_IN', visit: 3, syncedAt: T0, data: { freeVcpusBeforeScaleIn: 2 }, ...patch }),
    hosts: [host('c1'), host('c2')],
    projects,
    instances,
  });
  const full = () => [...['a', 'b', 'c', 'd'].map((x) => instance(`i${x}`, 'c1')), ...['e', 'f', 'g'].map((x) => instance(`i${x}`, 'c2'))];
  const ackedScale = (id: string) => project(id, { state: 'SCALE_IN', visit: 3, replyState: 'ACK_SCALE_IN', replyAt: T0 + 60 * SEC, repliedAt: T0 - SEC });
  const rows: Row[] = [
    {
      name: 'not asked -> one ask of every project with the scale-in timeout',
      given: () => scale({}, [project('p1')], full()),
      now: T0,
      expected: [like({ kind: 'ask', state: 'SCALE_IN', projects: ['p1'], replyAt: T0 + 60 * SEC })],
      exact: true,
    },
    {
      name: 'ACKed but nothing freed -> fail saying scale-in freed no capacity',
      given: () => scale({}, [ackedScale('p1')], full()),
      now: T0,
      expected: [{ kind: 'fail', cause: expect.stringMatching(/freed no capacity/) }],
      exact: true,
    },
    {
      name: 'event: the project removed three instances -> c1 fits on c2 -> PREPARE_MAINTENANCE',
      given: () => ({ ...scale({}, [ackedScale('p1')], full()), event: (m) => ['ia', 'ib', 'ic'].forEach((id) => m.removeInstance(id)) }),
      now: T0,
      expected: [like({ kind: 'transition', to: 'PREPARE_MAINTENANCE' })],
      exact: true,
    },
    {
      name: 'event: the project removed every instance of c1 -> START_MAINTENANCE',
      given: () => ({ ...scale({}, [ackedScale('p1')], full()), event: (m) => ['ia', 'ib', 'ic', 'id'].forEach((id) => m.removeInstance(id)) }),
      now: T0,
      expected: [like({ kind: 'transition', to: 'START_MAINTENANCE' })],
      exact: true,
    },
  ];
  it.each(rows)('$name', (row) => {
    check(row);
  });

  // A scale-in round that freed some capacity but not enough asks for another round.
  it('event: the project removed one instance (4 vCPUs free, 2 before, still no room) -> another SCALE_IN round the table allows', () => {
    check({
      name: 'partial scale-in',
      given: () => ({ ...scale({}, [ackedScale('p1')], full()), event: (m) => m.removeInstance('ia') }),
      now: T0,
      expected: [like({ kind: 'transition', to: 'SCALE_IN', data: like({ freeVcpusBeforeScaleIn: 4 }) })],
      exact: true,
    });
  });
});

// ---- the move scan while every migration slot is in use

describe('rolling: moves while maxMigrations are all in use', () => {
  /** c1: i1 moving (its operation running), i2 waiting for a free slot; c2: i3 whose project moves it itself. */
  const saturated = (extra: Operation[] = []): Given => ({
    session: inWaveSession({ maxMigrations: 1 }),
    hosts: [maintained('m1', 16), emptying('c1'), emptying('c2')],
    projects: [waveAcked('p1'), waveAcked('p2')],
    instances: [
      leaving('i1', 'c1', 'm1', { action: 'MIGRATE' }),
      leaving('i2', 'c1', 'm1', { action: 'MIGRATE' }),
      leaving('i3', 'c2', 'm1', { action: 'OWN_ACTION', projectId: 'p2' }),
      leaving('i4', 'c2', 'm1', { action: 'MIGRATE', projectId: 'p2' }),
    ],
    operations: [runningMove('i1'), ...extra],
  });

  it('no slot free -> no move starts', () => {
    const effects = plan(saturated(), T0);
    expect(effects.filter((e) => e.kind === 'start')).toEqual([]);
  });

  it('control: with a slot free, the same OWN_ACTION instance past its timeout fails the session', () => {
    const g = saturated();
    const effects = plan({ ...g, session: { ...g.session, options: { ...g.session.options, maxMigrations: 10 } } }, T0 - 10 * SEC + 240 * SEC);
    expect(effects).toContainEqual({ kind: 'fail', cause: expect.stringMatching(/p2.*OWN_ACTION.*vm-i3/) });
  });

  it('control: with a slot free, the same failed move fails the session', () => {
    const failed = operation('move:i4:w1', { kind: 'migrate', target: 'i4', status: 'failed', cause: 'no valid host', params: { from: 'c2', to: 'm1' } });
    const g = saturated([failed]);
    const effects = plan({ ...g, session: { ...g.session, options: { ...g.session.options, maxMigrations: 10 } } }, T0);
    expect(effects).toContainEqual({ kind: 'fail', cause: expect.stringMatching(/vm-i4 \(i4\).*no valid host/) });
  });

  // Every instance of the wave is looked at, also when every migration slot is in use.
  it('an OWN_ACTION instance past the host-empty timeout fails the session even while maxMigrations are in use', () => {
    const effects = plan(saturated(), T0 - 10 * SEC + 240 * SEC);
    expect(effects).toContainEqual({ kind: 'fail', cause: expect.stringMatching(/p2.*OWN_ACTION.*vm-i3/) });
  });

  it('a failed move fails the session even while maxMigrations are in use', () => {
    const failed = operation('move:i4:w1', { kind: 'migrate', target: 'i4', status: 'failed', cause: 'no valid host', params: { from: 'c2', to: 'm1' } });
    const effects = plan(saturated([failed]), T0);
    expect(effects).toContainEqual({ kind: 'fail', cause: expect.stringMatching(/vm-i4 \(i4\).*no valid host/) });
  });
});
