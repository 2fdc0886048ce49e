// Fenix's default workflow (seed 002) as a table: state -> handler.
import type { Decision, Handler, Snapshot, Workflow } from '../types.js';
import { ask } from './asking.js';
import { emptyHostHandler } from './empty-host.js';
import { lastActivity, syncIfStale, wait } from './facts.js';
import { chooseNextState } from './next-step.js';
import { pluginSteps, runInOrder, startMaintenance } from './start-maintenance.js';

/** pre and post plug-ins run once per session, on the engine's own host. */
const LOCAL = 'localhost';

const allProjects = (s: Snapshot) => s.projects.map((p) => p.projectId);
const allInstances = (s: Snapshot) => s.instances.map((i) => i.instanceId);

const maintenance: Handler = (s) => {
  // Read afresh on entry (also when a failed session is continued: projects may have subscribed since).
  const stale = syncIfStale(s, s.session.stateEnteredAt, 'discover the instances on the hosts');
  if (stale) return stale;
  const unanswered = s.projects.filter((p) => p.policy === 'fail');
  if (unanswered.length) {
    const ids = unanswered.map((p) => p.projectId).join(', ');
    return {
      kind: 'fail',
      cause: `project ${ids} is not subscribed to maintenance.planned and its policy is to fail: subscribe it (maintctl project subscribe) or give it a policy (--unsubscribed PROJECT=migrate)`,
    };
  }
  const question = ask(s, {
    state: 'MAINTENANCE',
    projects: allProjects(s),
    instances: allInstances(s),
    allowedActions: [],
    timeout: s.session.options.projectMaintenanceReply,
    actionsAt: s.session.maintenanceAt,
  });
  if (question) return question;
  if (s.now < s.session.maintenanceAt) return wait(s.session.maintenanceAt, 'waiting for maintenance_at');
  return (
    runInOrder(s, pluginSteps(s, ['pre'], LOCAL)) ??
    syncIfStale(s, Math.max(lastActivity(s), s.session.maintenanceAt), 'measure capacity') ??
    chooseNextState(s)
  );
};

const scaleIn: Handler = (s) =>
  ask(s, {
    state: 'SCALE_IN',
    projects: allProjects(s),
    instances: allInstances(s),
    allowedActions: [],
    timeout: s.session.options.projectScaleInReply,
  }) ??
  syncIfStale(s, lastActivity(s), 'measure capacity after scale-in') ??
  chooseNextState(s);

const maintenanceComplete: Handler = (s) =>
  runInOrder(s, pluginSteps(s, ['post'], LOCAL)) ??
  ask(s, {
    state: 'MAINTENANCE_COMPLETE',
    projects: allProjects(s),
    instances: allInstances(s),
    allowedActions: [],
    timeout: s.session.options.projectScaleInReply,
  }) ??
  syncIfStale(s, lastActivity(s), 'see the instances projects scaled back out') ??
  ({ kind: 'transition', to: 'MAINTENANCE_DONE', reason: 'every project acknowledged MAINTENANCE_COMPLETE' } satisfies Decision);

const idle: Handler = () => ({ kind: 'idle' });

export const defaultWorkflow: Workflow = {
  name: 'default',
  description: "Fenix's default rolling workflow: empty one compute at a time, maintain it, move instances onto maintained hosts",
  handlers: {
    MAINTENANCE: maintenance,
    SCALE_IN: scaleIn,
    PREPARE_MAINTENANCE: emptyHostHandler('PREPARE_MAINTENANCE'),
    START_MAINTENANCE: startMaintenance,
    PLANNED_MAINTENANCE: emptyHostHandler('PLANNED_MAINTENANCE'),
    MAINTENANCE_COMPLETE: maintenanceComplete,
    MAINTENANCE_DONE: idle,
    MAINTENANCE_FAILED: idle,
  },
};
