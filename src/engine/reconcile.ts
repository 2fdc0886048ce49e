// Brings the session's view of instances in line with what the infrastructure reports, the way
// Fenix does: same id is the same instance, same name with a new id is a re-instantiation by
// its project, anything else is new (scaled out) or gone (scaled in).
import type { Instance } from '../domain/model.js';
import type { InfraInstance } from '../infra/driver.js';

export interface InstanceChanges {
  added: Instance[];
  updated: Array<{ id: string; patch: Partial<Instance> }>;
  replaced: Array<{ oldId: string; patch: Partial<Instance> }>;
  removed: Instance[];
}

export function reconcileInstances(view: readonly Instance[], infra: readonly InfraInstance[], hosts: ReadonlySet<string>): InstanceChanges {
  // Filled by loops: a full read of 200,000 instances would otherwise make as many pairs and copies.
  const seen: InfraInstance[] = [];
  const seenIds = new Set<string>();
  for (const i of infra) {
    if (!hosts.has(i.host)) continue;
    seen.push(i);
    seenIds.add(i.id);
  }
  const known = new Map<string, Instance>();
  for (const i of view) known.set(i.instanceId, i);
  // Rows whose instance is gone, by project and name: candidates for a re-instantiation.
  // Names are unique neither across projects nor within one, so each key holds a list.
  const vanished = new Map<string, Instance[]>();
  const keyOf = (projectId: string, name: string) => `${projectId}\u0000${name}`;
  for (const row of view) {
    if (seenIds.has(row.instanceId)) continue;
    const key = keyOf(row.projectId, row.name);
    const rows = vanished.get(key);
    if (rows) rows.push(row);
    else vanished.set(key, [row]);
  }
  const changes: InstanceChanges = { added: [], updated: [], replaced: [], removed: [] };

  for (const inst of seen) {
    const row = known.get(inst.id);
    if (row) {
      if (row.host !== inst.host || row.vcpus !== inst.vcpus || row.memoryMb !== inst.memoryMb || row.floatingIp !== inst.floatingIp) {
        changes.updated.push({ id: row.instanceId, patch: { host: inst.host, vcpus: inst.vcpus, memoryMb: inst.memoryMb, floatingIp: inst.floatingIp } });
      }
      continue;
    }
    const old = vanished.get(keyOf(inst.projectId, inst.name))?.shift();
    if (old) {
      changes.replaced.push({
        oldId: old.instanceId,
        patch: { instanceId: inst.id, host: inst.host, vcpus: inst.vcpus, memoryMb: inst.memoryMb, floatingIp: inst.floatingIp, replacedId: old.instanceId },
      });
      continue;
    }
    changes.added.push({
      instanceId: inst.id,
      name: inst.name,
      projectId: inst.projectId,
      host: inst.host,
      vcpus: inst.vcpus,
      memoryMb: inst.memoryMb,
      floatingIp: inst.floatingIp,
      wave: null,
      target: null,
      action: null,
      actionDone: false,
      projectState: null,
      replacedId: null,
    });
  }
  changes.removed = [...vanished.values()].flat();
  return changes;
}
