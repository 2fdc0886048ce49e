// What the maintctl CLI needs beyond Fenix's routes (README: "The HTTP API"): session summaries
// and prefix lookup, events after an id (long poll), subscriptions. Bodies are checked here;
// the engine and the store do the rest, as for the CLI in embedded mode.
import { z } from 'zod';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { SUBSCRIPTION_FORMATS, type SessionEvent } from '../domain/model.js';
import { SESSION_EVENT } from '../domain/notifications.js';
import { parseWith } from '../domain/validate.js';
import { checkWebhookUrl } from '../domain/webhook-url.js';
import type { Engine } from '../engine/engine.js';
import { sessionSummaries } from '../engine/session-view.js';
import { listSubscriptions, subscribe, unsubscribe } from '../store/subscriptions.js';
import type { Principal } from './auth.js';
import { HttpError } from './http.js';

/** The longest a request for events waits for one (ms). */
export const MAX_WAIT_MS = 30_000;

const EVENT_TYPES = ['maintenance.planned', 'maintenance.scheduled', 'maintenance.host', 'maintenance.session'] as const;

const newSubscription = z.strictObject({
  event_type: z.enum(EVENT_TYPES).default('maintenance.planned'),
  url: z.string().min(1).nullable().default(null),
  format: z.enum(SUBSCRIPTION_FORMATS).default('fenix'),
  session_id: z.string().min(1).nullable().default(null),
});

/** A non-negative integer query parameter (absent: `fallback`). */
export function intParam(query: URLSearchParams, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = query.get(name);
  if (text === null) return fallback;
  const value = Number(text);
  if (!/^\d{1,15}$/.test(text) || value > max) throw new HttpError(400, `invalid ${name}=${text.slice(0, 20)}: give a whole number from 0 to ${max}`);
  return value;
}

/**
 * Whether a session has the principal's project in it (admins: every session). Only a yes is
 * remembered: a new session learns its projects after its first events.
 */
function memberOf(engine: Engine, principal: Principal): (sessionId: string | null) => boolean {
  if (principal.role === 'admin') return () => true;
  const yes = new Set<string>();
  return (sessionId) => {
    if (sessionId === null) return false;
    if (yes.has(sessionId)) return true;
    const member = engine.store.projects(sessionId).some((p) => p.projectId === principal.project);
    if (member) yes.add(sessionId);
    return member;
  };
}

/**
 * The events a principal may read: admins all; a project token those of the sessions it is in
 * that are about it (its questions, its replies, its instances) or about the session's state.
 */
export function visibleEvents(engine: Engine, principal: Principal): (event: SessionEvent) => boolean {
  if (principal.role === 'admin') return () => true;
  const member = memberOf(engine, principal);
  return (e) => member(e.sessionId) && (e.eventType === SESSION_EVENT || e.payload.project_id === principal.project);
}

/** Events after `after` (of one session, or all) that `visible` lets through; with `waitMs`, waits that long for the first new one. */
export function eventsAfter(engine: Engine, sessionId: string | null, after: number, waitMs: number, visible: (e: SessionEvent) => boolean = () => true): Promise<SessionEvent[]> {
  const read = () => engine.store.events(sessionId, after).filter(visible);
  const now = read();
  if (now.length || waitMs === 0) return Promise.resolve(now);
  return new Promise((resolve) => {
    const done = () => {
      unsubscribe();
      timer.cancel();
      resolve(read());
    };
    const unsubscribe = engine.bus.subscribe((event) => {
      if (event.id > after && (sessionId === null || event.sessionId === sessionId) && visible(event)) done();
    });
    const timer = engine.clock.at(engine.clock.now() + waitMs, done);
  });
}

/** Summaries of the sessions the principal may see (a project: those it is in). */
export function summaries(engine: Engine, principal: Principal) {
  const member = memberOf(engine, principal);
  return sessionSummaries(engine.store).filter((s) => member(s.session_id));
}

/** The session an id prefix names, among those the principal may see. */
export function sessionByPrefix(engine: Engine, principal: Principal, prefix: string): string {
  if (principal.role === 'admin') return engine.store.resolveSessionId(prefix);
  const wanted = prefix.toLowerCase();
  const ids = summaries(engine, principal).map((s) => s.session_id).filter((id) => id.toLowerCase().startsWith(wanted));
  const exact = ids.find((id) => id.toLowerCase() === wanted);
  if (exact) return exact;
  if (!ids.length) throw new NotFoundError(`no session ${prefix}`);
  if (ids.length > 1) throw new InvalidInputError(`session id prefix "${prefix}" is ambiguous: it matches ${ids.slice(0, 5).join(', ')}; give more characters`);
  return ids[0]!;
}

export async function addSubscription(engine: Engine, projectId: string, body: unknown, allowHosts: readonly string[]) {
  const sub = parseWith(newSubscription, body, 'subscription');
  if (sub.url !== null) {
    const { resolveAll } = await import('../notify/resolve.js');
    await checkWebhookUrl(sub.url, allowHosts, resolveAll);
  }
  if (sub.session_id !== null) sub.session_id = engine.store.resolveSessionId(sub.session_id);
  if (sub.url === null && (sub.event_type === 'maintenance.host' || sub.event_type === 'maintenance.session')) {
    throw new HttpError(400, `${sub.event_type} notices are only delivered by webhook: give a url`);
  }
  return subscribe(engine.store, { projectId, eventType: sub.event_type, url: sub.url, format: sub.format, sessionId: sub.session_id }, engine.clock.now());
}

export function removeSubscriptions(engine: Engine, projectId: string, query: URLSearchParams): { removed: number } {
  const id = query.has('id') ? intParam(query, 'id', 0) : undefined;
  const text = (name: string) => query.get(name) ?? undefined;
  const sessionId = text('session_id');
  return {
    removed: unsubscribe(engine.store, projectId, {
      id,
      eventType: text('event_type'),
      url: text('url'),
      sessionId: sessionId === undefined ? undefined : engine.store.resolveSessionId(sessionId),
    }),
  };
}

export const subscriptionsOf = (engine: Engine, projectId?: string) => listSubscriptions(engine.store, projectId);
