// Asking projects a question and reading their answers: notify once per visit (or wave), then
// ACK, NACK or a missed deadline decide.
import type { Project } from '../../domain/model.js';
import type { AskedState, InstanceAction } from '../../domain/states.js';
import { formatFenixTime } from '../../domain/time.js';
import type { Effect, Snapshot } from '../types.js';
import { wait } from './steps.js';

export interface Question {
  state: AskedState;
  projects: string[];
  instances: string[];
  allowedActions: InstanceAction[];
  /** Seconds each project has to answer. */
  timeout: number;
  /** When the actions will start; defaults to the reply deadline (as Fenix). */
  actionsAt?: number;
  wave?: number | null;
}

/** Whether the project was asked this state in the current visit (and wave). */
export const askedNow = (s: Snapshot, p: Project, state: AskedState, wave: number | null = null) =>
  p.state === state && p.visit === s.model.session.visit && p.wave === wave;

/** Asks whoever was not asked yet; null once every project has acknowledged. */
export function ask(s: Snapshot, q: Question): Effect[] | null {
  const wave = q.wave ?? null;
  const rows = q.projects.map((id) => s.model.project(id)).filter((p): p is Project => p !== undefined);
  const unasked = rows.filter((p) => !askedNow(s, p, q.state, wave));
  if (unasked.length) return [question(s, q, unasked.map((p) => p.projectId))];
  return verdict(s, rows, q.state);
}

/** The notification of a question to these projects, its deadline starting now. */
export function question(s: Snapshot, q: Question, projects: string[], perInstance = false): Effect {
  const wave = q.wave ?? null;
  const replyAt = s.now + q.timeout * 1000;
  const notBefore = wave === null ? {} : notice(s, q.instances);
  const actionsAt = Math.max(q.actionsAt ?? replyAt, ...Object.values(notBefore));
  return {
    kind: 'ask',
    state: q.state,
    projects,
    instances: q.instances,
    allowedActions: q.allowedActions,
    replyAt,
    actionsAt,
    wave,
    ...(Object.keys(notBefore).length ? { notBefore } : {}),
    ...(perInstance ? { perInstance } : {}),
  };
}

/** NACK fails, a passed deadline fails, otherwise wait for the rest; null when all acknowledged. */
export function verdict(s: Snapshot, rows: readonly Project[], state: AskedState): Effect[] | null {
  const nacked = rows.filter((p) => p.replyState === `NACK_${state}`);
  if (nacked.length) return [{ kind: 'fail', cause: `project ${names(nacked)} rejected ${state} (NACK_${state})` }];
  const waiting = rows.filter((p) => p.replyState !== `ACK_${state}`);
  if (!waiting.length) return null;
  const deadline = Math.min(...waiting.map((p) => p.replyAt ?? Number.POSITIVE_INFINITY));
  if (s.now >= deadline) {
    const late = waiting.filter((p) => (p.replyAt ?? Number.POSITIVE_INFINITY) <= s.now);
    return [{ kind: 'fail', cause: `project ${names(late)} did not answer ${state} by its deadline ${formatFenixTime(deadline)} UTC` }];
  }
  return [wait(deadline, `waiting for ${names(waiting)} to answer ${state}`)];
}

const names = (rows: readonly Project[]) => rows.map((p) => p.projectId).join(', ');

/** Instances with a lead_time, and the earliest time each may be acted on when asked now. */
function notice(s: Snapshot, instances: readonly string[]): Record<string, number> {
  const c = s.model.constraints;
  if (c.isEmpty) return {};
  const out: Record<string, number> = {};
  for (const id of instances) {
    const lead = c.leadTime(id);
    if (lead > 0) out[id] = s.now + lead * 1000;
  }
  return out;
}
