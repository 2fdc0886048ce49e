// Checks a project's reply against what the session asked it (seed 001), without touching anything.
import type { Instance, Project } from './model.js';
import type { ProjectReplyBody } from './schemas.js';
import { InvalidInputError, RefusedError } from './errors.js';
import { MOVE_ACTIONS, parseReplyState, type InstanceAction, type ReplyState } from './states.js';
import { formatFenixTime } from './time.js';

export interface AcceptedReply {
  reply: ReplyState;
  /** Current instance id -> chosen action. */
  actions: Map<string, InstanceAction>;
}

/**
 * The instances a question to this project is about (GET /v1/maintenance/{session}/{project}):
 * a wave's question is about the project's instances on that wave's hosts, a session-wide one
 * (MAINTENANCE, SCALE_IN, MAINTENANCE_COMPLETE) about all of them.
 */
export function affectedInstances(project: Project, instances: Iterable<Instance>): Instance[] {
  if (project.state === null) return [];
  const out: Instance[] = [];
  for (const i of instances) {
    if (i.projectId !== project.projectId) continue;
    if (project.wave === null || (i.projectState === project.state && i.wave === project.wave)) out.push(i);
  }
  return out;
}

/** An instance's migration_type (its constraint), used where an ACK names no action for it. */
export type DefaultAction = (instanceId: string) => InstanceAction | null;

export function checkReply(
  project: Project,
  visit: number,
  instances: readonly Instance[],
  body: ProjectReplyBody,
  now: number,
  defaultAction: DefaultAction = () => null,
): AcceptedReply {
  const reply = parseReplyState(body.state);
  if (!reply) throw new InvalidInputError(`invalid reply state "${body.state}": use ACK_<STATE> or NACK_<STATE>, e.g. ACK_MAINTENANCE`);
  const asked = project.state;
  if (!asked || project.visit !== visit) throw new RefusedError(`project ${project.projectId} has no open question right now`);
  if (project.replyState !== null) {
    throw new RefusedError(`project ${project.projectId} already answered ${asked} with ${project.replyState}`);
  }
  if (reply.state !== asked) throw new RefusedError(`project ${project.projectId} is asked ${asked}, not ${reply.state}: reply ACK_${asked} or NACK_${asked}`);
  if (project.replyAt !== null && now >= project.replyAt) {
    throw new RefusedError(`the deadline to answer ${asked} passed at ${formatFenixTime(project.replyAt)} UTC`);
  }
  return { reply, actions: reply.verdict === 'ACK' ? chosenActions(project, instances, body, defaultAction) : new Map() };
}

function chosenActions(project: Project, instances: readonly Instance[], body: ProjectReplyBody, defaultAction: DefaultAction): Map<string, InstanceAction> {
  const affected = affectedInstances(project, instances);
  const requested = new Map<string, InstanceAction>(Object.entries(body.instance_actions ?? {}));
  if (body.instance_action) {
    for (const i of body.instance_id ? [body.instance_id] : affected.map((a) => a.instanceId)) requested.set(i, body.instance_action);
  }
  const actions = new Map<string, InstanceAction>();
  // Only a reply that names instances needs them by id (a session-wide ACK of 100,000 instances names none).
  const byAnyId = new Map<string, Instance>();
  if (requested.size) {
    for (const i of affected) {
      byAnyId.set(i.instanceId, i);
      if (i.replacedId) byAnyId.set(i.replacedId, i);
    }
  }
  for (const [id, action] of requested) {
    const inst = byAnyId.get(id);
    if (!inst) throw new RefusedError(`instance ${id} is not one of project ${project.projectId}'s instances in ${project.state}`);
    actions.set(inst.instanceId, action);
  }
  const needsActions = project.state === 'PREPARE_MAINTENANCE' || project.state === 'PLANNED_MAINTENANCE';
  if (!needsActions) {
    if (actions.size) throw new RefusedError(`${project.state} takes no instance actions`);
    return actions;
  }
  for (const i of affected) {
    const fallback = actions.has(i.instanceId) ? null : defaultAction(i.instanceId);
    if (fallback) actions.set(i.instanceId, fallback);
  }
  const missing = affected.filter((i) => !actions.has(i.instanceId));
  if (missing.length) {
    throw new InvalidInputError(
      `ACK_${project.state} must choose an action (${MOVE_ACTIONS.join(', ')}) for every affected instance; missing: ${missing.map((i) => i.instanceId).join(', ')}`,
    );
  }
  return actions;
}
