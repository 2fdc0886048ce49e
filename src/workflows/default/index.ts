// Fenix's default workflow (seed 002) as a table: state -> handler. The rolling states share one
// handler (rolling.ts): hosts progress in lanes and the state says what projects are asked.
import type { Effect, Handler, Snapshot, Workflow } from '../types.js';
import { ask } from './asking.js';
import { rolling } from './rolling.js';
import { downloadSteps, pluginSteps, runInOrder, wait } from './steps.js';
import { cannotEmpty, planWave } from './waves.js';

/** pre and post plug-ins run once per session, on the engine's own host. */
const LOCAL = 'localhost';

const allProjects = (s: Snapshot) => [...s.model.projects()].map((p) => p.projectId);
const allInstances = (s: Snapshot) => [...s.model.instances()].map((i) => i.instanceId);

/** The last reply of the current visit (after it, capacity is measured again). */
function lastReply(s: Snapshot): number {
  let last = s.model.session.stateEnteredAt;
  for (const p of s.model.projects()) if (p.visit === s.model.session.visit && p.repliedAt) last = Math.max(last, p.repliedAt);
  return last;
}

/** A sync of every host when the session's view is older than `since`. */
function syncIfStale(s: Snapshot, since: number, reason: string): Effect[] | null {
  return s.model.session.syncedAt < since ? [{ kind: 'sync', hosts: null, reason }] : null;
}

const sessionQuestion = (s: Snapshot, state: 'MAINTENANCE' | 'SCALE_IN' | 'MAINTENANCE_COMPLETE', timeout: number, actionsAt?: number) =>
  ask(s, { state, projects: allProjects(s), instances: allInstances(s), allowedActions: [], timeout, actionsAt });

const maintenance: Handler = (s) => {
  // Read afresh on entry (also when a failed session is continued: projects may have subscribed since).
  const stale = syncIfStale(s, s.model.session.stateEnteredAt, 'discover the instances on the hosts');
  if (stale) return stale;
  const unanswered = [...s.model.projects()].filter((p) => p.policy === 'fail');
  if (unanswered.length) {
    const ids = unanswered.map((p) => p.projectId).join(', ');
    return [
      {
        kind: 'fail',
        cause: `project ${ids} is not subscribed to maintenance.planned and its policy is to fail: subscribe it (maintctl project subscribe) or give it a policy (--unsubscribed PROJECT=migrate)`,
      },
    ];
  }
  const { session } = s.model;
  const question = sessionQuestion(s, 'MAINTENANCE', session.options.projectMaintenanceReply, session.maintenanceAt);
  if (question) return question;
  if (s.now < session.maintenanceAt) return [wait(session.maintenanceAt, 'waiting for maintenance_at')];
  return (
    runInOrder(s, [...downloadSteps(s, LOCAL), ...pluginSteps(s, ['pre'], LOCAL, (i) => `pre:${i}`)]) ??
    syncIfStale(s, Math.max(lastReply(s), session.maintenanceAt), 'measure capacity') ??
    chooseNextState(s)
  );
};

/** After MAINTENANCE and SCALE_IN: an empty compute, room to make one, or must projects scale in? */
function chooseNextState(s: Snapshot): Effect[] {
  const m = s.model;
  const pending = [...m.inLane('compute', 'PENDING')];
  if (!pending.length || pending.some((h) => m.instanceCountOn(h) === 0)) {
    return [{ kind: 'transition', to: 'START_MAINTENANCE', reason: 'an empty compute can be maintained now' }];
  }
  const plan = planWave(s, 1, 'prepare');
  if (plan.hosts.length) {
    return [{ kind: 'transition', to: 'PREPARE_MAINTENANCE', reason: `no empty compute, but the instances on ${plan.hosts[0]} fit on the other hosts` }];
  }
  // Room that only a broken constraint would give is no room: scaling in is not what is missing.
  if (plan.blockedBy.length) return [{ kind: 'fail', cause: cannotEmpty(m, plan.blockedBy) }];
  const free = freeVcpus(s);
  const before = m.session.data.freeVcpusBeforeScaleIn;
  if (m.session.state === 'SCALE_IN' && before !== undefined && free <= before) {
    return [{ kind: 'fail', cause: `scale-in freed no capacity (${free} vCPUs free, ${before} before): no compute can be emptied` }];
  }
  return [
    {
      kind: 'transition',
      to: 'SCALE_IN',
      data: { ...m.session.data, freeVcpusBeforeScaleIn: free },
      reason: `no compute can be emptied: its instances would not fit elsewhere (${free} vCPUs free)`,
    },
  ];
}

/** Free vCPUs on the computes that take instances. */
function freeVcpus(s: Snapshot): number {
  let free = 0;
  for (const h of s.model.hosts()) {
    if (h.type !== 'compute' || h.disabled || h.disabledBefore) continue;
    free += Math.max(0, h.vcpus - s.model.load(h.name).vcpus);
  }
  return free;
}

/** SCALE_IN asking the projects `askWhom` names (all of them by default), or failing with the cause it gives. */
export function scaleInWith(askWhom: (s: Snapshot) => string[] | { fail: string }): Handler {
  return (s) => {
    const whom = askWhom(s);
    if (!Array.isArray(whom)) return [{ kind: 'fail', cause: whom.fail }];
    return (
      ask(s, { state: 'SCALE_IN', projects: whom, instances: allInstances(s), allowedActions: [], timeout: s.model.session.options.projectScaleInReply }) ??
      syncIfStale(s, lastReply(s), 'measure capacity after scale-in') ??
      chooseNextState(s)
    );
  };
}

const scaleIn: Handler = scaleInWith(allProjects);

const maintenanceComplete: Handler = (s) =>
  runInOrder(s, pluginSteps(s, ['post'], LOCAL, (i) => `post:${i}`)) ??
  sessionQuestion(s, 'MAINTENANCE_COMPLETE', s.model.session.options.projectScaleInReply) ??
  syncIfStale(s, lastReply(s), 'see the instances projects scaled back out') ?? [
    { kind: 'transition', to: 'MAINTENANCE_DONE', reason: 'every project acknowledged MAINTENANCE_COMPLETE' },
  ];

const idle: Handler = () => [];

export const defaultWorkflow: Workflow = {
  name: 'default',
  description: "Fenix's default rolling workflow: hosts emptied in waves, maintained, instances moved onto maintained hosts",
  handlers: {
    MAINTENANCE: maintenance,
    SCALE_IN: scaleIn,
    PREPARE_MAINTENANCE: rolling,
    START_MAINTENANCE: rolling,
    PLANNED_MAINTENANCE: rolling,
    MAINTENANCE_COMPLETE: maintenanceComplete,
    MAINTENANCE_DONE: idle,
    MAINTENANCE_FAILED: idle,
  },
};
