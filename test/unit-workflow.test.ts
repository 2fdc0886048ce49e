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
