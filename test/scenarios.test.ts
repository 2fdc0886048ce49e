// Whole sessions on the simulated cloud, one per path of the default workflow, run on a virtual
// clock that jumps from timer to timer. After each, the invariants of a rolling maintenance hold.
import { describe, expect, it } from 'vitest';
import { settle } from '../src/engine/clock.js';
import { pluginRuns } from '../src/store/plugin-runs.js';
import { subscribe } from '../src/store/subscriptions.js';
import { T0, harness, runSession, sessionStates, type Harness } from './helpers.js';
import { brokenInvariants, expectationsOf } from './invariants.js';

function visited(events: ReturnType<Harness['store']['events']>): string[] {
  return [...new Set(sessionStates(events))];
}

async function runAndCheck(yaml: string, request: Record<string, unknown> = {}) {
  const h = harness(yaml);
  const expected = expectationsOf(h.cloud);
  const result = await runSession(h, request);
  return { h, ...result, problems: brokenInvariants(h.store, h.cloud, result.session.id, expected) };
}

const operations = (h: Harness, id: string) => h.store.operations(id);

describe('default workflow on the sim cloud', () => {
  it('maintains an empty compute first when one exists, without PREPARE or SCALE_IN', async () => {
    const r = await runAndCheck(`
hosts:
  - {name: compute-0, vcpus: 4}
  - {name: compute-1, vcpus: 4}
  - {name: compute-2, vcpus: 4}
  - {name: compute-3, vcpus: 4}
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: a-1, project: proj-a, host: compute-1, vcpus: 2}
  - {name: b-0, project: proj-b, host: compute-2, vcpus: 2}
projects:
  - {id: proj-a, auto_reply: ack, action: MIGRATE}
  - {id: proj-b, auto_reply: ack, action: MIGRATE}
`);
    expect(r.problems).toEqual([]);
    expect(visited(r.events)).toEqual([
      'MAINTENANCE',
      'START_MAINTENANCE',
      'PLANNED_MAINTENANCE',
      'MAINTENANCE_COMPLETE',
      'MAINTENANCE_DONE',
    ]);
    const first = r.events.find((e) => e.eventType === 'maintenance.host');
    expect(first?.payload).toMatchObject({ host: 'compute-3', state: 'IN_MAINTENANCE' });
  });

  it('empties a host first (PREPARE_MAINTENANCE) when there is room but no empty compute', async () => {
    const r = await runAndCheck(`
hosts:
  - {name: compute-0, vcpus: 4}
  - {name: compute-1, vcpus: 4}
  - {name: compute-2, vcpus: 8}
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2, floating_ip: true}
  - {name: a-1, project: proj-a, host: compute-1, vcpus: 2}
  - {name: a-2, project: proj-a, host: compute-1, vcpus: 1}
  - {name: b-0, project: proj-b, host: compute-2, vcpus: 2}
projects:
  - {id: proj-a, auto_reply: ack, action: MIGRATE}
  - {id: proj-b, auto_reply: ack, action: MIGRATE}
`);
    expect(r.problems).toEqual([]);
    expect(visited(r.events).slice(0, 3)).toEqual(['MAINTENANCE', 'PREPARE_MAINTENANCE', 'START_MAINTENANCE']);
    // Most free vCPUs and no floating IP: compute-2 (6 free) is emptied first.
    const firstWave = r.events.find((e) => e.eventType === 'maintctl.wave');
    expect(firstWave?.payload.hosts).toEqual(['compute-2']);
    const asked = r.events.filter((e) => e.eventType === 'maintenance.planned' && e.payload.state === 'PREPARE_MAINTENANCE');
    expect(asked.map((e) => e.payload.project_id)).toEqual(['proj-b']);
    expect(asked[0]?.payload.allowed_actions).toEqual(['MIGRATE', 'LIVE_MIGRATE', 'OWN_ACTION']);
  });

  it('asks projects to scale in when nothing fits, and gets every instance back after MAINTENANCE_COMPLETE', async () => {
    const r = await runAndCheck(`
hosts:
  - {name: compute-0, vcpus: 4}
  - {name: compute-1, vcpus: 4}
  - {name: compute-2, vcpus: 4}
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: a-1, project: proj-a, host: compute-0, vcpus: 2}
  - {name: a-2, project: proj-a, host: compute-1, vcpus: 2}
  - {name: b-0, project: proj-b, host: compute-1, vcpus: 2}
  - {name: a-3, project: proj-a, host: compute-2, vcpus: 2}
  - {name: b-1, project: proj-b, host: compute-2, vcpus: 2}
projects:
  - {id: proj-a, auto_reply: ack, action: MIGRATE, scale_in: 2}
  - {id: proj-b, auto_reply: ack, action: MIGRATE}
`);
    expect(r.problems).toEqual([]);
    expect(visited(r.events).slice(0, 4)).toEqual(['MAINTENANCE', 'SCALE_IN', 'PREPARE_MAINTENANCE', 'START_MAINTENANCE']);
    const removed = r.events.filter((e) => e.eventType === 'maintctl.instance.removed').map((e) => e.payload.name);
    expect(removed.sort()).toEqual(['a-2', 'a-3']);
    const created = r.allEvents.filter((e) => e.eventType === 'sim.instance.created').map((e) => e.payload.name);
    expect(created.sort()).toEqual(['a-2', 'a-3']);
    const complete = r.events.findIndex((e) => e.eventType === 'maintenance.planned' && e.payload.state === 'MAINTENANCE_COMPLETE');
    const firstCreate = r.allEvents.find((e) => e.eventType === 'sim.instance.created')!;
    expect(firstCreate.id).toBeGreaterThan(r.events[complete]!.id);
  });

  it('fails when scale-in frees nothing, saying so', async () => {
    const r = await runAndCheck(`
hosts:
  - {name: compute-0, vcpus: 2}
  - {name: compute-1, vcpus: 2}
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: a-1, project: proj-a, host: compute-1, vcpus: 2}
projects:
  - {id: proj-a, auto_reply: ack, action: MIGRATE, scale_in: 0}
`);
    expect(r.session.state).toBe('MAINTENANCE_FAILED');
    expect(r.session.failure).toMatch(/scale-in freed no capacity/);
    expect(r.session.failedState).toBe('SCALE_IN');
  });

  it('fails on NACK and records which project rejected which state', async () => {
    const r = await runAndCheck(`
hosts:
  - {name: compute-0, vcpus: 4}
  - {name: compute-1, vcpus: 4}
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: b-0, project: proj-b, host: compute-0, vcpus: 2}
projects:
  - {id: proj-a, auto_reply: ack}
  - {id: proj-b, auto_reply: nack}
`);
    expect(r.session.state).toBe('MAINTENANCE_FAILED');
    expect(r.session.failure).toBe('project proj-b rejected MAINTENANCE (NACK_MAINTENANCE)');
    expect(operations(r.h, r.session.id)).toEqual([]);
    expect(r.h.cloud.hosts().every((host) => host.enabled)).toBe(true);
  });

  it('fails when a project does not answer by project_maintenance_reply (20 s by default)', async () => {
    const r = await runAndCheck(`
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}]
instances: [{name: a-0, project: proj-a, host: compute-0}, {name: b-0, project: proj-b, host: compute-1}]
projects: [{id: proj-a, auto_reply: ack}, {id: proj-b, auto_reply: none}]
`);
    expect(r.session.state).toBe('MAINTENANCE_FAILED');
    expect(r.session.failure).toMatch(/^project proj-b did not answer MAINTENANCE by its deadline/);
    expect(r.session.updatedAt - r.session.createdAt).toBe(20_000);
  });

  it('takes the reply deadline from the session when given', async () => {
    const r = await runAndCheck(
      `
hosts: [{name: compute-0, vcpus: 4}]
instances: [{name: b-0, project: proj-b, host: compute-0}]
projects: [{id: proj-b, auto_reply: none}]
`,
      { project_maintenance_reply: 5 },
    );
    expect(r.session.failure).toMatch(/proj-b did not answer MAINTENANCE/);
    expect(r.session.updatedAt - r.session.createdAt).toBe(5_000);
  });

  it('fails with the cause when a migration fails, and continues once the cause is fixed', async () => {
    const yaml = `
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: a-1, project: proj-a, host: compute-1, vcpus: 2}
projects: [{id: proj-a, auto_reply: ack, action: MIGRATE}]
faults: [{migrate_fails: a-1}]
`;
    const h = harness(yaml);
    const expected = expectationsOf(h.cloud);
    const failed = await runSession(h);
    expect(failed.session.state).toBe('MAINTENANCE_FAILED');
    expect(failed.session.failure).toMatch(/^MIGRATE of instance a-1 \(.+\) from compute-1 failed: simulated fault; a-1 stays on compute-1$/);
    expect(failed.session.failedState).toBe('PLANNED_MAINTENANCE');
    const failedOp = operations(h, failed.session.id).find((op) => op.status === 'failed');
    expect(failedOp).toMatchObject({ kind: 'migrate', params: { name: 'a-1' } });

    h.cloud.setFaults([]);
    await h.engine.continueSession(failed.session.id);
    const done = await h.engine.waitForEnd(failed.session.id);
    expect(brokenInvariants(h.store, h.cloud, done.id, expected)).toEqual([]);
  });

  it('fails naming the host when a host does not come back from maintenance', async () => {
    const r = await runAndCheck(`
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances: [{name: a-0, project: proj-a, host: compute-0}]
projects: [{id: proj-a, auto_reply: ack}]
faults: [{host_fails: compute-2}]
`);
    expect(r.session.state).toBe('MAINTENANCE_FAILED');
    expect(r.session.failure).toBe('maintenance of compute-2 failed: host compute-2 did not come back after maintenance (simulated fault)');
  });

  it('never treats controllers as computes: not emptied, not disabled, maintained with their own plug-ins', async () => {
    const r = await runAndCheck(
      `
hosts:
  - {name: ctl-0, type: controller}
  - {name: ctl-1, type: controller}
  - {name: compute-0, vcpus: 4}
  - {name: compute-1, vcpus: 4}
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: a-1, project: proj-a, host: compute-1, vcpus: 1}
projects: [{id: proj-a, auto_reply: ack, action: LIVE_MIGRATE}]
`,
      {
        actions: [
          { plugin: 'dummy', type: 'pre' },
          { plugin: 'dummy', type: 'host' },
          { plugin: 'dummy', type: 'controller' },
          { plugin: 'dummy', type: 'compute' },
          { plugin: 'dummy', type: 'post' },
        ],
      },
    );
    expect(r.problems).toEqual([]);
    // The controllers are empty, but they are not computes: room had to be made first.
    expect(visited(r.events)[1]).toBe('PREPARE_MAINTENANCE');
    const ops = operations(r.h, r.session.id);
    expect(ops.filter((op) => op.kind === 'disable_host').map((op) => op.target).sort()).toEqual(['compute-0', 'compute-1']);
    const runs = pluginRuns(r.h.store, r.session.id);
    const on = (host: string | null) => runs.filter((x) => x.host === host).map((x) => x.type);
    expect(on(null)).toEqual(['pre', 'post']); // pre and post run once, on no host
    expect(on('ctl-0')).toEqual(['host', 'controller']);
    expect(on('compute-0')).toEqual(['host', 'compute']);
    expect(runs.every((x) => x.status === 'done')).toBe(true);
    const maintained = r.events.filter((e) => e.eventType === 'maintenance.host' && e.payload.state === 'MAINTENANCE_COMPLETE');
    expect(maintained.slice(0, 2).map((e) => e.payload.host)).toEqual(['ctl-0', 'ctl-1']);
  });

  it('carries out LIVE_MIGRATE as live migrations', async () => {
    const r = await runAndCheck(`
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: a-1, project: proj-a, host: compute-1, vcpus: 2}
  - {name: a-2, project: proj-a, host: compute-2, vcpus: 2}
projects: [{id: proj-a, auto_reply: ack, action: LIVE_MIGRATE}]
timing: {live_migrate_s: 7}
`);
    expect(r.problems).toEqual([]);
    const moves = operations(r.h, r.session.id).filter((op) => op.kind === 'migrate' || op.kind === 'live_migrate');
    expect(moves.length).toBeGreaterThan(0);
    expect(moves.every((op) => op.kind === 'live_migrate' && op.status === 'done')).toBe(true);
    const started = r.allEvents.find((e) => e.eventType === 'sim.move.started')!;
    const moved = r.allEvents.find((e) => e.eventType === 'sim.instance.moved')!;
    expect(moved.time - started.time).toBe(7_000);
  });

  it('lets OWN_ACTION projects re-instantiate their instances themselves', async () => {
    const r = await runAndCheck(`
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: b-0, project: proj-b, host: compute-1, vcpus: 2}
projects:
  - {id: proj-a, auto_reply: ack, action: OWN_ACTION}
  - {id: proj-b, auto_reply: ack, action: MIGRATE}
`);
    expect(r.problems).toEqual([]);
    const ownIds = new Set(r.h.cloud.instances().filter((i) => i.projectId === 'proj-a').map((i) => i.id));
    const moves = operations(r.h, r.session.id).filter((op) => op.kind === 'migrate' || op.kind === 'live_migrate');
    expect(moves.map((op) => op.params.name)).toEqual(['b-0']);
    const replaced = r.events.filter((e) => e.eventType === 'maintctl.instance.replaced');
    expect(replaced.length).toBe(1);
    expect(ownIds.has(String(replaced[0]!.payload.instance_id))).toBe(true);
    const done = r.events.filter((e) => e.eventType === 'maintenance.planned' && e.payload.state === 'INSTANCE_ACTION_DONE');
    expect(done.map((e) => e.payload.project_id).sort()).toEqual(['proj-a', 'proj-b']);
  });

  it('waits for maintenance_at before touching any host', async () => {
    const at = new Date(T0 + 3600_000).toISOString();
    const r = await runAndCheck(
      `
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}]
instances: [{name: a-0, project: proj-a, host: compute-0}]
projects: [{id: proj-a, auto_reply: ack}]
`,
      { maintenance_at: at },
    );
    expect(r.problems).toEqual([]);
    const asked = r.events.find((e) => e.eventType === 'maintenance.planned')!;
    expect(asked.time).toBe(T0);
    expect(asked.payload.actions_at).toBe(at.slice(0, 19).replace('T', ' '));
    const firstOp = r.events.find((e) => e.eventType === 'maintctl.operation')!;
    expect(firstOp.time).toBeGreaterThanOrEqual(T0 + 3600_000);
  });

  it('maintains several empty computes at once when max_parallel_hosts allows', async () => {
    const r = await runAndCheck(
      `
hosts:
  - {name: compute-0, vcpus: 4}
  - {name: compute-1, vcpus: 4}
  - {name: compute-2, vcpus: 4}
  - {name: compute-3, vcpus: 4}
instances: [{name: a-0, project: proj-a, host: compute-0}, {name: a-1, project: proj-a, host: compute-1}]
projects: [{id: proj-a, auto_reply: ack}]
`,
      { max_parallel_hosts: 2 },
    );
    expect(r.problems).toEqual([]);
    let open = 0;
    let most = 0;
    for (const e of r.events.filter((x) => x.eventType === 'maintenance.host')) {
      open += e.payload.state === 'IN_MAINTENANCE' ? 1 : -1;
      most = Math.max(most, open);
    }
    expect(most).toBe(2);
  });
});

