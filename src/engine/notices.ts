// Recording what happens to a session: one transaction with its events, published once committed;
// the maintenance.session notice; and the change that marks a session failed.
import type { Clock } from '../domain/clock.js';
import type { Session, SessionEvent } from '../domain/model.js';
import { SERVICE, SESSION_EVENT, type SessionNotice } from '../domain/notifications.js';
import { percentDone } from '../domain/progress.js';
import type { SessionState } from '../domain/states.js';
import type { EventBus } from '../notify/bus.js';
import type { Store } from '../store/store.js';

export type Emit = (eventType: string, payload: object) => void;

/** Runs fn in one transaction; the events it emits reach in-process listeners once it has committed. */
export function recordWithEvents(store: Store, bus: EventBus, clock: Clock, sessionId: string, fn: (emit: Emit) => void): void {
  const events: SessionEvent[] = [];
  const now = clock.now();
  store.tx(() => fn((type, payload) => events.push(store.appendEvent(sessionId, now, type, payload))));
  bus.publish(events);
}

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

/** Marks the session failed with its cause (inside a transaction) and emits the notice. */
export function recordFailure(store: Store, session: Session, cause: string, now: number, emit: Emit): void {
  store.updateSession(session.id, {
    state: 'MAINTENANCE_FAILED',
    failure: cause,
    failedState: session.state,
    visit: session.visit + 1,
    stateEnteredAt: now,
    updatedAt: now,
  });
  emit(SESSION_EVENT, sessionNotice(store, session.id, session.state));
}
