// How a follower reads the next events: from a server, one long poll that waits for them; from
// the state directory, a read every poll period (other processes' writes are seen by reading).
import type { Clock } from '../../domain/clock.js';

const POLL_MS = 100;
/** How long one long poll of a server waits for the next event (the server allows up to 30 s). */
export const LONG_POLL_MS = 10_000;

/** How long the next read of events may wait: until the next event, at most until the time-out. */
export function eventWait(client: { longPoll: boolean }, remainingMs = Number.POSITIVE_INFINITY): number {
  return client.longPoll ? Math.max(0, Math.min(LONG_POLL_MS, remainingMs)) : 0;
}

/** Between two reads: nothing after a long poll (it waited already), else one poll period. */
export async function pause(client: { longPoll: boolean }, clock: Clock): Promise<void> {
  if (!client.longPoll) await new Promise<void>((resolve) => clock.at(clock.now() + POLL_MS, resolve));
}