describe('projects nobody answers for', () => {
  const yaml = `
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}, {name: compute-2, vcpus: 4}]
instances:
  - {name: a-0, project: proj-a, host: compute-0, vcpus: 2}
  - {name: x-0, project: proj-x, host: compute-1, vcpus: 2}
  - {name: x-1, project: proj-x, host: compute-2, vcpus: 1}
projects: [{id: proj-a, auto_reply: ack}]
`;

  it('fail the session at MAINTENANCE by default, as Fenix does, saying how to fix it', async () => {
    const r = await runAndCheck(yaml);
    expect(r.session.state).toBe('MAINTENANCE_FAILED');
    expect(r.session.failure).toMatch(/^project proj-x is not subscribed to maintenance.planned and its policy is to fail/);
    expect(r.events.filter((e) => e.eventType === 'maintenance.planned')).toEqual([]);
  });

  it.each([
    ['migrate', 'migrate'],
    ['live_migrate', 'live_migrate'],
  ])('with policy %s have their instances moved without being asked', async (policy, kind) => {
    const r = await runAndCheck(yaml, { project_policies: { 'proj-x': policy } });
    expect(r.problems).toEqual([]);
    const byPolicy = r.events.filter((e) => e.eventType === 'maintctl.reply' && e.payload.by === `policy ${policy}`);
    expect(byPolicy.length).toBeGreaterThan(0);
    expect(byPolicy.every((e) => e.payload.project_id === 'proj-x')).toBe(true);
    const moves = operations(r.h, r.session.id).filter((op) => String(op.params.name).startsWith('x-'));
    expect(moves.length).toBeGreaterThan(0);
    expect(moves.every((op) => op.kind === kind && op.status === 'done')).toBe(true);
  });

  it('take the session-wide policy when none is given for the project', async () => {
    const r = await runAndCheck(yaml, { unsubscribed_policy: 'migrate' });
    expect(r.problems).toEqual([]);
  });

  it('are asked once they subscribe, also when a session that failed for want of it is continued', async () => {
    const h = harness(yaml);
    const first = await runSession(h);
    expect(first.session.failure).toMatch(/proj-x is not subscribed/);
    subscribe(h.store, { projectId: 'proj-x', eventType: 'maintenance.planned', url: null, format: 'fenix', sessionId: null }, T0);
    await h.engine.continueSession(first.session.id);
    await settle();
    expect(h.store.projects(first.session.id).find((p) => p.projectId === 'proj-x')?.policy).toBe('ask');
    expect((await h.engine.pendingQuestions(first.session.id)).map((q) => q.projectId)).toContain('proj-x');
  });

  it('are asked like any other once subscribed', async () => {
    const h = harness(yaml, { auto: false });
    subscribe(h.store, { projectId: 'proj-x', eventType: 'maintenance.scheduled', url: null, format: 'fenix', sessionId: null }, T0);
    const session = await h.engine.createSession({}, { kind: 'sim', cloudId: h.cloudId });
    await settle();
    expect((await h.engine.pendingQuestions(session.id)).map((q) => q.projectId)).toEqual(['proj-a', 'proj-x']);
    expect(h.store.projects(session.id).find((p) => p.projectId === 'proj-x')?.policy).toBe('ask');
  });
});

