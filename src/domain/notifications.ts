// Notification payloads as Fenix sends them, and the oslo-style envelope around them.
import { randomUUID } from 'node:crypto';
import type { InstanceAction, ProjectNoticeState, SessionState } from './states.js';
import { formatFenixTime } from './time.js';

export const SERVICE = 'maintctl';

/** Fenix first called it maintenance.planned, later maintenance.scheduled: both name this event. */
export const PROJECT_EVENT = 'maintenance.planned';
export const PROJECT_EVENT_ALIASES = ['maintenance.planned', 'maintenance.scheduled'] as const;
export const HOST_EVENT = 'maintenance.host';
export const SESSION_EVENT = 'maintenance.session';

export interface ProjectNotice {
  service: string;
  state: ProjectNoticeState;
  session_id: string;
  project_id: string;
  /** The project API URL listing the instances, or the single id for INSTANCE_ACTION_DONE. */
  instance_ids: string | string[];
  allowed_actions: InstanceAction[];
  reply_url: string;
  reply_at: string | null;
  actions_at: string | null;
  metadata: Record<string, unknown>;
}

export interface HostNotice {
  service: string;
  state: 'IN_MAINTENANCE' | 'MAINTENANCE_COMPLETE';
  session_id: string;
  host: string;
  project_id: string;
}

export interface SessionNotice {
  service: string;
  session_id: string;
  state: SessionState;
  previous_state: SessionState | null;
  percent_done: number;
  failure: string | null;
}

export function projectUrl(baseUrl: string, sessionId: string, projectId: string): string {
  return `${baseUrl}/v1/maintenance/${sessionId}/${projectId}`;
}

export interface ProjectNoticeInput {
  baseUrl: string;
  sessionId: string;
  projectId: string;
  state: ProjectNoticeState;
  allowedActions: InstanceAction[];
  replyAt: number | null;
  actionsAt: number | null;
  metadata: Record<string, unknown>;
  /** For INSTANCE_ACTION_DONE, and for a question about one instance (the vnf workflow): instance_ids is [it]. */
  instanceId?: string;
}

export function projectNotice(input: ProjectNoticeInput): ProjectNotice {
  const url = projectUrl(input.baseUrl, input.sessionId, input.projectId);
  return {
    service: SERVICE,
    state: input.state,
    session_id: input.sessionId,
    project_id: input.projectId,
    instance_ids: input.instanceId ? [input.instanceId] : url,
    allowed_actions: input.allowedActions,
    reply_url: url,
    reply_at: input.replyAt === null ? null : formatFenixTime(input.replyAt),
    actions_at: input.actionsAt === null ? null : formatFenixTime(input.actionsAt),
    metadata: input.metadata,
  };
}

/** Admin notices go to the admin project, as Fenix's workflow_project. */
export const ADMIN_PROJECT = 'admin';

export function hostNotice(sessionId: string, host: string, state: HostNotice['state']): HostNotice {
  return { service: SERVICE, state, session_id: sessionId, host, project_id: ADMIN_PROJECT };
}

export interface Envelope<P = Record<string, unknown>> {
  priority: 'INFO' | 'ERROR';
  event_type: string;
  timestamp: string;
  publisher_id: string;
  message_id: string;
  payload: P;
}

export function envelope<P>(eventType: string, time: number, payload: P, messageId: string = randomUUID()): Envelope<P> {
  return {
    priority: 'INFO',
    event_type: eventType,
    timestamp: new Date(time).toISOString().replace('Z', ''),
    publisher_id: SERVICE,
    message_id: messageId,
    payload,
  };
}
