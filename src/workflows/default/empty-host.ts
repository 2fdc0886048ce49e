// PREPARE_MAINTENANCE and PLANNED_MAINTENANCE: ask the projects on the target host what to do
// with each instance, do it (or watch the project do it), then wait for the host to be empty.
import type { Instance } from '../../domain/model.js';
import { MOVE_ACTIONS, type AskedState } from '../../domain/states.js';
import { formatFenixTime } from '../../domain/time.js';
import type { Decision, Handler, OperationRequest, Snapshot } from '../types.js';
import { ask, askedProjects } from './asking.js';
import { POLL_MS, ensureOperation, firstAction, instancesOn, lastActivity, syncIfStale, wait } from './facts.js';

export function emptyHostHandler(state: Extract<AskedState, 'PREPARE_MAINTENANCE' | 'PLANNED_MAINTENANCE'>): Handler {
  return (s) => {
    const host = s.session.targetHost;
    if (!host) return { kind: 'fail', cause: `${state} has no host to empty` };
    const stale = syncIfStale(s, s.session.stateEnteredAt, `see what runs on ${host}`);
    if (stale) return stale;

    const asked = askedProjects(s, state);
    const onHost = instancesOn(s, host);
    if (!asked.length && !onHost.length) return hostEmptied(s, host);
    const question = ask(s, {
      state,
      projects: asked.length ? asked.map((p) => p.projectId) : [...new Set(onHost.map((i) => i.projectId))],
      instances: onHost.map((i) => i.instanceId),
      allowedActions: [...MOVE_ACTIONS],
      timeout: s.session.options.projectMaintenanceReply,
    });
    if (question) return question;
    return actOnInstances(s, state, host) ?? hostEmptied(s, host);
  };
}

/** Carries out each instance's chosen action; null when every affected instance has left the host. */
function actOnInstances(s: Snapshot, state: AskedState, host: string): Decision | null {
  const affected = s.instances.filter((i) => i.projectState === state && !i.actionDone);
  const gone = affected.filter((i) => i.host !== host);
  if (gone.length) return { kind: 'instances-done', instances: gone.map((i) => i.instanceId) };
  const decisions = affected.map((i) => (i.action === 'OWN_ACTION' ? awaitOwnAction(s, i, host) : move(s, i)));
  return firstAction(decisions.filter((d): d is Decision => d !== null));
}

function move(s: Snapshot, inst: Instance): Decision | null {
  const kind = inst.action === 'LIVE_MIGRATE' ? 'live_migrate' : 'migrate';
  const request: OperationRequest = {
    kind,
    target: inst.instanceId,
    params: { name: inst.name, from: inst.host },
    deadline: s.now + s.session.options.migrationTimeout * 1000,
  };
  return ensureOperation(s, request, `${inst.action ?? 'MIGRATE'} of instance ${inst.name} (${inst.instanceId}) from ${inst.host}`);
}

/** OWN_ACTION: the project moves it; we look until it is gone, up to the host-empty timeout. */
function awaitOwnAction(s: Snapshot, inst: Instance, host: string): Decision {
  const project = s.projects.find((p) => p.projectId === inst.projectId);
  const deadline = (project?.repliedAt ?? s.session.stateEnteredAt) + s.session.options.hostEmptyTimeout * 1000;
  if (s.now >= deadline) {
    return {
      kind: 'fail',
      cause: `project ${inst.projectId} chose OWN_ACTION for instance ${inst.name} (${inst.instanceId}) but it was still on ${host} at ${formatFenixTime(deadline)} UTC`,
    };
  }
  const next = s.session.syncedAt + POLL_MS;
  return s.now >= next ? { kind: 'sync', reason: `see whether ${inst.name} left ${host}` } : wait(Math.min(next, deadline), `waiting for ${inst.projectId} to move ${inst.name}`);
}

/** The host counts as empty only when the infrastructure reports it so (usage lags moves). */
function hostEmptied(s: Snapshot, host: string): Decision {
  const stale = syncIfStale(s, lastActivity(s), `check that ${host} is empty`);
  if (stale) return stale;
  const row = s.hosts.find((h) => h.name === host);
  if (row && row.vcpusUsed === 0 && instancesOn(s, host).length === 0) {
    return { kind: 'transition', to: 'START_MAINTENANCE', reason: `${host} is empty` };
  }
  const deadline = lastActivity(s) + s.session.options.hostEmptyTimeout * 1000;
  if (s.now >= deadline) {
    return { kind: 'fail', cause: `${host} still reports ${row?.vcpusUsed ?? '?'} vCPUs in use ${s.session.options.hostEmptyTimeout} s after its instances left` };
  }
  const next = s.session.syncedAt + POLL_MS;
  return s.now >= next ? { kind: 'sync', reason: `check that ${host} is empty` } : wait(Math.min(next, deadline), `waiting for ${host} to report empty`);
}
