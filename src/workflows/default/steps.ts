// Operations as steps: start one when the lane has none for its key, wait while it runs, fail the
// session with its cause when it failed. Plug-ins run in order of type, then of name.
import type { ActionPluginSpec, Host } from '../../domain/model.js';
import type { PluginType } from '../../domain/states.js';
import type { Effect, OperationRequest, Snapshot } from '../types.js';

export interface Step {
  request: OperationRequest;
  describe: string;
}

/** How often to look at the infrastructure again while waiting for something nobody tells us about. */
export const POLL_MS = 5_000;

export const wait = (until: number | null, reason: string): Effect => ({ kind: 'wait', until, reason });

/** Effects that drive one step to its end; null once it is done. */
export function ensureOperation(s: Snapshot, step: Step): Effect[] | null {
  const op = s.model.operation(step.request.key);
  if (!op || (op.status === 'failed' && op.attempt < s.model.session.attempt)) return [{ kind: 'start', operation: step.request }];
  if (op.status === 'done') return null;
  if (op.status === 'failed') {
    const onHost = step.request.kind === 'host_maintenance' || (step.request.kind === 'plugin' && step.request.key.startsWith('host:'));
    return [{ kind: 'fail', cause: `${step.describe} failed: ${op.cause ?? 'no cause given'}`, ...(onHost ? { host: step.request.target } : {}) }];
  }
  return [wait(op.checkAt, `${step.describe} in progress`)];
}

/** Runs steps one after another; null once all are done. */
export function runInOrder(s: Snapshot, steps: readonly Step[]): Effect[] | null {
  for (const step of steps) {
    const effects = ensureOperation(s, step);
    if (effects) return effects;
  }
  return null;
}

/**
 * Plug-ins of the given types, type after type; within a type by explicit `order` (lowest first),
 * then the rest in alphabetical order of plug-in name (as Fenix runs them).
 */
export function pluginSteps(s: Snapshot, types: PluginType[], target: string, keyOf: (index: number) => string): Step[] {
  const rank = (a: ActionPluginSpec) => a.order ?? Number.POSITIVE_INFINITY;
  const specs = types.flatMap((type) =>
    s.model.session.actions
      .filter((a) => a.type === type)
      .sort((a, b) => rank(a) - rank(b) || (a.plugin < b.plugin ? -1 : a.plugin > b.plugin ? 1 : 0)),
  );
  return specs.map((a, i) => ({
    request: { kind: 'plugin' as const, target, key: keyOf(i), params: { plugin: a.plugin, type: a.type, metadata: a.metadata }, deadline: null },
    describe: `plug-in ${a.plugin} (${a.type}) on ${target}`,
  }));
}

/** The session's download list, fetched once on the engine's machine before the pre plug-ins (none when it is empty). */
export function downloadSteps(s: Snapshot, target: string): Step[] {
  if (!s.model.session.download.length) return [];
  return [{ request: { kind: 'download', target, key: 'download', params: {}, deadline: null }, describe: 'downloading the software of the download list' }];
}

/** The steps of maintaining one host, in order: the infrastructure's own part, then plug-ins of `host` and of its type. */
export function hostSteps(s: Snapshot, host: Host): Step[] {
  const own: Step = {
    request: { kind: 'host_maintenance', target: host.name, key: `host:${host.name}:0`, params: {}, deadline: null },
    describe: `maintenance of ${host.name}`,
  };
  return [own, ...pluginSteps(s, ['host', host.type], host.name, (i) => `host:${host.name}:${i + 1}`)];
}

