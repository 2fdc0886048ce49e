// Parsers for flag values; each error names the flag, what was wrong and an example that works.
import { PLUGIN_TYPES } from '../domain/states.js';
import { parseTime } from '../domain/time.js';
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

/** `90`, `30s`, `5m`, `1h30m`, `250ms` into milliseconds (a bare number is seconds). */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new UsageError(`invalid ${flag} "${text}": use a duration such as 90s, 5m or 1h30m`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
}

/** Seconds as a positive number, for reply deadlines. */
export function parseSeconds(text: string, flag: string): number {
  const ms = parseDuration(text, flag);
  if (ms <= 0) throw new UsageError(`invalid ${flag} "${text}": it must be more than zero`);
  return ms / 1000;
}

/** `--at`: checked here so a bad time is a usage error before anything is written. */
export function checkTime(text: string): string {
  try {
    parseTime(text);
  } catch (err) {
    throw new UsageError(`invalid --at: ${(err as Error).message.replace(/^invalid time /, '')}`);
  }
  return text;
}
