// Choosing the next wave: the pending computes to empty together, and where each of their
// instances goes, planned as one bin-packing with reservations (domain/placement.ts).
import { SpreadRule, spreadLimitText } from '../../domain/constraints.js';
import type { Host } from '../../domain/model.js';
import { RoomPool, type TargetHost } from '../../domain/placement.js';
import type { SessionModel } from '../../domain/session-model.js';
import type { PlannedMove, Snapshot } from '../types.js';

export interface WavePlan {
  hosts: string[];
  moves: PlannedMove[];
  /** The constraints that refused a placement while planning (what blocks a plan that found nothing). */
  blockedBy: string[];
}

/**
 * Before any compute is maintained (PREPARE), instances can only go to other pending computes;
 * afterwards only to maintained ones (the rest are disabled), so each instance moves once.
 */
export type Phase = 'prepare' | 'planned';

export function phaseOf(m: SessionModel): Phase {
  const started = m.count('compute', 'IN_MAINTENANCE') + m.count('compute', 'MAINTAINED') > 0;
  return started || m.session.data.gate ? 'planned' : 'prepare';
}

/** Consecutive hosts that do not fit before the search stops: the next ones are costlier still. */
const MISSES_BEFORE_GIVING_UP = 3;

/** Up to `slots` pending computes whose instances all fit on the hosts that may take them now. */
export function planWave(s: Snapshot, slots: number, phase: Phase): WavePlan {
  const m = s.model;
  const rule = spreadRule(m);
  const pool = new RoomPool(targets(m, phase), rule);
  const plan: WavePlan = { hosts: [], moves: [], blockedBy: [] };
  const order = candidates(m);
  // An empty compute is maintained before anything is moved to make room (as Fenix does).
  const emptyOnly = phase === 'prepare' && order.some((name) => m.instanceCountOn(name) === 0);
  let misses = 0;
  for (const name of order) {
    if (plan.hosts.length >= slots || misses >= MISSES_BEFORE_GIVING_UP) break;
    const host = m.host(name)!;
    if (host.state !== 'PENDING' || pool.reserved.has(name) || m.reservedOn(name) > 0) continue;
    const instances = m.instancesOn(name);
    if (emptyOnly && instances.length) break;
    const putBack = pool.withdraw(name);
    const placed = pool.placeAll(instances.map((i) => ({ id: i.instanceId, vcpus: i.vcpus, memoryMb: i.memoryMb })));
    if (!placed) {
      putBack();
      misses++;
      continue;
    }
    misses = 0;
    plan.hosts.push(name);
    for (const [instanceId, to] of placed) plan.moves.push({ instanceId, to });
  }
  plan.blockedBy = [...(rule?.refused ?? [])].map(spreadLimitText);
  return plan;
}

/** Anti-affinity and members per host, when some group limits them. */
function spreadRule(m: SessionModel): SpreadRule | null {
  if (!m.constraints.spreadGroups().length) return null;
  return new SpreadRule(m.constraints, (id) => {
    const i = m.instance(id);
    return i ? (i.target ?? i.host) : null;
  });
}

/** Room for these instances (of hosts already in flight) on the hosts that may take them now, or null. */
export function placeOnly(s: Snapshot, instanceIds: string[]): PlannedMove[] | null {
  const m = s.model;
  const pool = new RoomPool(targets(m, phaseOf(m)), spreadRule(m));
  const placed = pool.placeAll(instanceIds.map((id) => ({ id, vcpus: m.instance(id)!.vcpus, memoryMb: m.instance(id)!.memoryMb })));
  return placed ? [...placed].map(([instanceId, to]) => ({ instanceId, to })) : null;
}

/** The hosts with room that may take instances now (the model keeps them as an index: most hosts are full). */
function targets(m: SessionModel, phase: Phase): TargetHost[] {
  const out: TargetHost[] = [];
  for (const name of m.withRoom(phase === 'planned' ? 'MAINTAINED' : 'PENDING')) {
    const h = m.host(name)!;
    const load = m.load(name);
    out.push({ name, capacity: { vcpus: h.vcpus, memoryMb: h.memoryMb }, used: { vcpus: load.vcpus, memoryMb: load.memoryMb }, maintained: h.state === 'MAINTAINED' });
  }
  return out;
}

/**
 * Pending computes, cheapest to empty first: none with floating-IP instances, least load,
 * fewest instances (Fenix's order). Sorted again only when pending hosts or their room changed
 * (the order is a preference: each host is checked again when a wave is planned).
 */
const orders = new WeakMap<SessionModel, { revision: string; names: string[] }>();

function candidates(m: SessionModel): string[] {
  const room = m.freeRoom('PENDING');
  const revision = `${m.pendingRevision}|${room.vcpus}|${room.memoryMb}`;
  const cached = orders.get(m);
  if (cached && cached.revision === revision) {
    // Hosts leave PENDING mostly from the front (they are taken in this order): drop those, so a
    // plan does not step over every host already emptied.
    let gone = 0;
    while (gone < cached.names.length && m.host(cached.names[gone]!)?.state !== 'PENDING') gone++;
    if (gone) cached.names = cached.names.slice(gone);
    return cached.names;
  }
  const rows = [...m.inLane('compute', 'PENDING')].map((name) => m.host(name)!);
  const key = (h: Host) => ({ fip: m.floatingIpOn(h.name), load: m.load(h.name).vcpus, count: m.instanceCountOn(h.name) });
  const keyed = rows.map((h) => ({ name: h.name, ...key(h) }));
  keyed.sort((a, b) => Number(a.fip) - Number(b.fip) || a.load - b.load || a.count - b.count || (a.name < b.name ? -1 : 1));
  const names = keyed.map((k) => k.name);
  orders.set(m, { revision, names });
  return names;
}

/** Why no pending compute can be emptied, naming the constraints that refused placements. */
export function cannotEmpty(m: SessionModel, blockedBy: readonly string[]): string {
  const pending = [...m.inLane('compute', 'PENDING')].sort();
  const constraints = blockedBy.length ? ` without breaking ${blockedBy.join('; ')}` : '';
  return `no compute can be emptied: the instances on ${pending.slice(0, 3).join(', ')}${pending.length > 3 ? ', ...' : ''} do not fit on the hosts that may take them${constraints}`;
}
