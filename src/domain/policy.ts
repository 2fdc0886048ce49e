// Decisions about projects and instances that do not depend on the workflow: who answers for a
// project, what a policy answers, what a recorded reply changes, and which instances stop a session.
import type { Instance, Project, SessionOptions, ProjectPolicy } from './model.js';
import { MOVE_ACTIONS, type AskedState, type InstanceAction } from './states.js';

/** A project answers itself when it is subscribed (or its infrastructure answers for it); otherwise its default policy applies. */
export function projectPolicy(answered: boolean, options: SessionOptions, projectId: string): ProjectPolicy {
  if (answered) return 'ask';
  return options.unsubscribed.projects[projectId] ?? options.unsubscribed.default;
}

export interface Reply {
  projectId: string;
  state: string;
  /** Current instance id -> chosen action. */
  actions: Record<string, InstanceAction>;
  /** Who answered when it was not the project itself (e.g. "policy migrate"). */
  by?: string;
}

/** What a move policy answers to a question: ACK, with its action for every instance asked about. */
export function policyReply(
  project: Project,
  state: AskedState,
  instanceIds: readonly string[],
  /** An instance's own migration_type, which wins over the policy's action. */
  defaultAction: (instanceId: string) => InstanceAction | null = () => null,
): Reply | null {
  if (project.policy !== 'migrate' && project.policy !== 'live_migrate') return null;
  const action: InstanceAction = project.policy === 'migrate' ? 'MIGRATE' : 'LIVE_MIGRATE';
  const asksActions = state === 'PREPARE_MAINTENANCE' || state === 'PLANNED_MAINTENANCE';
  const actions = asksActions ? Object.fromEntries(instanceIds.map((id) => [id, defaultAction(id) ?? action])) : {};
  return { projectId: project.projectId, state: `ACK_${state}`, actions, by: `policy ${project.policy}` };
}

/** The project's row once the reply is recorded. */
export const repliedProject = (project: Project, reply: Reply, now: number): Project => ({ ...project, replyState: reply.state, repliedAt: now });

/** The rows a reply changes: the project's answer and each instance's chosen action. */
export function replyRows(project: Project, instances: ReadonlyMap<string, Instance> | ((id: string) => Instance | undefined), reply: Reply, now: number) {
  const find = typeof instances === 'function' ? instances : (id: string) => instances.get(id);
  return {
    project: repliedProject(project, reply, now),
    instances: Object.entries(reply.actions)
      .map(([id, action]) => {
        const row = find(id);
        return row ? ({ ...row, action } as Instance) : null;
      })
      .filter((i): i is Instance => i !== null),
  };
}

export const isMove = (action: InstanceAction | null): action is 'MIGRATE' | 'LIVE_MIGRATE' =>
  action !== null && action !== 'OWN_ACTION' && MOVE_ACTIONS.includes(action);

/** An instance in ERROR can be neither moved nor left on a host going down: the session stops, saying which. */
export function brokenInstancesCause(instances: ReadonlyArray<{ name: string; id: string; host: string; status: string; fault?: string }>): string | null {
  const broken = instances.filter((i) => i.status === 'ERROR');
  if (!broken.length) return null;
  return `instance in ERROR: ${broken.map((i) => `${i.name} (${i.id}) on ${i.host}: ${i.fault ?? 'no fault message'}`).join('; ')}`;
}
