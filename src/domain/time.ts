// Times cross the API as Fenix strings ("2018-02-28 06:06:03", UTC) and are kept as epoch ms.
import { InvalidInputError } from './errors.js';

const FENIX_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?$/;

/** Accepts Fenix's `YYYY-MM-DD HH:MM:SS` (UTC) and ISO 8601 with or without a zone. */
export function parseTime(text: string): number {
  const trimmed = text.trim();
  const fenix = FENIX_TIME.exec(trimmed);
  const ms = fenix ? Date.parse(`${trimmed.replace(' ', 'T')}Z`) : Date.parse(trimmed);
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    throw new InvalidInputError(
      `invalid time "${text}": use "YYYY-MM-DD HH:MM:SS" (UTC) or ISO 8601 such as 2018-02-28T06:06:03Z`,
    );
  }
  return ms;
}

/** Formats epoch ms the way Fenix payloads carry times. */
export function formatFenixTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

export function formatIso(ms: number): string {
  return new Date(ms).toISOString();
}
