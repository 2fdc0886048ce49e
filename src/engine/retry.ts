// Pauses between retries of something that failed for a reason expected to pass (a busy store):
// growing, and capped so a long outage is noticed within half a minute of its end.
const FIRST_MS = 100;
const MAX_MS = 30_000;

export function retryDelay(attempt: number): number {
  return Math.min(MAX_MS, FIRST_MS * 2 ** Math.max(0, attempt - 1));
}

/** SQLite's "busy" and "locked": another process holds the store for a while; the same call will work later. */
const PASSING = new Set(['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT', 'SQLITE_LOCKED']);

/** Whether an error is expected to pass by itself (the call is tried again rather than counted as a failure). */
export function isPassing(err: unknown): boolean {
  return PASSING.has(String((err as { code?: unknown } | null)?.code ?? ''));
}
