// What must hold after a rolling maintenance, checked from the store and the event log.
import type { SessionEvent } from '../src/domain/model.js';
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
  const problems: string[] = [];
  const session = store.getSession(sessionId);
  if (session.state !== 'MAINTENANCE_DONE') problems.push(`session is ${session.state} (${session.failure ?? ''})`);

  const events = store.events(null);
  const hostEvents = events.filter((e) => e.sessionId === sessionId && e.eventType === 'maintenance.host');
  const computes = store.hosts(sessionId).filter((h) => h.type === 'compute');
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
  problems.push(...placementViolations(events, expected.before, sessionId));
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
