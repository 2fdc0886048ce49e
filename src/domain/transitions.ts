// The session states a session may go to from each state, as data. The runner checks every
// transition a workflow asks for against this table; FAILED can be reached from anywhere, and a
// failed session is continued in the state it failed in.
import type { SessionState } from './states.js';

const ROLLING: SessionState[] = ['PREPARE_MAINTENANCE', 'START_MAINTENANCE', 'PLANNED_MAINTENANCE'];

export const TRANSITIONS: Record<SessionState, readonly SessionState[]> = {
  MAINTENANCE: ['SCALE_IN', ...ROLLING],
  // Another round of scale-in when the last one freed some room, but not yet enough.
  SCALE_IN: ['SCALE_IN', 'PREPARE_MAINTENANCE', 'START_MAINTENANCE'],
  PREPARE_MAINTENANCE: ['START_MAINTENANCE', 'PLANNED_MAINTENANCE', 'MAINTENANCE_COMPLETE'],
  START_MAINTENANCE: ['PREPARE_MAINTENANCE', 'PLANNED_MAINTENANCE', 'MAINTENANCE_COMPLETE'],
  PLANNED_MAINTENANCE: ['START_MAINTENANCE', 'PREPARE_MAINTENANCE', 'MAINTENANCE_COMPLETE'],
  MAINTENANCE_COMPLETE: ['MAINTENANCE_DONE'],
  MAINTENANCE_DONE: [],
  MAINTENANCE_FAILED: [],
};

export function allowedTransition(from: SessionState, to: SessionState): boolean {
  return to === 'MAINTENANCE_FAILED' ? from !== 'MAINTENANCE_DONE' : TRANSITIONS[from].includes(to);
}
