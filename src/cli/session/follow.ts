// Following a session to its end: a live table on a terminal, one line per event otherwise,
// or nothing (for -o json/yaml). Cross-process changes are picked up every 100 ms.
import { isTerminal, type SessionState } from '../../domain/states.js';
import type { SessionDocument } from '../../engine/session-view.js';
import type { Deps } from '../deps.js';
import { TimedOutError } from '../exit-codes.js';
import { eventLine } from '../render/event-line.js';
import { sessionView } from '../render/session.js';
import { styleFor } from '../render/style.js';

export type FollowMode = 'live' | 'lines' | 'quiet';

export interface FollowOptions {
  mode: FollowMode;
  timeoutMs?: number;
  instances?: boolean;
}

const POLL_MS = 100;

export function followMode(deps: Deps): FollowMode {
  if (deps.format !== 'table') return 'quiet';
  return deps.io.isTTY && !deps.io.env.CI ? 'live' : 'lines';
}

export async function follow(id: string, deps: Deps, options: FollowOptions): Promise<SessionDocument> {
  const client = deps.client();
  const { io, clock } = deps;
  const c = styleFor(io);
  const started = clock.now();
  let after = 0;
  let drawn = 0;
  let doc = await client.showSession(id);
  const start = Date.parse(doc.created_at);
  const names = new Map(doc.instances.map((i) => [i.instance_id, i.name]));
  for (;;) {
    const events = await client.events(id, after);
    if (events.length) after = events.at(-1)!.id;
    if (events.length || drawn === 0) doc = await client.showSession(id);
    for (const i of doc.instances) names.set(i.instance_id, i.name);
    if (options.mode === 'lines') {
      for (const e of events) {
        const line = eventLine(e, start, (iid) => names.get(iid));
        if (line) io.out.write(`${line}\n`);
      }
    } else if (options.mode === 'live' && (events.length || drawn === 0)) {
      const frame = `${sessionView(c, doc, clock.now(), { instances: options.instances })}\n`;
      io.out.write(`${drawn ? `\x1b[${drawn}F\x1b[0J` : ''}${frame}`);
      drawn = frame.split('\n').length - 1;
    }
    if (isTerminal(doc.state as SessionState)) return doc;
    if (options.timeoutMs !== undefined && clock.now() - started >= options.timeoutMs) {
      throw new TimedOutError(`session ${id} is still ${doc.state} after ${Math.round(options.timeoutMs / 1000)} s (it goes on; follow it with session show ${id.slice(0, 8)} --watch)`);
    }
    await new Promise<void>((resolve) => clock.at(clock.now() + POLL_MS, resolve));
  }
}
