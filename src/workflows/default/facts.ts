// Small readings of a snapshot that the default workflow's handlers share.
import type { Host, Instance, Operation, OperationKind } from '../../domain/model.js';
import { chooseHostToEmpty, freeVcpus, type CapacityHost, type EmptyChoice } from '../../domain/placement.js';
import type { Decision, OperationRequest, Snapshot } from '../types.js';

/** How often to look at the infrastructure again while waiting for something we cannot be told about. */
export const POLL_MS = 5_000;

export const computes = (s: Snapshot) => s.hosts.filter((h) => h.type === 'compute');
export const controllers = (s: Snapshot) => s.hosts.filter((h) => h.type === 'controller');
export const instancesOn = (s: Snapshot, host: string) => s.instances.filter((i) => i.host === host);

/** Empty as the infrastructure reports it: no instance there and no vCPUs in use. */
export function isEmpty(s: Snapshot, host: Host): boolean {
  return host.vcpusUsed === 0 && instancesOn(s, host.name).length === 0;
}

/** Operations of the current visit, newest last. */
export function visitOperations(s: Snapshot, kind?: OperationKind, target?: string): Operation[] {
  return s.operations.filter(
    (op) => op.visit === s.session.visit && (!kind || op.kind === kind) && (target === undefined || op.target === target),
  );
}

export function latestOperation(s: Snapshot, kind: OperationKind, target: string, match?: (op: Operation) => boolean): Operation | undefined {
  return visitOperations(s, kind, target).filter((op) => !match || match(op)).at(-1);
}

/** The last thing that happened in this visit that could change what the infrastructure holds. */
export function lastActivity(s: Snapshot): number {
  let last = s.session.stateEnteredAt;
  for (const p of s.projects) if (p.visit === s.session.visit && p.repliedAt) last = Math.max(last, p.repliedAt);
  for (const op of visitOperations(s)) last = Math.max(last, op.updatedAt);
  return last;
}

/** A sync decision when the session's view is older than `since`; null when it is fresh. */
export function syncIfStale(s: Snapshot, since: number, reason: string): Decision | null {
  return s.session.syncedAt < since ? { kind: 'sync', reason } : null;
}

export function capacityHosts(s: Snapshot, exclude: string | null = null): CapacityHost[] {
  return computes(s).map((h) => ({
    name: h.name,
    vcpus: h.vcpus,
    vcpusUsed: h.vcpusUsed,
    acceptsInstances: h.name !== exclude && !h.disabledBefore && (h.state === 'MAINTAINED' || !h.disabled),
    maintained: h.state === 'MAINTAINED',
  }));
}

export function totalFreeVcpus(s: Snapshot): number {
  return capacityHosts(s).filter((h) => h.acceptsInstances).reduce((sum, h) => sum + freeVcpus(h), 0);
}

/** The unmaintained compute to empty next, and proof its instances fit elsewhere. */
export function hostToEmpty(s: Snapshot): EmptyChoice | null {
  const all = capacityHosts(s);
  const candidates = computes(s)
    .filter((h) => h.state !== 'MAINTAINED')
    .map((h) => ({
      host: all.find((c) => c.name === h.name)!,
      instances: instancesOn(s, h.name).map((i: Instance) => ({ id: i.instanceId, vcpus: i.vcpus, floatingIp: i.floatingIp })),
    }));
  return chooseHostToEmpty(candidates, all);
}

export function wait(until: number | null, reason: string): Decision {
  return { kind: 'wait', until, reason };
}

export function start(...operations: OperationRequest[]): Decision {
  return { kind: 'start', operations };
}

/**
 * The first decision that does something (operations to start are started together, so
 * independent hosts and instances progress at once); if all of them wait, one wait until the earliest.
 */
export function firstAction(decisions: Decision[]): Decision | null {
  const acting = decisions.find((d) => d.kind !== 'wait');
  if (acting?.kind === 'start') {
    return start(...decisions.flatMap((d) => (d.kind === 'start' ? d.operations : [])));
  }
  if (acting) return acting;
  const waits = decisions.filter((d): d is Extract<Decision, { kind: 'wait' }> => d.kind === 'wait');
  if (!waits.length) return null;
  const timed = waits.filter((w) => w.until !== null).sort((a, b) => a.until! - b.until!);
  return timed[0] ?? waits[0]!;
}

/**
 * Drives one operation to its end: start it when this visit has none, wait while it runs,
 * fail the session with its cause when it failed. Null once it is done.
 */
export function ensureOperation(s: Snapshot, request: OperationRequest, describe: string): Decision | null {
  const op = latestOperation(s, request.kind, request.target, (o) => JSON.stringify(o.params) === JSON.stringify(request.params));
  if (!op) return start(request);
  if (op.status === 'done') return null;
  if (op.status === 'failed') return { kind: 'fail', cause: `${describe} failed: ${op.cause ?? 'no cause given'}` };
  return wait(op.checkAt, `${describe} in progress`);
}
