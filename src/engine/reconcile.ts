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
  const seen = infra.filter((i) => hosts.has(i.host));
  const seenIds = new Set(seen.map((i) => i.id));
  const known = new Map(view.map((i) => [i.instanceId, i]));
  // Rows whose instance is gone, by name: candidates for a re-instantiation.
  const vanished = new Map(view.filter((i) => !seenIds.has(i.instanceId)).map((i) => [i.name, i]));
  const changes: InstanceChanges = { added: [], updated: [], replaced: [], removed: [] };

  for (const inst of seen) {
    const row = known.get(inst.id);
    if (row) {
      if (row.host !== inst.host || row.vcpus !== inst.vcpus || row.floatingIp !== inst.floatingIp) {
        changes.updated.push({ id: row.instanceId, patch: { host: inst.host, vcpus: inst.vcpus, floatingIp: inst.floatingIp } });
      }
      continue;
    }
    const old = vanished.get(inst.name);
    if (old && old.projectId === inst.projectId) {
      vanished.delete(inst.name);
      changes.replaced.push({
        oldId: old.instanceId,
        patch: { instanceId: inst.id, host: inst.host, vcpus: inst.vcpus, floatingIp: inst.floatingIp, replacedId: old.instanceId },
      });
      continue;
    }
    changes.added.push({
      instanceId: inst.id,
      name: inst.name,
      projectId: inst.projectId,
      host: inst.host,
      vcpus: inst.vcpus,
      floatingIp: inst.floatingIp,
      action: null,
      actionDone: false,
      projectState: null,
      replacedId: null,
    });
  }
  changes.removed = [...vanished.values()];
  return changes;
}
