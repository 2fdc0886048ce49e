// Following a session to its end: a live table on a terminal, one line per event otherwise,
// or only a spinner (for -o json/yaml). Embedded, other processes' changes are picked up every
// 100 ms; from a server, each read waits for the next event (its long poll).
import type { SessionEvent } from '../../domain/model.js';
import { isTerminal, type SessionState } from '../../domain/states.js';
import type { SessionDocument } from '../../engine/session-view.js';
import type { Deps } from '../deps.js';
import { SessionFailedError, TimedOutError } from '../exit-codes.js';
import { emit } from '../render/output.js';
import { eventLine } from '../render/event-line.js';
import { sessionView } from '../render/session.js';
import { styleFor } from '../render/style.js';
import { hintCommand } from '../hint.js';
import { eventWait, pause } from './poll.js';

export type FollowMode = 'live' | 'lines' | 'quiet';

export interface FollowOptions {
  mode: FollowMode;
  timeoutMs?: number;
  instances?: boolean;
  /** Events up to this id are not shown (0: the whole history). */
  after?: number;
}

export function followMode(deps: Deps): FollowMode {
  if (deps.format !== 'table') return 'quiet';
  return deps.io.color ? 'live' : 'lines';
}

/** Draws what changed since the last poll, the way the mode wants it. */
function renderer(deps: Deps, options: FollowOptions, first: SessionDocument) {
  const { io, clock } = deps;
  const c = styleFor(io);
  const start = Date.parse(first.created_at);
  const names = new Map<string, string>();
  let drawnLines = 0;
  const spinner = options.mode === 'quiet' ? io.spinner(`session ${first.session_id.slice(0, 8)}: ${first.state}`) : null;
  return {
    draw(doc: SessionDocument, events: SessionEvent[], initial: boolean) {
      for (const i of doc.instances) names.set(i.instance_id, i.name);
      if (options.mode === 'lines') {
        for (const e of events) {
          const line = eventLine(e, start, (id) => names.get(id));
          if (line) io.out.write(`${line}\n`);
        }
      } else if (options.mode === 'quiet') {
        spinner?.text(`session ${doc.session_id.slice(0, 8)}: ${doc.state} (${doc.percent_done}%)`);
      } else if (events.length || initial) {
        // Move up over the previous frame and clear it, then draw the new one.
        const frame = `${sessionView(c, doc, clock.now(), { instances: options.instances })}\n`;
        io.out.write(`${drawnLines ? `\x1b[${drawnLines}F\x1b[0J` : ''}${frame}`);
        drawnLines = frame.split('\n').length - 1;
      }
    },
    stop: () => spinner?.stop(),
  };
}

export async function follow(id: string, deps: Deps, options: FollowOptions): Promise<SessionDocument> {
  const client = deps.client();
  const { clock } = deps;
  const started = clock.now();
  await client.ensureRunning(id);
  let doc = await client.showSession(id);
  const view = renderer(deps, options, doc);
  let after = options.after ?? 0;
  try {
    for (let first = true; ; first = false) {
      const remaining = options.timeoutMs === undefined ? undefined : options.timeoutMs - (clock.now() - started);
      const events = await client.events(id, after, first ? 0 : eventWait(client, remaining));
      if (events.length) {
        after = events.at(-1)!.id;
        doc = await client.showSession(id);
      }
      const ended = isTerminal(doc.state as SessionState);
      // It may have ended after the events were read: the last ones are read once it has.
      if (ended) events.push(...(await client.events(id, after)));
      view.draw(doc, events, first);
      if (ended) return doc;
      if (options.timeoutMs !== undefined && clock.now() - started >= options.timeoutMs) {
        throw new FollowTimedOut(
          `session ${id} is still ${doc.state} after ${seconds(options.timeoutMs)}; it goes on (follow it with: ${hintCommand(deps, `session show ${id.slice(0, 8)} --watch`)})`,
          doc,
        );
      }
      await pause(client, clock);
    }
  } finally {
    view.stop();
  }
}

const seconds = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(1))} s`);

/**
 * Follows a session to its end for --wait and --watch: prints the final document (unless the
 * live view already shows it), and a failed session is an error (exit 3).
 */
export async function followToEnd(id: string, deps: Deps, options: Omit<FollowOptions, 'mode'> = {}): Promise<void> {
  const mode = followMode(deps);
  const show = (doc: SessionDocument) => emit(deps.io, deps.format, doc, () => sessionView(styleFor(deps.io), doc, deps.clock.now(), { instances: options.instances }));
  let doc: SessionDocument;
  try {
    doc = await follow(id, deps, { mode, ...options });
  } catch (err) {
    // A script that gave up waiting still gets the document, as it stands (exit 4 says the rest).
    if (err instanceof FollowTimedOut && mode === 'quiet') show(err.doc);
    throw err;
  }
  if (mode !== 'live') show(doc);
  if (doc.state === 'MAINTENANCE_FAILED') {
    throw new SessionFailedError(`session ${id} failed: ${doc.failure ?? 'no cause recorded'} (once the cause is fixed: ${hintCommand(deps, `session update ${id.slice(0, 8)}`)})`);
  }
}

/** --wait gave up; the session as it was then goes with it. */
class FollowTimedOut extends TimedOutError {
  constructor(
    message: string,
    readonly doc: SessionDocument,
  ) {
    super(message);
  }
}
