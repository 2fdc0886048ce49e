// The maintenance.session notice, and the change that marks a session failed.
import type { Session } from '../domain/model.js';
import { SERVICE, type SessionNotice } from '../domain/notifications.js';
import { percentDone } from '../domain/progress.js';
import type { SessionState } from '../domain/states.js';

export function sessionNotice(session: Session, hosts: { maintained: number; total: number }, previous: SessionState | null): SessionNotice {
  return {
    service: SERVICE,
    session_id: session.id,
    state: session.state,
    previous_state: previous,
    percent_done: percentDone(session, hosts),
    failure: session.failure,
  };
}

/** The session row once it failed with this cause in its current state. */
export function failedSession(session: Session, cause: string, now: number): Session {
  return {
    ...session,
    state: 'MAINTENANCE_FAILED',
    failure: cause,
    failedState: session.state,
    visit: session.visit + 1,
    stateEnteredAt: now,
    updatedAt: now,
  };
}
