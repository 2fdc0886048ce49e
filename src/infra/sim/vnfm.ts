// Scripted application managers for the sim (a cloud file's `auto_reply`): they answer every
// question the way a VNFM would, and do the application's own part (scale in, re-instantiate,
// scale out). Each act is recorded once (in memory and in the store), so a restarted engine never
// repeats it.
import type { Clock } from '../../domain/clock.js';
import type { ProjectReplyBody } from '../../domain/schemas.js';
import type { CompanionContext } from '../driver.js';
import type { SimCloud, SimProject } from './sim-cloud.js';

interface Question {
  projectId: string;
  state: string;
  instanceIds: string[];
}

interface RemovedInstance {
  name: string;
  vcpus: number;
  /** Absent in acts recorded before the sim knew memory. */
  memoryMb?: number | null;
  floatingIp: boolean;
}

/** Runs fn on the current copy of the cloud (and again should it have been out of date). */
type UsingCloud = <T>(fn: (cloud: SimCloud) => T) => T;

export function startScriptedVnfms(usingCloud: UsingCloud, clock: Clock, ctx: CompanionContext): () => void {
  const projects = new Map(usingCloud((cloud) => cloud.projects()).filter((p) => p.autoReply !== 'none').map((p) => [p.id, p]));
  const timers = new Set<{ cancel(): void }>();
  let stopped = false;

  const answerLater = (project: SimProject) => {
    const timer = clock.at(clock.now() + project.replyDelayS * 1000, () => {
      timers.delete(timer);
      if (stopped) return;
      const question = ctx.pendingQuestions(project.id)[0];
      if (question) answer(usingCloud, ctx, project, question);
    });
    timers.add(timer);
  };

  const unlisten = ctx.listen((event) => {
    const project = projects.get(String(event.payload.project_id));
    const isQuestion = event.eventType === 'maintenance.planned' && event.payload.state !== 'INSTANCE_ACTION_DONE';
    if (project && isQuestion) answerLater(project);
  });
  // Questions asked before a restart are still waiting for an answer.
  for (const question of ctx.pendingQuestions()) {
    const project = projects.get(question.projectId);
    if (project) answerLater(project);
  }
  return () => {
    stopped = true;
    unlisten();
    for (const t of timers) t.cancel();
  };
}

function answer(usingCloud: UsingCloud, ctx: CompanionContext, project: SimProject, q: Question): void {
  if (project.autoReply === 'nack') return safeReply(ctx, project.id, { state: `NACK_${q.state}` });
  const done = usingCloud((cloud) => ACTS[q.state]?.(cloud, ctx.sessionId, project, q) ?? true);
  if (!done) return safeReply(ctx, project.id, { state: `NACK_${q.state}` });
  const needsActions = q.state === 'PREPARE_MAINTENANCE' || q.state === 'PLANNED_MAINTENANCE';
  const instance_actions = needsActions ? Object.fromEntries(q.instanceIds.map((id) => [id, project.action])) : undefined;
  safeReply(ctx, project.id, { state: `ACK_${q.state}`, instance_actions });
}

function safeReply(ctx: CompanionContext, projectId: string, body: ProjectReplyBody) {
  // The question may have moved on (deadline passed, session deleted): a real VNFM would log and carry on.
  ctx.reply(projectId, body).catch(() => undefined);
}

type Act = (cloud: SimCloud, sessionId: string, project: SimProject, q: Question) => boolean;

/** What the application does before answering each state; false means it could not. */
const ACTS: Record<string, Act> = {
  SCALE_IN: (cloud, sessionId, project) => {
    if (project.scaleIn === 0 || cloud.act(sessionId, project.id, 'scale_in')) return true;
    const victims = cloud
      .instances()
      .filter((i) => i.projectId === project.id)
      .sort((a, b) => b.name.localeCompare(a.name))
      .slice(0, project.scaleIn);
    cloud.transaction(() => {
      const removed: RemovedInstance[] = victims.map((v) => ({ name: v.name, vcpus: v.vcpus, memoryMb: v.memoryMb, floatingIp: v.floatingIp }));
      cloud.recordAct(sessionId, project.id, 'scale_in', removed);
      for (const v of victims) cloud.deleteInstance(v.id);
    });
    return true;
  },
  PLANNED_MAINTENANCE: (cloud, _s, project, q) => (project.action === 'OWN_ACTION' ? reinstantiate(cloud, q.instanceIds) : true),
  PREPARE_MAINTENANCE: (cloud, _s, project, q) => (project.action === 'OWN_ACTION' ? reinstantiate(cloud, q.instanceIds) : true),
  MAINTENANCE_COMPLETE: (cloud, sessionId, project) => {
    const removed = cloud.act(sessionId, project.id, 'scale_in') as RemovedInstance[] | null;
    if (!removed || cloud.act(sessionId, project.id, 'scale_out')) return true;
    return cloud.transaction(() => {
      const ok = removed.every((r) => cloud.createInstance({ ...r, projectId: project.id }) !== null);
      if (ok) cloud.recordAct(sessionId, project.id, 'scale_out', {});
      return ok;
    });
  },
};

/** OWN_ACTION: the application replaces each instance itself, same name, new id, elsewhere. */
function reinstantiate(cloud: SimCloud, instanceIds: string[]): boolean {
  return instanceIds.every((id) => {
    const inst = cloud.instance(id);
    if (!inst) return true; // already replaced before a restart
    return cloud.transaction(() => {
      const spec = { name: inst.name, projectId: inst.projectId, vcpus: inst.vcpus, memoryMb: inst.memoryMb, floatingIp: inst.floatingIp };
      const newId = cloud.createInstance(spec, inst.host);
      if (newId) cloud.deleteInstance(inst.id);
      return newId !== null;
    });
  });
}
