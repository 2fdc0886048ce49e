// What must hold after a rolling maintenance, checked from the store and the event log.
import type { Host, Session, SessionEvent } from '../src/domain/model.js';
import type { InfraInstance } from '../src/infra/driver.js';
import type { SimCloud } from '../src/infra/sim/sim-cloud.js';
import type { Store } from '../src/store/store.js';

export interface Expectations {
  /** Instance names the cloud had before the session (each must exist exactly once after). */
  names: string[];
  /** Where each instance (by id) was before the session. */
  before: InfraInstance[];
}

export function expectationsOf(cloud: SimCloud): Expectations {
  const before = cloud.instances();
  return { names: before.map((i) => i.name).sort(), before };
}

/** Returns every broken invariant as a sentence; empty when all hold. */
export function brokenInvariants(store: Store, cloud: SimCloud, sessionId: string, expected: Expectations): string[] {
  const record = { session: store.getSession(sessionId), hosts: store.hosts(sessionId), events: store.events(null) };
  return brokenInvariantsOf(record, cloud, sessionId, expected);
}

/** What a session left, read from whichever store kept it. */
export interface SessionRecord {
  session: Session;
  hosts: Host[];
  /** The event log (of every session, or of this one). */
  events: SessionEvent[];
}

/**
 * The same from rows read anywhere. `placement` replays the sim's moves against host maintenance,
 * which needs the sim's events in the same log (not so when sessions live in a shared store).
 */
export function brokenInvariantsOf(
  { session, hosts, events }: SessionRecord,
  cloud: SimCloud,
  sessionId: string,
  expected: Expectations,
  options: { placement?: boolean } = {},
): string[] {
  const problems: string[] = [];
  if (session.state !== 'MAINTENANCE_DONE') problems.push(`session is ${session.state} (${session.failure ?? ''})`);

  const hostEvents = events.filter((e) => e.sessionId === sessionId && e.eventType === 'maintenance.host');
  const computes = hosts.filter((h) => h.type === 'compute');
  const infraHosts = new Map(cloud.hosts().map((h) => [h.name, h]));
  for (const host of computes) {
    const entered = hostEvents.filter((e) => e.payload.host === host.name && e.payload.state === 'IN_MAINTENANCE').length;
    const completed = hostEvents.filter((e) => e.payload.host === host.name && e.payload.state === 'MAINTENANCE_COMPLETE').length;
    if (entered !== 1 || completed !== 1) problems.push(`${host.name} entered maintenance ${entered}x and completed ${completed}x`);
    if (host.state !== 'MAINTAINED') problems.push(`${host.name} is ${host.state}`);
    if (!host.disabledBefore && !infraHosts.get(host.name)?.enabled) problems.push(`${host.name} is left disabled`);
  }

  const names = cloud.instances().map((i) => i.name).sort();
  if (JSON.stringify(names) !== JSON.stringify(expected.names)) {
    problems.push(`instances after: ${names.join(',')} / before: ${expected.names.join(',')}`);
  }
  if (options.placement ?? true) problems.push(...placementViolations(events, expected.before, sessionId));
  return problems;
}

/** Replays the event log: no instance may be on a host between its IN_MAINTENANCE and MAINTENANCE_COMPLETE. */
export function placementViolations(events: SessionEvent[], before: InfraInstance[], sessionId: string): string[] {
  const where = new Map(before.map((i) => [i.id, i.host]));
  const inMaintenance = new Set<string>();
  const problems: string[] = [];
  const occupants = (host: string) => [...where.entries()].filter(([, h]) => h === host).map(([id]) => id);
  for (const e of events) {
    const p = e.payload;
    if (e.eventType === 'maintenance.host' && e.sessionId === sessionId) {
      const host = String(p.host);
      if (p.state === 'IN_MAINTENANCE') {
        if (occupants(host).length) problems.push(`event ${e.id}: ${host} entered maintenance holding ${occupants(host).join(',')}`);
        inMaintenance.add(host);
      } else inMaintenance.delete(host);
    } else if (e.eventType === 'sim.instance.moved' || e.eventType === 'sim.instance.created') {
      const host = String(e.eventType === 'sim.instance.moved' ? p.to : p.host);
      where.set(String(p.instance_id), host);
      if (inMaintenance.has(host)) problems.push(`event ${e.id}: ${String(p.name)} landed on ${host} while it was IN_MAINTENANCE`);
    } else if (e.eventType === 'sim.instance.deleted') {
      where.delete(String(p.instance_id));
    }
  }
  return problems;
}

