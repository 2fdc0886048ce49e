// Application constraints honoured by the planner, each checked from the event log of a session on
// the sim cloud and the virtual clock: members impacted at once, recovery after a move,
// anti-affinity and members per host, migration_type, lead_time, max_interruption_time; and a
// session that cannot go on naming the constraint that blocks it and the host.
import { describe, expect, it } from 'vitest';
import { constraintFixtures } from './support/constraints.js';
import type { GroupConstraint, InstanceConstraint } from '../src/domain/constraints.js';
import { formatFenixTime } from '../src/domain/time.js';
import { putGroup, putInstance } from '../src/store/constraints.js';
import { harness, runSession, type Harness } from './helpers.js';
import { brokenInvariants, expectationsOf, mostAtOnce, mostOnOneHost, moveSpans } from './invariants.js';

interface CloudShape {
  computes: number;
  perHost: number;
  spare: number;
  vcpus?: number;
  timing?: string;
}

/** `computes` hosts running `perHost` 2-vCPU instances of proj-a (ids vm-HOST-N), and `spare` empty ones. */
function cloud({ computes, perHost, spare, vcpus = 8, timing = '{migrate_s: 30, live_migrate_s: 10, host_maintenance_s: 60}' }: CloudShape): string {
  const hosts: string[] = [];
  const instances: string[] = [];
  for (let c = 0; c < computes + spare; c++) {
    hosts.push(`  - {name: compute-${c}, vcpus: ${vcpus}}`);
    for (let i = 0; c < computes && i < perHost; i++) instances.push(`  - {name: vm-${c}-${i}, id: vm-${c}-${i}, project: proj-a, host: compute-${c}, vcpus: 2}`);
  }
  return ['hosts:', ...hosts, 'instances:', ...instances, `timing: ${timing}`].join('\n');
}

const { group, member: instance } = constraintFixtures('proj-a', 'g-web');

/** Puts the group (if any) with these members, and the instance constraints. */
function constrain(h: Harness, g: GroupConstraint | null, instances: InstanceConstraint[]): void {
  if (g) putGroup(h.store, g, h.clock.now());
  for (const i of instances) putInstance(h.store, i, h.clock.now());
}

const ids = (shape: CloudShape) => Array.from({ length: shape.computes * shape.perHost }, (_, n) => `vm-${Math.floor(n / shape.perHost)}-${n % shape.perHost}`);

async function run(shape: CloudShape, setup: (h: Harness) => void, request: Record<string, unknown> = {}) {
  const h = harness(cloud(shape));
  setup(h);
  const expected = expectationsOf(h.cloud);
  const { session, events, allEvents } = await runSession(h, { unsubscribed_policy: 'migrate', max_parallel_hosts: 'auto', ...request });
  return { h, session, events, allEvents, expected, spans: moveSpans(events), problems: brokenInvariants(h.store, h.cloud, session.id, expected) };
}

describe('max_impacted_members', () => {
  const shape = { computes: 8, perHost: 2, spare: 2 };

  it('never has more members of the group moving at once than it allows', async () => {
    const free = await run(shape, () => undefined);
    const limited = await run(shape, (h) => constrain(h, group({ maxImpactedMembers: 2 }), ids(shape).map((id) => instance(id))));
    for (const r of [free, limited]) expect(r.problems).toEqual([]);
    expect(mostAtOnce(free.spans)).toBeGreaterThan(2);
    expect(mostAtOnce(limited.spans)).toBe(2);
    expect(new Set(limited.spans.map((s) => s.instanceId)).size).toBe(16);
  });

  it('0 blocks the host of a member that must move, naming the group and the host', async () => {
    const r = await run({ computes: 2, perHost: 1, spare: 1 }, (h) => constrain(h, group({ maxImpactedMembers: 0 }), [instance('vm-0-0')]));
    expect(r.session.state).toBe('MAINTENANCE_FAILED');
    expect(r.session.failure).toBe('instance group web (g-web) of project proj-a allows no member to be impacted (max_impacted_members 0): vm-0-0 (vm-0-0) cannot leave compute-0');
    expect(r.spans.map((s) => s.instanceId)).not.toContain('vm-0-0');
    const failed = r.events.filter((e) => e.eventType === 'maintenance.session' && e.payload.state === 'MAINTENANCE_FAILED');
    expect(failed.map((e) => e.payload.failure)).toEqual([r.session.failure]);
  });
});

