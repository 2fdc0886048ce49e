// Pauses between retries of something that failed for a reason expected to pass (a busy store):
// growing, and capped so a long outage is noticed within half a minute of its end.
const FIRST_MS = 100;
const MAX_MS = 30_000;

export function retryDelay(attempt: number): number {
  return Math.min(MAX_MS, FIRST_MS * 2 ** Math.max(0, attempt - 1));
}
