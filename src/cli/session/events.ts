// maintctl session events: the session's events, a line each (as `nomad monitor` or
// `kubectl logs`), and with --follow the new ones as they happen, until the session ends. Only
// new events are read at each poll; nothing already printed is printed again.
import type { Command } from 'commander';
import type { SessionEvent } from '../../domain/model.js';
import { isTerminal, type SessionState } from '../../domain/states.js';
import { formatIso } from '../../domain/time.js';
import { SESSION_EVENT } from '../../domain/notifications.js';
import type { Deps } from '../deps.js';
import { eventText } from '../render/event-line.js';
import { emit } from '../render/output.js';
import { eventWait, pause } from './poll.js';

export interface EventsOptions {
  id: string;
  follow: boolean;
}

export function register(session: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  session
    .command('events')
    .description("print a session's events, a line each; --follow goes on with new ones until the session ends")
    .argument('<id>', 'session id or prefix')
    .option('--follow', 'go on printing new events until the session ends')
    .action((id: string, flags: { follow?: boolean }) => run((deps) => runEvents({ id, follow: Boolean(flags.follow) }, deps)));
}

export async function runEvents(options: EventsOptions, deps: Deps): Promise<void> {
  const client = deps.client();
  const id = await client.resolveId(options.id);
  let doc = await client.showSession(id);
  const names = new Map(doc.instances.map((i) => [i.instance_id, i.name]));
  const wire = (e: SessionEvent) => ({ id: e.id, time: formatIso(e.time), event_type: e.eventType, payload: e.payload });
  const line = (e: SessionEvent) => {
    const text = eventText(e, (iid) => names.get(iid));
    return text === null ? null : `${formatIso(e.time)}  ${text}`;
  };
  const history = await client.events(id, 0);
  if (!options.follow) {
    // A document for scripts; for people, the events they would want to read.
    emit(deps.io, deps.format, history.map(wire), () => history.map(line).filter((l) => l !== null).join('\n') || 'No events.');
    return;
  }
  // Followed: one line per event as it comes; JSON one object a line, YAML items of one list.
  const print = (events: SessionEvent[]) => {
    for (const e of events) {
      if (deps.format === 'json') deps.io.out.write(`${JSON.stringify(wire(e))}\n`);
      else if (deps.format === 'yaml') emit(deps.io, 'yaml', [wire(e)], () => '');
      else {
        const text = line(e);
        if (text !== null) deps.io.out.write(`${text}\n`);
      }
    }
  };
  print(history);
  let after = history.at(-1)?.id ?? 0;
  await client.ensureRunning(id);
  while (!isTerminal(doc.state as SessionState)) {
    await pause(client, deps.clock);
    const events = await client.events(id, after, eventWait(client));
    if (!events.length) continue;
    after = events.at(-1)!.id;
    // New instances (re-created by their project) get their names; the state says when to stop.
    if (events.some((e) => e.eventType === SESSION_EVENT || e.eventType.startsWith('maintctl.instance'))) {
      doc = await client.showSession(id);
      for (const i of doc.instances) names.set(i.instance_id, i.name);
    }
    print(events);
  }
}
