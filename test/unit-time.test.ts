import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/domain/errors.js';
import { EARLIEST_TIME_MS, LATEST_TIME_MS, formatFenixTime, formatIso, inTimeRange, parseTime } from '../src/domain/time.js';

const FENIX_EXAMPLE_MS = Date.UTC(2018, 1, 28, 6, 6, 3);

describe('parseTime', () => {
  it('reads the Fenix format "YYYY-MM-DD HH:MM:SS" as UTC', () => {
    expect(parseTime('2018-02-28 06:06:03')).toBe(FENIX_EXAMPLE_MS);
  });

  it('reads ISO 8601 with a Z zone', () => {
    expect(parseTime('2018-02-28T06:06:03Z')).toBe(FENIX_EXAMPLE_MS);
  });

  it('reads ISO 8601 with an offset', () => {
    expect(parseTime('2018-02-28T08:06:03+02:00')).toBe(FENIX_EXAMPLE_MS);
    expect(parseTime('2018-02-28T01:06:03-05:00')).toBe(FENIX_EXAMPLE_MS);
  });

  it('reads ISO 8601 without a zone as UTC, like the Fenix format', () => {
    expect(parseTime('2018-02-28T06:06:03')).toBe(FENIX_EXAMPLE_MS);
  });

  it('keeps fractional seconds', () => {
    expect(parseTime('2018-02-28 06:06:03.250')).toBe(FENIX_EXAMPLE_MS + 250);
    expect(parseTime('2018-02-28T06:06:03.5Z')).toBe(FENIX_EXAMPLE_MS + 500);
  });

  it('ignores surrounding whitespace', () => {
    expect(parseTime('  2018-02-28 06:06:03\n')).toBe(FENIX_EXAMPLE_MS);
  });

  it('reads a bare date as midnight UTC', () => {
    expect(parseTime('2018-02-28')).toBe(Date.UTC(2018, 1, 28));
  });

  for (const garbage of ['tomorrow', '', '06:06:03 2018-02-28', '28/02/2018 06:06:03', '2018-13-01 00:00:00', '2018-02-28 25:00:00', 'Feb 28 2018']) {
    it(`refuses ${JSON.stringify(garbage)} and shows the accepted formats`, () => {
      let error: unknown;
      try {
        parseTime(garbage);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(InvalidInputError);
      const message = (error as Error).message;
      expect(message).toContain(`invalid time "${garbage}"`);
      expect(message).toContain('YYYY-MM-DD HH:MM:SS');
      expect(message).toContain('ISO 8601');
    });
  }
});

describe('parseTime is strict', () => {
  it.each(['2018-02-30 06:00:00', '2018-13-01 00:00:00', '2018-02-28 24:00:00', '2018-02-28 junk 06:06:03', '2018-02-28 06:06:03 extra'])(
    'refuses %s instead of rolling it over or guessing',
    (text) => {
      expect(() => parseTime(text)).toThrow(`invalid time "${text}"`);
    },
  );

  it('reads a time without seconds and without a zone as UTC, like one with seconds', () => {
    expect(parseTime('2018-02-28 06:06')).toBe(Date.UTC(2018, 1, 28, 6, 6, 0));
    expect(parseTime('2018-02-28T06:06')).toBe(Date.UTC(2018, 1, 28, 6, 6, 0));
  });

  it('reads years 0 to 99 as written, not as 1900 to 1999', () => {
    expect(new Date(parseTime('0001-01-01')).toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(new Date(parseTime('0099-12-31 23:59:59')).toISOString()).toBe('0099-12-31T23:59:59.000Z');
  });

  it('applies a negative offset', () => {
    expect(parseTime('2018-02-28T01:06:03-05:00')).toBe(Date.UTC(2018, 1, 28, 6, 6, 3));
  });
});

describe('formatFenixTime', () => {
  it('formats epoch ms as the Fenix UTC string', () => {
    expect(formatFenixTime(FENIX_EXAMPLE_MS)).toBe('2018-02-28 06:06:03');
  });

  it('drops milliseconds', () => {
    expect(formatFenixTime(FENIX_EXAMPLE_MS + 999)).toBe('2018-02-28 06:06:03');
  });

  it('round-trips with parseTime', () => {
    for (const text of ['2018-02-28 06:06:03', '2026-01-01 00:00:00', '1999-12-31 23:59:59', '2024-02-29 12:00:00']) {
      expect(formatFenixTime(parseTime(text))).toBe(text);
    }
    const ms = Date.UTC(2030, 6, 4, 17, 30, 0);
    expect(parseTime(formatFenixTime(ms))).toBe(ms);
  });

  it('formatIso gives full ISO 8601 in UTC', () => {
    expect(formatIso(FENIX_EXAMPLE_MS)).toBe('2018-02-28T06:06:03.000Z');
  });
});

describe('inTimeRange', () => {
  it('takes 2000-01-01 to the end of 9999 (UTC), which formatFenixTime always formats', () => {
    expect(inTimeRange(EARLIEST_TIME_MS)).toBe(true);
    expect(inTimeRange(LATEST_TIME_MS)).toBe(true);
    expect(formatFenixTime(EARLIEST_TIME_MS)).toBe('2000-01-01 00:00:00');
    expect(formatFenixTime(LATEST_TIME_MS)).toBe('9999-12-31 23:59:59');
  });

  it('refuses what lies outside, and what is no time at all', () => {
    for (const ms of [EARLIEST_TIME_MS - 1, LATEST_TIME_MS + 1, 1e13 * 1000, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(inTimeRange(ms), String(ms)).toBe(false);
    }
  });
});