describe('recovery_time', () => {
  it('leaves the time after a member moved before the next member of its group is touched', async () => {
    const shape = { computes: 4, perHost: 2, spare: 2 };
    const r = await run(shape, (h) => constrain(h, group({ maxImpactedMembers: 1, recoveryTime: 45 }), ids(shape).map((id) => instance(id))));
    expect(r.problems).toEqual([]);
    const spans = [...r.spans].sort((a, b) => a.start - b.start);
    expect(new Set(spans.map((s) => s.instanceId)).size).toBe(8);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start - spans[i - 1]!.end).toBeGreaterThanOrEqual(45_000);
    expect(mostAtOnce(spans, 45_000)).toBe(1);
  });
});

describe('placement', () => {
  const shape = { computes: 4, perHost: 2, spare: 2 };
  const members = ['vm-0-0', 'vm-1-0', 'vm-2-0', 'vm-3-0'];

  it('never puts two members of an anti-affinity group on one host', async () => {
    const free = await run(shape, () => undefined);
    const spread = await run(shape, (h) => constrain(h, group({ antiAffinityGroup: true, maxImpactedMembers: 4 }), members.map((id) => instance(id))));
    for (const r of [free, spread]) expect(r.problems).toEqual([]);
    expect(mostOnOneHost(free.allEvents, free.expected.before, members)).toBeGreaterThan(1);
    expect(mostOnOneHost(spread.allEvents, spread.expected.before, members)).toBe(1);
  });

  it('puts at most max_instances_per_host members on one host', async () => {
    const all = ids(shape);
    const free = await run(shape, () => undefined);
    const limited = await run(shape, (h) => constrain(h, group({ maxInstancesPerHost: 2, maxImpactedMembers: 8 }), all.map((id) => instance(id))));
    for (const r of [free, limited]) expect(r.problems).toEqual([]);
    expect(mostOnOneHost(free.allEvents, free.expected.before, all)).toBeGreaterThan(2);
    expect(mostOnOneHost(limited.allEvents, limited.expected.before, all)).toBe(2);
  });

  it('a session that can only go on by breaking anti-affinity fails naming the group and the hosts', async () => {
    const r = await run({ computes: 3, perHost: 1, spare: 0, vcpus: 4 }, (h) =>
      constrain(h, group({ antiAffinityGroup: true, maxImpactedMembers: 3 }), ['vm-0-0', 'vm-1-0', 'vm-2-0'].map((id) => instance(id))),
    );
    expect(r.session.state).toBe('MAINTENANCE_FAILED');
    expect(r.session.failure).toBe(
      'no compute can be emptied: the instances on compute-0, compute-1, compute-2 do not fit on the hosts that may take them without breaking anti-affinity of instance group web (g-web) of project proj-a',
    );
    expect(r.spans).toEqual([]);
    expect(r.events.filter((e) => e.eventType === 'maintenance.session').map((e) => e.payload.failure)).toContain(r.session.failure);
  });
});

