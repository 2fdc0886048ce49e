// One line per event, for people following a session (demo, --watch when not on a TTY).
import type { SessionEvent } from '../../domain/model.js';
import type { Store } from '../../store/store.js';

type Payload = Record<string, unknown>;
const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** Names instances for people; ids stay where no name is known. */
export type NameOf = (instanceId: string) => string | undefined;

/** Instance names as the session's rows have them now (read once, at the first name asked: a reply may name thousands). */
export function namesIn(store: Store, sessionId: string | null): NameOf {
  let names: Map<string, string> | null = null;
  return (id) => {
    if (!sessionId) return undefined;
    names ??= new Map(store.instances(sessionId).map((i) => [i.instanceId, i.name]));
    return names.get(id);
  };
}

const FORMATS: Record<string, (p: Payload, nameOf: NameOf) => string | null> = {
  'maintenance.session': (p) =>
    p.previous_state === p.state
      ? `progress   ${str(p.percent_done)}%`
      : `session    ${p.previous_state ? `${str(p.previous_state)} -> ` : ''}${str(p.state)} (${str(p.percent_done)}%)${p.failure ? `: ${str(p.failure)}` : ''}`,
  'maintenance.planned': (p, nameOf) =>
    p.state === 'INSTANCE_ACTION_DONE'
      ? `project    ${str(p.project_id)}: action done for ${(p.instance_ids as string[]).map((id) => nameOf(id) ?? id).join(', ')}`
      : `project    ${str(p.project_id)} asked ${str(p.state)}, reply by ${str(p.reply_at)}`,
  'maintenance.host': (p) => `host       ${str(p.host)} ${str(p.state)}`,
  'maintctl.reply': (p, nameOf) => {
    const actions = Object.entries((p.instance_actions ?? {}) as Payload).map(([id, a]) => `${nameOf(id) ?? id.slice(0, 8)}=${str(a)}`);
    return `reply      ${str(p.project_id)} ${str(p.state)}${actions.length ? ` ${actions.join(' ')}` : ''}`;
  },
  'maintctl.transition': (p) => `decision   ${str(p.reason)}`,
  'maintctl.operation': (p) => {
    const params = (p.params ?? {}) as Payload;
    const what = `${str(p.kind).replace('_', ' ')} ${str(params.name) || str(p.target)}`;
    if (p.status === 'started') return `operation  ${what} started`;
    if (p.status === 'failed') return `operation  ${what} FAILED: ${str(p.cause)}`;
    const to = (p.result as Payload | undefined)?.host;
    return `operation  ${what} done${to ? ` (now on ${str(to)})` : ''}`;
  },
  'maintctl.instance.replaced': (p) => `instance   ${str(p.old_id).slice(0, 8)} re-instantiated by its project as ${str(p.instance_id).slice(0, 8)} on ${str(p.host)}`,
  'maintctl.instance.added': (p) => `instance   ${str(p.name)} appeared on ${str(p.host)} (${str(p.project_id)})`,
  'maintctl.instance.removed': (p) => `instance   ${str(p.name)} is gone from ${str(p.host)} (${str(p.project_id)})`,
  'maintctl.host.disabled_before': (p) => `host       ${str(p.host)} was disabled before the session: left disabled`,
  'maintctl.engine_error': (p) => `engine     error: ${str(p.message)}`,
};

/** Formats an event as `+HH:MM:SS  text`, relative to `start`; null for events people need not see. */
export function eventLine(event: SessionEvent, start: number, nameOf: NameOf = () => undefined): string | null {
  const text = eventText(event, nameOf);
  return text ? `${elapsed(event.time - start)}  ${text}` : null;
}

/** What an event says to people, without a time; null for events people need not see. */
export function eventText(event: SessionEvent, nameOf: NameOf = () => undefined): string | null {
  return FORMATS[event.eventType]?.(event.payload, nameOf) ?? null;
}

export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `+${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}
