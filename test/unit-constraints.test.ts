// The constraint rules as data: placement under anti-affinity and members per host (RoomPool with
// a SpreadRule), and when a move may start (MoveGate): (model, now) -> verdict.
import { describe, expect, it } from 'vitest';
import { constraintFixtures } from './support/constraints.js';
import { Constraints, SpreadRule } from '../src/domain/constraints.js';
import { RoomPool, type TargetHost } from '../src/domain/placement.js';
import { MoveGate } from '../src/workflows/default/limits.js';
import { T0, host, instance, model, operation, session } from './support/model-rows.js';

const { group, member } = constraintFixtures('p1', 'g');
const target = (name: string, vcpus: number): TargetHost => ({ name, capacity: { vcpus, memoryMb: null }, used: { vcpus: 0, memoryMb: 0 }, maintained: false });

describe('RoomPool with a SpreadRule', () => {
  it('puts no two members of an anti-affinity group on one host, and names the group when that leaves no room', () => {
    const c = new Constraints({ groups: [group({ antiAffinityGroup: true })], instances: [member('a'), member('b'), member('c')] });
    const where: Record<string, string> = { a: 'x', b: 'x', c: 'x' };
    const rule = new SpreadRule(c, (id) => where[id] ?? null);
    const placed = new RoomPool([target('h1', 8), target('h2', 8)], rule).placeAll(['a', 'b'].map((id) => ({ id, vcpus: 1, memoryMb: null })));
    expect(new Set(placed!.values()).size).toBe(2);
    const third = new Constraints({ groups: [group({ antiAffinityGroup: true })], instances: [member('a'), member('b'), member('c')] });
    const full = new SpreadRule(third, (id) => ({ a: 'h1', b: 'h2', c: 'x' })[id] ?? null);
    expect(new RoomPool([target('h1', 8), target('h2', 8)], full).placeAll([{ id: 'c', vcpus: 1, memoryMb: null }])).toBeNull();
    expect([...full.refused].map((g) => g.groupId)).toEqual(['g']);
  });

  it('lets max_instances_per_host members share a host, and undoes a placement that failed as a whole', () => {
    const c = new Constraints({ groups: [group({ maxInstancesPerHost: 2 })], instances: ['a', 'b', 'c'].map((id) => member(id)) });
    const rule = new SpreadRule(c, () => 'x');
    const pool = new RoomPool([target('h1', 8)], rule);
    // Three members on one host of two per host: not as a whole, and nothing of it stays reserved.
    expect(pool.placeAll(['a', 'b', 'c'].map((id) => ({ id, vcpus: 1, memoryMb: null })))).toBeNull();
    expect(pool.placeAll(['a', 'b'].map((id) => ({ id, vcpus: 1, memoryMb: null })))).toEqual(new Map([['a', 'h1'], ['b', 'h1']]));
  });
});

describe('MoveGate', () => {
  const rows = (constraints: Constraints, patch: { data?: Record<string, unknown>; moving?: string[] } = {}) => {
    const m = model({
      session: session({ state: 'PLANNED_MAINTENANCE', data: patch.data ?? {} }),
      hosts: [host('h0', { state: 'EMPTYING' }), host('h1', { state: 'MAINTAINED' })],
      instances: ['a', 'b', 'c'].map((id) => instance(id, 'h0', { wave: 1, target: 'h1', action: 'MIGRATE' })),
      operations: (patch.moving ?? []).map((id) => operation(`move:${id}:w1`, { kind: 'migrate', target: id })),
    });
    m.constraints = constraints;
    return m;
  };
  const verdict = (m: ReturnType<typeof rows>, id: string, now = T0) => new MoveGate({ now, model: m }).check(m.instance(id)!);

  it('lets a member move while fewer than max_impacted_members are moving or recovering', () => {
    const c = new Constraints({ groups: [group({ maxImpactedMembers: 2, recoveryTime: 30 })], instances: ['a', 'b', 'c'].map((id) => member(id)) });
    expect(verdict(rows(c, { moving: ['a'] }), 'b')).toEqual({ go: true });
    expect(verdict(rows(c, { moving: ['a'], data: { recovering: { c: T0 + 10_000 } } }), 'b')).toEqual({
      go: false,
      until: T0 + 10_000,
      reason: 'instance group web (g) of project p1 has 2 members impacted (max_impacted_members 2)',
    });
    // Recovered: it no longer counts.
    expect(verdict(rows(c, { moving: ['a'], data: { recovering: { c: T0 - 1 } } }), 'b')).toEqual({ go: true });
  });

  it('waits for the lead_time notice, and says a group that allows no impact blocks the host', () => {
    const lead = new Constraints({ groups: [], instances: [member('a', { groupId: null, leadTime: 60 })] });
    expect(verdict(rows(lead, { data: { notBefore: { a: T0 + 60_000 } } }), 'a')).toMatchObject({ go: false, until: T0 + 60_000 });
    expect(verdict(rows(lead, { data: { notBefore: { a: T0 + 60_000 } } }), 'a', T0 + 60_000)).toEqual({ go: true });
    const none = new Constraints({ groups: [group({ maxImpactedMembers: 0 })], instances: [member('a')] });
    expect(verdict(rows(none), 'a')).toEqual({ go: false, blocked: 'instance group web (g) of project p1 allows no member to be impacted (max_impacted_members 0): vm-a (a) cannot leave h0' });
  });
});