describe('instance constraints', () => {
  const shape = { computes: 2, perHost: 2, spare: 1 };

  it("migration_type is the instance's action when its project names none (here: its policy)", async () => {
    const r = await run(shape, (h) => constrain(h, null, [instance('vm-0-0', { groupId: null, migrationType: 'LIVE_MIGRATE' })]));
    expect(r.problems).toEqual([]);
    const kinds = Object.fromEntries(r.spans.map((s) => [s.instanceId, s.kind]));
    expect(kinds).toEqual({ 'vm-0-0': 'live_migrate', 'vm-0-1': 'migrate', 'vm-1-0': 'migrate', 'vm-1-1': 'migrate' });
  });

  it('lead_time is the notice before the instance is acted on: actions_at says it and its move waits for it', async () => {
    const r = await run(shape, (h) => constrain(h, null, [instance('vm-0-0', { groupId: null, leadTime: 100 })]));
    expect(r.problems).toEqual([]);
    const wave = r.events.find((e) => e.eventType === 'maintctl.wave' && (e.payload.moves as Array<{ instance_id: string }>).some((m) => m.instance_id === 'vm-0-0'))!;
    const question = r.events.find((e) => e.eventType === 'maintenance.planned' && e.time === wave.time && e.payload.state !== 'MAINTENANCE')!;
    expect(question.payload.actions_at).toBe(formatFenixTime(wave.time + 100_000));
    const span = r.spans.find((s) => s.instanceId === 'vm-0-0')!;
    expect(span.start - wave.time).toBe(100_000);
    const other = r.spans.find((s) => s.instanceId !== 'vm-0-0' && s.start >= wave.time && s.start < wave.time + 100_000);
    expect(other).toBeDefined(); // the rest of the wave did not wait
  });

  it('a live migration estimated over max_interruption_time is not used: the move is a cold migration', async () => {
    const r = await run(
      shape,
      (h) =>
        constrain(h, null, [
          instance('vm-0-0', { groupId: null, maxInterruptionTime: 5 }),
          instance('vm-1-0', { groupId: null, maxInterruptionTime: 20 }),
        ]),
      { unsubscribed_policy: 'live_migrate' },
    );
    expect(r.problems).toEqual([]);
    const byId = new Map(r.spans.map((s) => [s.instanceId, s]));
    expect(byId.get('vm-0-0')!.kind).toBe('migrate');
    expect(byId.get('vm-0-0')!.params).toMatchObject({
      instead_of: 'LIVE_MIGRATE',
      why: "a live migration is estimated at 10 s, over the instance's max_interruption_time of 5 s",
    });
    expect(byId.get('vm-1-0')!.kind).toBe('live_migrate');
    expect(byId.get('vm-0-1')!.kind).toBe('live_migrate');
  });
});

describe('the vnf workflow', () => {
  /** Scripted VNFMs of the sim answer each question; `scaleIn` instances of proj-a go when asked to scale in. */
  const scripted = (shape: CloudShape, scaleIn = 0) => `${cloud(shape)}\nprojects: [{id: proj-a, auto_reply: ack, action: MIGRATE, scale_in: ${scaleIn}}]`;

  async function runVnf(yaml: string, setup: (h: Harness) => void) {
    const h = harness(yaml);
    setup(h);
    const expected = expectationsOf(h.cloud);
    const { session, events } = await runSession(h, { workflow: 'vnf', max_parallel_hosts: 'auto' });
    return { session, events, spans: moveSpans(events), problems: brokenInvariants(h.store, h.cloud, session.id, expected) };
  }

  it('asks about one instance at a time (instance_ids: [id]) and keeps the group within max_impacted_members', async () => {
    const shape = { computes: 4, perHost: 2, spare: 1 };
    const r = await runVnf(scripted(shape), (h) => constrain(h, group({ maxImpactedMembers: 2 }), ids(shape).map((id) => instance(id))));
    expect(r.problems).toEqual([]);
    const questions = r.events.filter((e) => e.eventType === 'maintenance.planned' && ['PREPARE_MAINTENANCE', 'PLANNED_MAINTENANCE'].includes(String(e.payload.state)));
    expect(questions.length).toBeGreaterThanOrEqual(8);
    for (const q of questions) expect(q.payload.instance_ids).toEqual([expect.stringMatching(/^vm-/)]);
    expect(mostAtOnce(r.spans)).toBeLessThanOrEqual(2);
  });

  it('asks to scale in only projects whose groups may lose a member, and fails naming the groups when none may', async () => {
    const full = { computes: 2, perHost: 2, spare: 0, vcpus: 4 };
    const members = ids(full).map((id) => instance(id));
    const ok = await runVnf(scripted(full, 2), (h) => constrain(h, group({ maxImpactedMembers: 1 }), members));
    expect(ok.problems).toEqual([]);
    expect(ok.events.some((e) => e.eventType === 'maintenance.planned' && e.payload.state === 'SCALE_IN')).toBe(true);
    const none = await runVnf(scripted(full, 1), (h) => constrain(h, group({ maxImpactedMembers: 0 }), members));
    expect(none.session.state).toBe('MAINTENANCE_FAILED');
    expect(none.session.failure).toBe(
      'no compute can be emptied and no project may scale in: instance group web (g-web) of project proj-a allow no member to be impacted (max_impacted_members 0)',
    );
    expect(none.events.some((e) => e.eventType === 'maintenance.planned' && e.payload.state === 'SCALE_IN')).toBe(false);
  });
});