/** The most hosts of the session in maintenance at once (between IN_MAINTENANCE and MAINTENANCE_COMPLETE). */
export function mostInMaintenance(events: SessionEvent[], sessionId: string): number {
  let open = 0;
  let most = 0;
  for (const e of events) {
    if (e.eventType !== 'maintenance.host' || e.sessionId !== sessionId) continue;
    open += e.payload.state === 'IN_MAINTENANCE' ? 1 : -1;
    most = Math.max(most, open);
  }
  return most;
}

/** Replays the event log: after every arrival, no host holds more vCPUs (or memory) than it has. */
export function capacityViolations(
  events: SessionEvent[],
  before: InfraInstance[],
  hosts: ReadonlyArray<{ name: string; vcpus: number; memoryMb: number | null }>,
): string[] {
  const size = new Map(before.map((i) => [i.id, { vcpus: i.vcpus, memoryMb: i.memoryMb ?? 0 }]));
  const where = new Map(before.map((i) => [i.id, i.host]));
  const problems: string[] = [];
  const check = (host: string, eventId: number) => {
    const h = hosts.find((x) => x.name === host);
    if (!h) return;
    let vcpus = 0;
    let memory = 0;
    for (const [id, at] of where) {
      if (at !== host) continue;
      vcpus += size.get(id)?.vcpus ?? 0;
      memory += size.get(id)?.memoryMb ?? 0;
    }
    if (vcpus > h.vcpus) problems.push(`event ${eventId}: ${host} holds ${vcpus} vCPUs but has ${h.vcpus}`);
    if (h.memoryMb !== null && memory > h.memoryMb) problems.push(`event ${eventId}: ${host} holds ${memory} MiB but has ${h.memoryMb}`);
  };
  for (const e of events) {
    const p = e.payload;
    if (e.eventType === 'sim.instance.moved') {
      where.set(String(p.instance_id), String(p.to));
      check(String(p.to), e.id);
    } else if (e.eventType === 'sim.instance.deleted') {
      where.delete(String(p.instance_id));
    }
  }
  return problems;
}

/** Each move of the session as the event log tells it: the instance, its kind, when it was started and finished. */
export interface MoveSpan {
  instanceId: string;
  kind: string;
  start: number;
  end: number;
  params: Record<string, unknown>;
}

export function moveSpans(events: SessionEvent[]): MoveSpan[] {
  const open = new Map<string, MoveSpan>();
  const spans: MoveSpan[] = [];
  for (const e of events) {
    const p = e.payload;
    if (e.eventType !== 'maintctl.operation' || (p.kind !== 'migrate' && p.kind !== 'live_migrate')) continue;
    const id = String(p.operation_id);
    if (p.status === 'started') open.set(id, { instanceId: String(p.target), kind: String(p.kind), start: e.time, end: Number.POSITIVE_INFINITY, params: p.params as Record<string, unknown> });
    else if (open.has(id)) {
      spans.push({ ...open.get(id)!, end: e.time });
      open.delete(id);
    }
  }
  return [...spans, ...open.values()];
}

/** The most spans (of these instances) running at once, a span counting `tail` ms past its end. */
export function mostAtOnce(spans: readonly MoveSpan[], tail = 0): number {
  const edges = spans.flatMap((s) => [
    { t: s.start, d: 1 },
    { t: s.end + tail, d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let most = 0;
  for (const e of edges) most = Math.max(most, (open += e.d));
  return most;
}

/** Replays the event log: the most members of the group on one host at any moment. */
export function mostOnOneHost(events: SessionEvent[], before: InfraInstance[], members: readonly string[]): number {
  const where = new Map(before.filter((i) => members.includes(i.id)).map((i) => [i.id, i.host]));
  const most = () => Math.max(0, ...[...new Set(where.values())].map((h) => [...where.values()].filter((x) => x === h).length));
  let top = most();
  for (const e of events) {
    if (e.eventType === 'sim.instance.moved' && where.has(String(e.payload.instance_id))) {
      where.set(String(e.payload.instance_id), String(e.payload.to));
      top = Math.max(top, most());
    }
  }
  return top;
}
