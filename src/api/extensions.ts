// What the maintctl CLI needs beyond Fenix's routes (README: "The HTTP API"): session summaries
// and prefix lookup, events after an id (long poll), subscriptions. Bodies are checked here;
// the engine and the store do the rest, as for the CLI in embedded mode.
import { hostname } from 'node:os';
import { z } from 'zod';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { SUBSCRIPTION_FORMATS, type SessionEvent } from '../domain/model.js';
import { SESSION_EVENT } from '../domain/notifications.js';
import { parseWith } from '../domain/validate.js';
import { allowedWebhookHost, checkWebhookUrl } from '../domain/webhook-url.js';
import type { Engine } from '../engine/engine.js';
import { sessionSummaries } from '../engine/session-view.js';
import type { Principal } from './auth.js';
import { HttpError } from './http.js';

/** The longest a request for events waits for one (ms). */
export const MAX_WAIT_MS = 30_000;

const EVENT_TYPES = ['maintenance.planned', 'maintenance.scheduled', 'maintenance.host', 'maintenance.session', 'maintctl.notification'] as const;

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
function memberOf(engine: Engine, principal: Principal): (sessionId: string | null) => Promise<boolean> {
  if (principal.role === 'admin') return async () => true;
  const yes = new Set<string>();
  return async (sessionId) => {
    if (sessionId === null) return false;
    if (yes.has(sessionId)) return true;
    const rows = await engine.repo.loadSession(sessionId);
    const member = rows?.projects.some((p) => p.projectId === principal.project) ?? false;
    if (member) yes.add(sessionId);
    return member;
  };
}

/** Keeps of a list what passes an async test, in order. */
async function keep<T>(list: T[], test: (item: T) => Promise<boolean>): Promise<T[]> {
  const passed = await Promise.all(list.map(test));
  return list.filter((_, i) => passed[i]);
}

/**
 * The events a principal may read: admins all; a project token those of the sessions it is in
 * that are about it (its questions, its replies, its instances) or about the session's state.
 */
export function visibleEvents(engine: Engine, principal: Principal): (event: SessionEvent) => Promise<boolean> {
  if (principal.role === 'admin') return async () => true;
  const member = memberOf(engine, principal);
  return async (e) => (e.eventType === SESSION_EVENT || e.payload.project_id === principal.project) && (await member(e.sessionId));
}

/** Events after `after` (of one session, or all) that `visible` lets through; with `waitMs`, waits that long for the first new one. */
export async function eventsAfter(
  engine: Engine,
  sessionId: string | null,
  after: number,
  waitMs: number,
  visible: (e: SessionEvent) => Promise<boolean> = async () => true,
): Promise<SessionEvent[]> {
  const read = async () => keep(await engine.repo.events(sessionId, after), visible);
  const now = await read();
  if (now.length || waitMs === 0) return now;
  return new Promise((resolve, reject) => {
    const done = () => {
      unsubscribe();
      unsubscribeDeleted();
      timer.cancel();
      read().then(resolve, reject);
    };
    const unsubscribe = engine.bus.subscribe((event) => {
      if (event.id > after && (sessionId === null || event.sessionId === sessionId)) done();
    });
    // A follower of a deleted session learns of it at once (its next read finds no session).
    const unsubscribeDeleted = engine.bus.onDeleted((deleted) => {
      if (deleted === sessionId) done();
    });
    const timer = engine.clock.at(engine.clock.now() + waitMs, done);
  });
}

/** Summaries of the sessions the principal may see (a project: those it is in). */
export async function summaries(engine: Engine, principal: Principal) {
  return keep(await sessionSummaries(engine.repo), (s) => memberOf(engine, principal)(s.session_id));
}

/** The session an id prefix names, among those the principal may see. */
export async function sessionByPrefix(engine: Engine, principal: Principal, prefix: string): Promise<string> {
  if (principal.role === 'admin') return engine.repo.resolveSessionId(prefix);
  const wanted = prefix.toLowerCase();
  const ids = (await summaries(engine, principal)).map((s) => s.session_id).filter((id) => id.toLowerCase().startsWith(wanted));
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
  if (sub.session_id !== null) sub.session_id = await engine.repo.resolveSessionId(sub.session_id);
  if (sub.url === null && ['maintenance.host', 'maintenance.session', 'maintctl.notification'].includes(sub.event_type)) {
    throw new HttpError(400, `${sub.event_type} notices are only delivered by webhook: give a url`);
  }
  const allowedHost = sub.url === null ? null : allowedWebhookHost(sub.url, allowHosts);
  return engine.repo.subscribe({ projectId, eventType: sub.event_type, url: sub.url, format: sub.format, sessionId: sub.session_id, allowedHost }, engine.clock.now());
}

export async function removeSubscriptions(engine: Engine, projectId: string, query: URLSearchParams): Promise<{ removed: number }> {
  const id = query.has('id') ? intParam(query, 'id', 0) : undefined;
  const text = (name: string) => query.get(name) ?? undefined;
  const sessionId = text('session_id');
  return {
    removed: await engine.repo.unsubscribe(projectId, {
      id,
      eventType: text('event_type'),
      url: text('url'),
      sessionId: sessionId === undefined ? undefined : await engine.repo.resolveSessionId(sessionId),
    }),
  };
}

export const subscriptionsOf = (engine: Engine, projectId?: string) => engine.repo.listSubscriptions(projectId);

export interface ReplicaDocument {
  replica_id: string;
  hostname: string;
  pid: number;
  /** The sessions whose lease it holds now. */
  sessions: string[];
}

/** Who runs what (GET /v1/replicas): this replica first, then every other one holding a session's lease. */
export async function replicasOf(engine: Engine): Promise<{ replica_id: string; replicas: ReplicaDocument[] }> {
  const self: ReplicaDocument = { replica_id: engine.owner, hostname: hostname(), pid: process.pid, sessions: [] };
  const byId = new Map([[self.replica_id, self]]);
  for (const lease of await engine.repo.heldLeases(engine.clock.now())) {
    let replica = byId.get(lease.owner);
    if (!replica) byId.set(lease.owner, (replica = { replica_id: lease.owner, hostname: lease.hostname, pid: lease.pid, sessions: [] }));
    replica.sessions.push(lease.sessionId);
  }
  return { replica_id: self.replica_id, replicas: [...byId.values()] };
}
