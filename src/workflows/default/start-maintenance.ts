// START_MAINTENANCE: keep unmaintained computes out of scheduling, maintain controllers and every
// empty compute (host, then host-type plug-ins), re-enable each maintained compute, then move on.
import type { Host } from '../../domain/model.js';
import type { PluginType } from '../../domain/states.js';
import type { Decision, OperationRequest, Snapshot } from '../types.js';
import { computes, controllers, ensureOperation, firstAction, isEmpty, latestOperation, lastActivity, syncIfStale } from './facts.js';

export function startMaintenance(s: Snapshot): Decision {
  const first = disableUnmaintained(s) ?? maintainControllers(s);
  if (first) return first;
  // Hosts already in maintenance go on; while they only wait, another may begin (up to the limit).
  const ongoing = firstAction([...inMaintenance(s).map((h) => continueHost(s, h)), ...enableMaintained(s)]);
  if (ongoing && ongoing.kind !== 'wait') return ongoing;
  return beginNextCompute(s) ?? ongoing ?? nextState(s);
}

/** Instances may only land on maintained computes from now on (Fenix disables them all at once). */
function disableUnmaintained(s: Snapshot): Decision | null {
  const requests = computes(s)
    .filter((h) => h.state !== 'MAINTAINED' && !h.disabled && !h.disabledBefore)
    .filter((h) => latestOperation(s, 'disable_host', h.name)?.status !== 'done')
    .map((h): OperationRequest => ({ kind: 'disable_host', target: h.name, params: { reason: 'maintenance' }, deadline: null }));
  if (!requests.length) return null;
  return firstAction(requests.map((r) => ensureOperation(s, r, `disabling ${r.target}`)!));
}

function maintainControllers(s: Snapshot): Decision | null {
  const host = controllers(s).find((h) => h.state !== 'MAINTAINED');
  if (!host) return null;
  return host.state === 'PENDING' ? { kind: 'host', host: host.name, to: 'IN_MAINTENANCE' } : continueHost(s, host);
}

const inMaintenance = (s: Snapshot) => computes(s).filter((h) => h.state === 'IN_MAINTENANCE');

/** The steps of maintaining one host, in order: the infrastructure's own part, then plug-ins. */
export function hostSteps(s: Snapshot, host: Host): Array<{ request: OperationRequest; describe: string }> {
  const own = {
    request: { kind: 'host_maintenance' as const, target: host.name, params: {}, deadline: null },
    describe: `maintenance of ${host.name}`,
  };
  return [own, ...pluginSteps(s, ['host', host.type], host.name)];
}

/** Plug-ins of the given types, each type in alphabetical order of plug-in name (as Fenix runs them). */
export function pluginSteps(s: Snapshot, types: PluginType[], target: string) {
  return types.flatMap((type) =>
    s.session.actions
      .filter((a) => a.type === type)
      .sort((a, b) => a.plugin.localeCompare(b.plugin))
      .map((a) => ({
        request: { kind: 'plugin' as const, target, params: { plugin: a.plugin, type: a.type, metadata: a.metadata }, deadline: null },
        describe: `plug-in ${a.plugin} (${a.type}) on ${target}`,
      })),
  );
}

/** Runs steps one after another; null once all are done. */
export function runInOrder(s: Snapshot, steps: Array<{ request: OperationRequest; describe: string }>): Decision | null {
  for (const step of steps) {
    const decision = ensureOperation(s, step.request, step.describe);
    if (decision) return decision;
  }
  return null;
}

function continueHost(s: Snapshot, host: Host): Decision {
  return runInOrder(s, hostSteps(s, host)) ?? { kind: 'host', host: host.name, to: 'MAINTAINED' };
}

/** A maintained compute this session disabled takes instances again. */
function enableMaintained(s: Snapshot): Decision[] {
  return computes(s)
    .filter((h) => h.state === 'MAINTAINED' && h.disabled)
    .map((h) => ensureOperation(s, { kind: 'enable_host', target: h.name, params: {}, deadline: null }, `enabling ${h.name}`))
    .filter((d): d is Decision => d !== null);
}

function beginNextCompute(s: Snapshot): Decision | null {
  if (inMaintenance(s).length >= s.session.options.maxParallelHosts) return null;
  const stale = syncIfStale(s, lastActivity(s), 'find empty computes');
  if (stale) return stale;
  const next = computes(s).find((h) => h.state === 'PENDING' && isEmpty(s, h));
  return next ? { kind: 'host', host: next.name, to: 'IN_MAINTENANCE' } : null;
}

function nextState(s: Snapshot): Decision {
  const pending = computes(s).filter((h) => h.state !== 'MAINTAINED');
  if (!pending.length) return { kind: 'transition', to: 'MAINTENANCE_COMPLETE', reason: 'every compute is maintained' };
  // A host with no instances that still reports usage goes through PLANNED_MAINTENANCE too:
  // nobody is asked, and it waits there for the usage to drop.
  const target = pending.find((h) => s.instances.some((i) => i.host === h.name)) ?? pending[0]!;
  return { kind: 'transition', to: 'PLANNED_MAINTENANCE', targetHost: target.name, reason: `${target.name} is the next compute to empty` };
}
