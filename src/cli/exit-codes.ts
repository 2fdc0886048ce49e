// Exit codes, decided in one place from the kind of error (documented in README and man page).
import { InvalidInputError, NotFoundError, RefusedError } from '../domain/errors.js';

export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  sessionFailed: 3,
  timedOut: 4,
  notFound: 5,
  refused: 6,
  /** As shells report a command stopped by Ctrl-C (128 + SIGINT). */
  cancelled: 130,
} as const;

/** The person at the terminal stopped a prompt (Ctrl-C). */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

/** The session ended MAINTENANCE_FAILED. */
export class SessionFailedError extends Error {}

/** --wait gave up before the session ended. */
export class TimedOutError extends Error {}

/** Command-line usage was wrong (unknown flag, bad value). */
export class UsageError extends InvalidInputError {}

export function exitCodeFor(err: unknown): number {
  if (err instanceof InvalidInputError) return EXIT.usage;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof RefusedError) return EXIT.refused;
  if (err instanceof SessionFailedError) return EXIT.sessionFailed;
  if (err instanceof TimedOutError) return EXIT.timedOut;
  if (err instanceof CancelledError) return EXIT.cancelled;
  return EXIT.error;
}
