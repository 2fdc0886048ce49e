// Asking projects a question and reading their answers: notify once per visit, then ACK,
// NACK or a missed deadline decide.
import type { Project } from '../../domain/model.js';
import type { AskedState, InstanceAction } from '../../domain/states.js';
import { formatFenixTime } from '../../domain/time.js';
import type { Decision, Snapshot } from '../types.js';
import { wait } from './facts.js';

export interface Question {
  state: AskedState;
  projects: string[];
  instances: string[];
  allowedActions: InstanceAction[];
  /** Seconds each project has to answer. */
  timeout: number;
  /** When the actions will start; defaults to the reply deadline (as Fenix). */
  actionsAt?: number;
}

const askedNow = (s: Snapshot, p: Project, state: AskedState) => p.state === state && p.visit === s.session.visit;

/** Projects asked `state` in the current visit. */
export function askedProjects(s: Snapshot, state: AskedState): Project[] {
  return s.projects.filter((p) => askedNow(s, p, state));
}

/** Asks whoever was not asked yet; null once every project has acknowledged. */
export function ask(s: Snapshot, q: Question): Decision | null {
  const rows = s.projects.filter((p) => q.projects.includes(p.projectId));
  const unasked = rows.filter((p) => !askedNow(s, p, q.state));
  if (unasked.length) {
    const ids = unasked.map((p) => p.projectId);
    const replyAt = s.now + q.timeout * 1000;
    const asked = new Set(ids);
    return {
      kind: 'ask',
      state: q.state,
      projects: ids,
      instances: s.instances.filter((i) => asked.has(i.projectId) && q.instances.includes(i.instanceId)).map((i) => i.instanceId),
      allowedActions: q.allowedActions,
      replyAt,
      actionsAt: q.actionsAt ?? replyAt,
    };
  }
  return verdict(s, rows, q.state);
}

/** NACK fails, a passed deadline fails, otherwise wait for the rest; null when all acknowledged. */
export function verdict(s: Snapshot, rows: Project[], state: AskedState): Decision | null {
  const nacked = rows.filter((p) => p.replyState === `NACK_${state}`);
  if (nacked.length) {
    return { kind: 'fail', cause: `project ${names(nacked)} rejected ${state} (NACK_${state})` };
  }
  const waiting = rows.filter((p) => p.replyState !== `ACK_${state}`);
  if (!waiting.length) return null;
  const deadline = Math.min(...waiting.map((p) => p.replyAt ?? Number.POSITIVE_INFINITY));
  if (s.now >= deadline) {
    const late = waiting.filter((p) => (p.replyAt ?? Number.POSITIVE_INFINITY) <= s.now);
    return { kind: 'fail', cause: `project ${names(late)} did not answer ${state} by its deadline ${formatFenixTime(deadline)} UTC` };
  }
  return wait(deadline, `waiting for ${names(waiting)} to answer ${state}`);
}

const names = (rows: Project[]) => rows.map((p) => p.projectId).join(', ');
