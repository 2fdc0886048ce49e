import { it } from 'vitest';
import { reconcileInstances } from '../src/engine/reconcile.js';
const r = (id: string, name: string, projectId: string) => ({ instanceId: id, name, projectId, host: 'h', vcpus: 1, floatingIp: false, action: null, actionDone: false, projectState: null, replacedId: null });
it('x', () => {
  const c = reconcileInstances([r('a', 'web-0', 'pa'), r('b', 'web-0', 'pb')], [], new Set(['h']));
  console.log('removed', c.removed.map((i) => i.instanceId));
  const c2 = reconcileInstances([r('a', 'web-0', 'pa'), r('b', 'web-0', 'pb')], [{ id: 'a2', name: 'web-0', projectId: 'pa', host: 'h', status: 'ACTIVE', vcpus: 1, floatingIp: false }], new Set(['h']));
  console.log(JSON.stringify(c2));
});
