// The maintenance.session notice for a session as the store has it now (inside the transaction
// that changed it).
import { SERVICE, type SessionNotice } from '../domain/notifications.js';
import { percentDone } from '../domain/progress.js';
import type { SessionState } from '../domain/states.js';
import type { Store } from '../store/store.js';

export function sessionNotice(store: Store, sessionId: string, previous: SessionState | null): SessionNotice {
  const session = store.getSession(sessionId);
  return {
    service: SERVICE,
    session_id: sessionId,
    state: session.state,
    previous_state: previous,
    percent_done: percentDone(session, store.hosts(sessionId)),
    failure: session.failure,
  };
}
