// How far a session is, as one number people and scripts can read.
import type { Host, Session } from './model.js';

/** Maintained hosts over all hosts; 100 only once the session is MAINTENANCE_DONE. */
export function percentDone(session: Pick<Session, 'state'>, hosts: ReadonlyArray<Pick<Host, 'state'>>): number {
  if (session.state === 'MAINTENANCE_DONE') return 100;
  if (hosts.length === 0) return 0;
  const maintained = hosts.filter((h) => h.state === 'MAINTAINED').length;
  return Math.min(99, Math.floor((100 * maintained) / hosts.length));
}