describe('replies', () => {
  const yaml = `
hosts: [{name: compute-0, vcpus: 4}, {name: compute-1, vcpus: 4}]
instances: [{name: a-0, project: proj-a, host: compute-0}]
projects: [{id: proj-a}]
`;

  it('wakes the session at once: no time passes between a reply and the next step', async () => {
    const h = harness(yaml, { auto: false });
    const session = await h.engine.createSession({}, { kind: 'sim', cloudId: h.cloudId });
    await settle();
    expect(await h.engine.pendingQuestions(session.id)).toEqual([{ projectId: 'proj-a', state: 'MAINTENANCE', instanceIds: expect.any(Array) }]);
    await h.clock.advance(3_000);
    await h.engine.reply(session.id, 'proj-a', { state: 'ACK_MAINTENANCE' });
    await settle();
    const state = h.store.getSession(session.id);
    expect(state.state).toBe('START_MAINTENANCE');
    expect(state.stateEnteredAt).toBe(T0 + 3_000);
  });

  it('refuses a reply to another state, a late reply, and a reply in a finished session', async () => {
    const h = harness(yaml, { auto: false });
    const session = await h.engine.createSession({}, { kind: 'sim', cloudId: h.cloudId });
    await settle();
    await expect(h.engine.reply(session.id, 'proj-a', { state: 'ACK_SCALE_IN' })).rejects.toThrow(/asked MAINTENANCE, not SCALE_IN/);
    await expect(h.engine.reply(session.id, 'nobody', { state: 'ACK_MAINTENANCE' })).rejects.toThrow(/project nobody has no instances/);
    await h.clock.advance(20_000);
    expect(h.store.getSession(session.id).state).toBe('MAINTENANCE_FAILED');
    await expect(h.engine.reply(session.id, 'proj-a', { state: 'ACK_MAINTENANCE' })).rejects.toThrow(/is MAINTENANCE_FAILED/);
    expect(h.store.db.prepare('SELECT COUNT(*) AS n FROM replies').get()).toEqual({ n: 0 });
  });

  it('fails SCALE_IN after project_scale_in_reply (60 s by default)', async () => {
    const h = harness(
      `
hosts: [{name: compute-0, vcpus: 2}, {name: compute-1, vcpus: 2}]
instances: [{name: a-0, project: proj-a, host: compute-0, vcpus: 2}, {name: a-1, project: proj-a, host: compute-1, vcpus: 2}]
projects: [{id: proj-a, auto_reply: none}]
`,
      { auto: false },
    );
    const session = await h.engine.createSession({}, { kind: 'sim', cloudId: h.cloudId });
    await settle();
    await h.engine.reply(session.id, 'proj-a', { state: 'ACK_MAINTENANCE' });
    await settle();
    expect(h.store.getSession(session.id).state).toBe('SCALE_IN');
    await h.clock.advance(59_999);
    expect(h.store.getSession(session.id).state).toBe('SCALE_IN');
    await h.clock.advance(1);
    const failed = h.store.getSession(session.id);
    expect(failed.state).toBe('MAINTENANCE_FAILED');
    expect(failed.failure).toMatch(/proj-a did not answer SCALE_IN/);
  });
});
