// The Fenix session states, reply states and instance actions (seed 002).

export const SESSION_STATES = [
  'MAINTENANCE',
  'SCALE_IN',
  'PREPARE_MAINTENANCE',
  'START_MAINTENANCE',
  'PLANNED_MAINTENANCE',
  'MAINTENANCE_COMPLETE',
  'MAINTENANCE_DONE',
  'MAINTENANCE_FAILED',
] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export const TERMINAL_STATES: readonly SessionState[] = ['MAINTENANCE_DONE', 'MAINTENANCE_FAILED'];

export function isTerminal(state: SessionState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** States in which a project is asked something and must answer ACK_X or NACK_X. */
export const ASKED_STATES = [
  'MAINTENANCE',
  'SCALE_IN',
  'PREPARE_MAINTENANCE',
  'PLANNED_MAINTENANCE',
  'MAINTENANCE_COMPLETE',
] as const;
export type AskedState = (typeof ASKED_STATES)[number];

/** Project notification states: the asked ones plus the per-instance completion notice. */
export type ProjectNoticeState = AskedState | 'INSTANCE_ACTION_DONE';

export type ReplyVerdict = 'ACK' | 'NACK';

export interface ReplyState {
  verdict: ReplyVerdict;
  state: AskedState;
}

export function replyStateName(verdict: ReplyVerdict, state: AskedState): string {
  return `${verdict}_${state}`;
}

/** Parses `ACK_PLANNED_MAINTENANCE` into its parts; null when it is not a reply state. */
export function parseReplyState(text: string): ReplyState | null {
  const match = /^(ACK|NACK)_(.+)$/.exec(text);
  if (!match) return null;
  const state = match[2] as AskedState;
  if (!ASKED_STATES.includes(state)) return null;
  return { verdict: match[1] as ReplyVerdict, state };
}

export const INSTANCE_ACTIONS = ['MIGRATE', 'LIVE_MIGRATE', 'OWN_ACTION'] as const;
export type InstanceAction = (typeof INSTANCE_ACTIONS)[number];

/** Actions a project may choose when its instances must leave a host. */
export const MOVE_ACTIONS: readonly InstanceAction[] = INSTANCE_ACTIONS;

export const HOST_TYPES = ['compute', 'controller'] as const;
export type HostType = (typeof HOST_TYPES)[number];

/**
 * Where a host is in its own lane: PENDING -> EMPTYING (its instances leave) -> EMPTY (reported
 * empty) -> IN_MAINTENANCE (its steps run) -> MAINTAINED; FAILED with its cause.
 */
export const HOST_STATES = ['PENDING', 'EMPTYING', 'EMPTY', 'IN_MAINTENANCE', 'MAINTAINED', 'FAILED'] as const;
export type HostState = (typeof HOST_STATES)[number];

/** Action plug-in types (admin API): pre and post run once, the others per host. */
export const PLUGIN_TYPES = ['pre', 'host', 'post', 'compute', 'controller'] as const;
export type PluginType = (typeof PLUGIN_TYPES)[number];
