// Parsers for flag values; each error names the flag, what was wrong and an example that works.
import { UNSUBSCRIBED_POLICIES, type UnsubscribedPolicy } from '../domain/model.js';
import { PLUGIN_TYPES } from '../domain/states.js';
import { MAX_DURATION_MS, MAX_WAIT_MS, TIME_RANGE, inTimeRange, parseTime } from '../domain/time.js';
import { UsageError } from './exit-codes.js';

/** commander helper for repeatable flags. */
export const collect = (value: string, previous: string[]) => [...previous, value];

/** `--metadata k=v` (repeatable) into an object; values that read as JSON scalars stay strings. */
export function parseMetadata(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid --metadata "${pair}": use KEY=VALUE, e.g. --metadata openstack_release=Queens`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** `--action type:plugin[:k=v,...]` into a Fenix action entry. */
export function parseAction(text: string): { type: string; plugin: string; metadata?: Record<string, string> } {
  const [type, plugin, ...rest] = text.split(':');
  const example = 'e.g. --action host:dummy or --action host:os_upgrade:upgrade=SW1';
  if (!type || !plugin) throw new UsageError(`invalid --action "${text}": use TYPE:PLUGIN[:KEY=VALUE,...], ${example}`);
  if (!(PLUGIN_TYPES as readonly string[]).includes(type)) {
    throw new UsageError(`invalid --action "${text}": type "${type}" is not one of ${PLUGIN_TYPES.join(', ')}`);
  }
  const meta = rest.join(':');
  return meta ? { type, plugin, metadata: parseMetadata(meta.split(',')) } : { type, plugin };
}

/** `--hosts a,b,c` into names; empty entries are an error rather than silently dropped. */
export function parseHosts(text: string): string[] {
  const hosts = text.split(',').map((h) => h.trim());
  if (hosts.some((h) => !h)) throw new UsageError(`invalid --hosts "${text}": give host names separated by commas, e.g. --hosts compute-0,compute-1`);
  return hosts;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * `90`, `30s`, `5m`, `1h30m`, `250ms` into milliseconds (a bare number is seconds). With `maxMs`,
 * a longer one is refused saying the limit; one too long for any clock is refused as unreadable.
 */
export function parseDuration(text: string, flag: string, maxMs?: number): number {
  const trimmed = text.trim();
  const unreadable = () => new UsageError(`invalid ${flag} "${text}": use a duration such as 90s, 5m or 1h30m`);
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
    if (!parts.length || parts.map((p) => p[0]).join('') !== trimmed) throw unreadable();
    ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
  }
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) throw unreadable();
  if (maxMs !== undefined && ms > maxMs) {
    throw new UsageError(`invalid ${flag} "${text}": at most ${maxMs / 3_600_000}h (${maxMs / 86_400_000} days)`);
  }
  return ms;
}

/** A duration that must be more than zero (a deadline, a time-out), in ms. */
export function parsePositiveDuration(text: string, flag: string, maxMs: number): number {
  const ms = parseDuration(text, flag, maxMs);
  if (ms <= 0) throw new UsageError(`invalid ${flag} "${text}": it must be more than zero, e.g. ${flag} 10m`);
  return ms;
}

/** Seconds as a positive number up to `maxSeconds`, for reply deadlines. */
export function parseSeconds(text: string, flag: string, maxSeconds: number): number {
  return parsePositiveDuration(text, flag, maxSeconds * 1000) / 1000;
}

/** `--wait [--timeout DURATION]` of the commands that follow a session to its end. */
export function parseWait(flags: { wait?: boolean; timeout?: string }): { wait: boolean; timeoutMs?: number } {
  if (flags.timeout !== undefined && !flags.wait) throw new UsageError('--timeout needs --wait');
  if (flags.timeout === undefined) return { wait: Boolean(flags.wait) };
  return { wait: true, timeoutMs: parsePositiveDuration(flags.timeout, '--timeout', MAX_WAIT_MS) };
}

/** A whole number from 1 to `max` (`what` says what is counted), or `auto` when `auto` is allowed. */
export function parseCount(text: string, flag: string, what: string, max: number): number;
export function parseCount(text: string, flag: string, what: string, max: number, auto: true): number | 'auto';
export function parseCount(text: string, flag: string, what: string, max: number, auto = false): number | 'auto' {
  const trimmed = text.trim();
  if (auto && trimmed === 'auto') return 'auto';
  const n = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!(n >= 1 && n <= max)) {
    throw new UsageError(`invalid ${flag} "${text}": give a whole number of ${what} from 1 to ${max}${auto ? ', or auto' : ''}`);
  }
  return n;
}

/** `--at`: checked here so a bad time is a usage error before anything is written. */
export function checkTime(text: string): string {
  let ms: number;
  try {
    ms = parseTime(text);
  } catch (err) {
    throw new UsageError(`invalid --at: ${(err as Error).message.replace(/^invalid time /, '')}`);
  }
  if (!inTimeRange(ms)) throw new UsageError(`invalid --at: "${text}": give a time ${TIME_RANGE}`);
  return text;
}

/** `--timing` keys and the cloud file's timing fields they set. */
export const TIMING_KEYS = { migrate: 'migrate_s', live_migrate: 'live_migrate_s', host: 'host_maintenance_s', plugin: 'plugin_s' } as const;
export type TimingKey = keyof typeof TIMING_KEYS;

/**
 * `--timing migrate=30s,live_migrate=10s,host=10m,plugin=2m` (any subset) into a cloud file's
 * timing and the time of a plug-in without metadata expected_s, in seconds. Each duration as parseDuration reads it, up to `maxSeconds`.
 */
export function parseTiming(text: string, maxSeconds: number): Partial<Record<(typeof TIMING_KEYS)[TimingKey], number>> {
  const keys = Object.keys(TIMING_KEYS).join(', ');
  const example = 'e.g. --timing migrate=30s,live_migrate=10s,host=10m';
  const out: Partial<Record<(typeof TIMING_KEYS)[TimingKey], number>> = {};
  for (const entry of text.split(',')) {
    const eq = entry.indexOf('=');
    const key = entry.slice(0, Math.max(eq, 0)).trim();
    if (eq <= 0) throw new UsageError(`invalid --timing "${text}": use KEY=DURATION with KEY one of ${keys}, ${example}`);
    if (!Object.hasOwn(TIMING_KEYS, key)) throw new UsageError(`invalid --timing "${text}": unknown key "${key}": use ${keys}, ${example}`);
    out[TIMING_KEYS[key as TimingKey]] = parseDuration(entry.slice(eq + 1), `--timing ${key}`, maxSeconds * 1000) / 1000;
  }
  return out;
}

/**
 * `--unsubscribed migrate` (every project) and `--unsubscribed proj-x=live_migrate` (one),
 * repeatable; the policy in any case.
 */
export function parsePolicies(values: string[]): { default?: UnsubscribedPolicy; projects?: Record<string, UnsubscribedPolicy> } {
  const out: { default?: UnsubscribedPolicy; projects?: Record<string, UnsubscribedPolicy> } = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const policy = (eq < 0 ? value : value.slice(eq + 1)).toLowerCase() as UnsubscribedPolicy;
    if (!UNSUBSCRIBED_POLICIES.includes(policy) || eq === 0) {
      throw new UsageError(`invalid --unsubscribed "${value}": use POLICY or PROJECT=POLICY with POLICY one of ${UNSUBSCRIBED_POLICIES.join(', ')}`);
    }
    if (eq < 0) out.default = policy;
    else out.projects = { ...out.projects, [value.slice(0, eq)]: policy };
  }
  return out;
}

/** A whole number from 0 to `max` (0 has a meaning of its own: none, or no limit). */
export function parseWhole(text: string, flag: string, what: string, max: number): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(n >= 0 && n <= max)) throw new UsageError(`invalid ${flag} "${text}": give a whole number of ${what} from 0 to ${max}`);
  return n;
}

/** A duration in seconds, zero allowed (a recovery time, a lead time). */
export function parseDurationSeconds(text: string, flag: string, maxSeconds: number): number {
  return parseDuration(text, flag, maxSeconds * 1000) / 1000;
}
