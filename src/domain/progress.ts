// How far a session is, as one number people and scripts can read.
import type { Session } from './model.js';

/** Maintained hosts over all hosts; 100 only once the session is MAINTENANCE_DONE. */
export function percentDone(session: Pick<Session, 'state'>, hosts: { maintained: number; total: number }): number {
  if (session.state === 'MAINTENANCE_DONE') return 100;
  if (hosts.total === 0) return 0;
  return Math.min(99, Math.floor((100 * hosts.maintained) / hosts.total));
}

export function hostProgress(hosts: ReadonlyArray<{ state: string }>): { maintained: number; total: number } {
  return { maintained: hosts.filter((h) => h.state === 'MAINTAINED').length, total: hosts.length };
}
