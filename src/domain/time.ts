// Times cross the API as Fenix strings ("2018-02-28 06:06:03", UTC) and are kept as epoch ms.
import { InvalidInputError } from './errors.js';

/** The first and the last instant a session time may name: years 2000 to 9999, UTC. */
export const EARLIEST_TIME_MS = Date.UTC(2000, 0, 1);
export const LATEST_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** How the range reads in messages. */
export const TIME_RANGE = 'between 2000-01-01 and 9999-12-31 (UTC)';

/** Longest duration a flag may give at all (more cannot be added to a time); flags have lower limits of their own. */
export const MAX_DURATION_MS = 8.64e15;
/** Longest `--wait --timeout`: 30 days. */
export const MAX_WAIT_MS = 30 * 24 * 3_600_000;

/** True for a finite epoch in the range above, which toISOString and formatFenixTime always accept. */
export function inTimeRange(ms: number): boolean {
  return Number.isFinite(ms) && ms >= EARLIEST_TIME_MS && ms <= LATEST_TIME_MS;
}

// Date, then optionally a time to the minute or second, a fraction and a zone (none means UTC).
const TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Accepts Fenix's `YYYY-MM-DD HH:MM:SS` and ISO 8601; a time without a zone is UTC, as in Fenix. */
export function parseTime(text: string): number {
  const match = TIME.exec(text.trim());
  const invalid = () =>
    new InvalidInputError(`invalid time "${text}": use "YYYY-MM-DD HH:MM:SS" (UTC) or ISO 8601 such as 2018-02-28T06:06:03Z`);
  if (!match) throw invalid();
  const [, y, mo, d, h = '00', mi = '00', sec = '00', fraction = '', zone = 'Z'] = match;
  const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec)] as const;
  // setUTCFullYear, unlike Date.UTC, reads years 0 to 99 as written rather than as 19xx.
  const back = new Date(0);
  back.setUTCFullYear(fields[0], fields[1], fields[2]);
  back.setUTCHours(fields[3], fields[4], fields[5], 0);
  const utc = back.getTime();
  // Dates roll 2018-02-30 over to March: a field that changed means it was out of range.
  const same = [back.getUTCFullYear(), back.getUTCMonth(), back.getUTCDate(), back.getUTCHours(), back.getUTCMinutes(), back.getUTCSeconds()];
  if (same.some((v, i) => v !== fields[i])) throw invalid();
  const ms = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  return utc + ms - zoneOffsetMs(zone);
}

function zoneOffsetMs(zone: string): number {
  if (zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
}

/** Formats epoch ms the way Fenix payloads carry times. */
export function formatFenixTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

export function formatIso(ms: number): string {
  return new Date(ms).toISOString();
}
