// Rows to domain objects, shared by the SQLite store and the PostgreSQL repository: both keep the
// same columns (JSON as text, flags as 0/1, times as ms), so one mapping reads either.
import type { Lease } from './store.js';
import type { ActionPluginSpec, Host, Instance, Operation, OperationKind, OperationStatus, Project, Session, SessionEvent } from '../domain/model.js';
import type { AskedState, HostState, HostType, InstanceAction, PluginType, SessionState } from '../domain/states.js';

export type Row = Record<string, unknown>;

export const json = (value: unknown) => JSON.stringify(value);
export const parse = <T>(text: unknown): T => JSON.parse(String(text)) as T;
export const bool = (value: unknown) => value === 1 || value === true;
export const flag = (v: boolean) => (v ? 1 : 0);
export const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
export const text = (v: unknown) => (v === null || v === undefined ? null : String(v));

export function toSession(r: Row, actions: ActionPluginSpec[]): Session {
  return {
    id: String(r.id),
    state: r.state as SessionState,
    workflow: String(r.workflow),
    maintenanceAt: Number(r.maintenance_at),
    metadata: parse(r.metadata),
    options: parse(r.options),
    driver: parse(r.driver),
    download: parse(r.download),
    pluginDirs: parse(r.plugin_dirs ?? '[]'),
    actions,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    stateEnteredAt: Number(r.state_entered_at),
    visit: Number(r.visit),
    attempt: Number(r.attempt),
    failure: text(r.failure),
    failedState: (r.failed_state as SessionState | null) ?? null,
    discovered: bool(r.discovered),
    syncedAt: Number(r.synced_at),
    data: parse(r.data),
  };
}

export const toHost = (r: Row): Host => ({
  name: String(r.name),
  type: r.type as HostType,
  vcpus: Number(r.vcpus),
  vcpusUsed: Number(r.vcpus_used),
  memoryMb: num(r.memory_mb),
  memoryMbUsed: num(r.memory_mb_used),
  state: r.state as HostState,
  wave: num(r.wave),
  step: Number(r.step),
  cause: text(r.cause),
  since: Number(r.since),
  disabled: bool(r.disabled),
  disabledBefore: bool(r.disabled_before),
});

export const toProject = (r: Row): Project => ({
  projectId: String(r.project_id),
  policy: r.policy as Project['policy'],
  state: (r.state as AskedState | null) ?? null,
  visit: Number(r.visit),
  wave: num(r.wave),
  replyState: text(r.reply_state),
  replyAt: num(r.reply_at),
  repliedAt: num(r.replied_at),
});

export const toInstance = (r: Row): Instance => ({
  instanceId: String(r.instance_id),
  name: String(r.name),
  projectId: String(r.project_id),
  host: String(r.host),
  vcpus: Number(r.vcpus),
  memoryMb: num(r.memory_mb),
  floatingIp: bool(r.floating_ip),
  wave: num(r.wave),
  target: text(r.target),
  action: (r.action as InstanceAction | null) ?? null,
  actionDone: bool(r.action_done),
  projectState: (r.project_state as AskedState | null) ?? null,
  replacedId: text(r.replaced_id),
});

export const toOperation = (r: Row): Operation => ({
  id: Number(r.id),
  sessionId: String(r.session_id),
  kind: r.kind as OperationKind,
  target: String(r.target),
  key: String(r.key),
  attempt: Number(r.attempt),
  params: parse(r.params),
  status: r.status as OperationStatus,
  checkAt: num(r.check_at),
  deadline: num(r.deadline),
  cause: text(r.cause),
  result: parse(r.result),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export const toEvent = (r: Row): SessionEvent => ({
  id: Number(r.id),
  sessionId: text(r.session_id),
  time: Number(r.time),
  eventType: String(r.event_type),
  messageId: String(r.message_id),
  payload: parse(r.payload),
});

/** An action_plugins row. */
export const toAction = (a: Row): ActionPluginSpec => ({
  plugin: String(a.plugin),
  type: a.type as PluginType,
  metadata: parse<Record<string, unknown>>(a.metadata),
  ...(a.position === null || a.position === undefined ? {} : { order: Number(a.position) }),
});

export const toLease = (r: Row): Lease => ({
  owner: String(r.owner),
  hostname: String(r.hostname),
  pid: Number(r.pid),
  expiresAt: Number(r.expires_at),
  epoch: Number(r.epoch),
});
