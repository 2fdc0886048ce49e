// What the engine asks of one project right now (GET /v1/maintenance/{session}/{project} and more).
import { NotFoundError } from '../domain/errors.js';
import { affectedInstances } from '../domain/replies.js';
import { ASKED_STATES, isTerminal, MOVE_ACTIONS, type SessionState } from '../domain/states.js';
import { formatFenixTime } from '../domain/time.js';
import type { Store } from '../store/store.js';

export interface ProjectDocument {
  session_id: string;
  project_id: string;
  session_state: string;
  /** The state the project is asked about now, or null when nothing is asked. */
  state: string | null;
  reply_state: string | null;
  reply_at: string | null;
  /** The wave a PREPARE_ or PLANNED_MAINTENANCE question is about (null for session-wide questions). */
  wave: number | null;
  /** Whether an answer is awaited now. */
  open: boolean;
  allowed_actions: string[];
  metadata: Record<string, unknown>;
  /** Fenix's project API answer: the instances the current question is about. */
  instance_ids: string[];
  instances: Array<{ instance_id: string; name: string; host: string; action: string | null; action_done: boolean }>;
  /** The last question put to the project (in this or an earlier visit), for telling why none is open. */
  last_question: { state: string; reply_state: string | null; reply_at: string | null } | null;
}

export function projectDocument(store: Store, sessionId: string, projectId: string): ProjectDocument {
  const session = store.getSession(sessionId);
  const project = store.projects(sessionId).find((p) => p.projectId === projectId);
  if (!project) throw new NotFoundError(`project ${projectId} has no instances in session ${sessionId}`);
  const current = project.visit === session.visit && project.state !== null;
  const affected = current ? affectedInstances(project, store.instances(sessionId)) : [];
  const asksActions = project.state === 'PREPARE_MAINTENANCE' || project.state === 'PLANNED_MAINTENANCE';
  return {
    session_id: sessionId,
    project_id: projectId,
    session_state: session.state,
    state: current ? project.state : null,
    wave: current ? project.wave : null,
    reply_state: current ? project.replyState : null,
    reply_at: current && project.replyAt !== null ? formatFenixTime(project.replyAt) : null,
    open: current && project.replyState === null && !isTerminal(session.state),
    allowed_actions: current && asksActions ? [...MOVE_ACTIONS] : [],
    metadata: session.metadata,
    instance_ids: affected.map((i) => i.instanceId),
    instances: affected.map((i) => ({ instance_id: i.instanceId, name: i.name, host: i.host, action: i.action, action_done: i.actionDone })),
    last_question: project.state
      ? { state: project.state, reply_state: project.replyState, reply_at: project.replyAt === null ? null : formatFenixTime(project.replyAt) }
      : null,
  };
}

/**
 * A project's document from what a plain Fenix server says: the session's state and the ids of
 * the project's instances (no names, hosts, deadline or earlier answer). A project is asked in
 * the session's state, so that is taken as the question.
 */
export function fenixProjectDocument(sessionId: string, projectId: string, sessionState: string, instanceIds: string[]): ProjectDocument {
  const asked = (ASKED_STATES as readonly string[]).includes(sessionState) && !isTerminal(sessionState as SessionState) ? sessionState : null;
  const asksActions = asked === 'PREPARE_MAINTENANCE' || asked === 'PLANNED_MAINTENANCE';
  return {
    session_id: sessionId,
    project_id: projectId,
    session_state: sessionState,
    state: asked,
    wave: null,
    reply_state: null,
    reply_at: null,
    open: asked !== null,
    allowed_actions: asksActions ? [...MOVE_ACTIONS] : [],
    metadata: {},
    instance_ids: instanceIds,
    instances: instanceIds.map((id) => ({ instance_id: id, name: '-', host: '-', action: null, action_done: false })),
    last_question: null,
  };
}
