// Times cross the API as Fenix strings ("2018-02-28 06:06:03", UTC) and are kept as epoch ms.
import { InvalidInputError } from './errors.js';

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
  const utc = Date.UTC(...fields);
  // Date.UTC rolls 2018-02-30 over to March: a field that changed means it was out of range.
  const back = new Date(utc);
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
