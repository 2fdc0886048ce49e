import { describe, expect, it } from 'vitest';
import type { Instance } from '../src/domain/model.js';
import { reconcileInstances } from '../src/engine/reconcile.js';
import type { InfraInstance } from '../src/infra/driver.js';

const HOSTS = new Set(['compute-0', 'compute-1']);

function row(instanceId: string, name: string, patch: Partial<Instance> = {}): Instance {
  return {
    instanceId,
    name,
    projectId: 'proj-a',
    host: 'compute-0',
    vcpus: 2,
    memoryMb: null,
    floatingIp: false,
    wave: null,
    target: null,
    action: 'OWN_ACTION',
    actionDone: false,
    projectState: 'PLANNED_MAINTENANCE',
    replacedId: null,
    ...patch,
  };
}

function seen(id: string, name: string, patch: Partial<InfraInstance> = {}): InfraInstance {
  return { id, name, projectId: 'proj-a', host: 'compute-0', status: 'ACTIVE', vcpus: 2, memoryMb: null, floatingIp: false, ...patch };
}

describe('reconcileInstances', () => {
  it('reports no change when the infrastructure matches the view', () => {
    const changes = reconcileInstances([row('id-1', 'vm-1')], [seen('id-1', 'vm-1', { status: 'MIGRATING' })], HOSTS);
    expect(changes).toEqual({ added: [], updated: [], replaced: [], removed: [] });
  });

  it('updates an instance with the same id that moved host', () => {
    const changes = reconcileInstances([row('id-1', 'vm-1')], [seen('id-1', 'vm-1', { host: 'compute-1' })], HOSTS);
    expect(changes.updated).toEqual([{ id: 'id-1', patch: { host: 'compute-1', vcpus: 2, memoryMb: null, floatingIp: false } }]);
    expect(changes.added).toEqual([]);
    expect(changes.replaced).toEqual([]);
    expect(changes.removed).toEqual([]);
  });

  it('updates an instance whose vCPUs or floating IP changed', () => {
    const changes = reconcileInstances(
      [row('id-1', 'vm-1'), row('id-2', 'vm-2')],
      [seen('id-1', 'vm-1', { vcpus: 4 }), seen('id-2', 'vm-2', { floatingIp: true })],
      HOSTS,
    );
    expect(changes.updated).toEqual([
      { id: 'id-1', patch: { host: 'compute-0', vcpus: 4, memoryMb: null, floatingIp: false } },
      { id: 'id-2', patch: { host: 'compute-0', vcpus: 2, memoryMb: null, floatingIp: true } },
    ]);
  });

  it('treats the same name and project under a new id as a re-instantiation of the vanished one', () => {
    const changes = reconcileInstances([row('old-id', 'vm-1')], [seen('new-id', 'vm-1', { host: 'compute-1' })], HOSTS);
    expect(changes.replaced).toEqual([
      {
        oldId: 'old-id',
        patch: { instanceId: 'new-id', host: 'compute-1', vcpus: 2, memoryMb: null, floatingIp: false, replacedId: 'old-id' },
      },
    ]);
    expect(changes.added).toEqual([]);
    expect(changes.removed).toEqual([]);
  });

  it('does not treat a same-named instance of another project as a re-instantiation', () => {
    const changes = reconcileInstances([row('old-id', 'vm-1')], [seen('new-id', 'vm-1', { projectId: 'proj-b' })], HOSTS);
    expect(changes.replaced).toEqual([]);
    expect(changes.added.map((i) => i.instanceId)).toEqual(['new-id']);
    expect(changes.removed.map((i) => i.instanceId)).toEqual(['old-id']);
  });

  it('does not treat a new id as a replacement while the old id is still there', () => {
    const changes = reconcileInstances([row('id-1', 'vm-1')], [seen('id-1', 'vm-1'), seen('id-2', 'vm-1')], HOSTS);
    expect(changes.replaced).toEqual([]);
    expect(changes.added.map((i) => i.instanceId)).toEqual(['id-2']);
  });

  it('adds an instance with a new name as a fresh row (scaled out)', () => {
    const changes = reconcileInstances([], [seen('id-9', 'vm-9', { host: 'compute-1', vcpus: 1, floatingIp: true })], HOSTS);
    expect(changes.added).toEqual([
      {
        instanceId: 'id-9',
        name: 'vm-9',
        projectId: 'proj-a',
        host: 'compute-1',
        vcpus: 1,
        memoryMb: null,
        floatingIp: true,
        wave: null,
        target: null,
        action: null,
        actionDone: false,
        projectState: null,
        replacedId: null,
      },
    ]);
  });

  it('removes an instance that vanished without a replacement (scaled in)', () => {
    const gone = row('id-2', 'vm-2');
    const changes = reconcileInstances([row('id-1', 'vm-1'), gone], [seen('id-1', 'vm-1')], HOSTS);
    expect(changes.removed).toEqual([gone]);
  });

  it('ignores instances on hosts outside the session', () => {
    const changes = reconcileInstances([], [seen('id-x', 'vm-x', { host: 'compute-99' })], HOSTS);
    expect(changes).toEqual({ added: [], updated: [], replaced: [], removed: [] });
  });

  it('does not take an instance outside the session as the replacement of a vanished one', () => {
    const changes = reconcileInstances([row('old-id', 'vm-1')], [seen('new-id', 'vm-1', { host: 'elsewhere' })], HOSTS);
    expect(changes.replaced).toEqual([]);
    expect(changes.added).toEqual([]);
    expect(changes.removed.map((i) => i.instanceId)).toEqual(['old-id']);
  });

  it('handles additions, updates, replacements and removals in one pass', () => {
    const changes = reconcileInstances(
      [row('keep', 'vm-keep'), row('move', 'vm-move'), row('old', 'vm-reborn'), row('gone', 'vm-gone')],
      [
        seen('keep', 'vm-keep'),
        seen('move', 'vm-move', { host: 'compute-1' }),
        seen('new', 'vm-reborn'),
        seen('fresh', 'vm-fresh'),
        seen('outside', 'vm-outside', { host: 'compute-7' }),
      ],
      HOSTS,
    );
    expect(changes.updated.map((u) => u.id)).toEqual(['move']);
    expect(changes.replaced.map((r) => [r.oldId, r.patch.instanceId])).toEqual([['old', 'new']]);
    expect(changes.added.map((i) => i.instanceId)).toEqual(['fresh']);
    expect(changes.removed.map((i) => i.instanceId)).toEqual(['gone']);
  });

  it('removes every vanished row when names repeat, within and across projects', () => {
    const view = [row('a', 'web-0'), row('b', 'web-0', { projectId: 'proj-b' }), row('c', 'web-0')];
    const changes = reconcileInstances(view, [], HOSTS);
    expect(changes.removed.map((i) => i.instanceId).sort()).toEqual(['a', 'b', 'c']);
  });

  it('matches a re-instantiation to a vanished row of the same project when names repeat across projects', () => {
    const view = [row('a', 'web-0'), row('b', 'web-0', { projectId: 'proj-b' })];
    const changes = reconcileInstances(view, [seen('a2', 'web-0')], HOSTS);
    expect(changes.replaced).toEqual([{ oldId: 'a', patch: expect.objectContaining({ instanceId: 'a2', replacedId: 'a' }) }]);
    expect(changes.removed.map((i) => i.instanceId)).toEqual(['b']);
    expect(changes.added).toEqual([]);
  });
});
