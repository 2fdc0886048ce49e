// Subscriptions and the delivery outbox. Deliveries are created with their event (Store.appendEvent).
import { existsSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Delivery, DeliveryStatus, Subscription, SubscriptionFormat } from '../domain/model.js';
import type { Store } from './store.js';

type Row = Record<string, unknown>;

export const toSubscription = (r: Row): Subscription => ({
  id: Number(r.id),
  projectId: String(r.project_id),
  eventType: String(r.event_type),
  url: (r.url as string | null) ?? null,
  format: r.format as SubscriptionFormat,
  sessionId: (r.session_id as string | null) ?? null,
  createdAt: Number(r.created_at),
  allowedHost: (r.allowed_host as string | null | undefined) ?? null,
});

export const toDelivery = (r: Row): Delivery => ({
  id: Number(r.id),
  eventId: Number(r.event_id),
  subscriptionId: Number(r.subscription_id),
  sessionId: (r.session_id as string | null) ?? null,
  url: String(r.url),
  format: r.format as SubscriptionFormat,
  status: r.status as DeliveryStatus,
  attempts: Number(r.attempts),
  nextAttemptAt: Number(r.next_attempt_at),
  lastError: (r.last_error as string | null) ?? null,
  deliveredAt: r.delivered_at === null ? null : Number(r.delivered_at),
});

export interface NewSubscription {
  projectId: string;
  eventType: string;
  url: string | null;
  format: SubscriptionFormat;
  sessionId: string | null;
  /** The URL's host when --allow-webhook-host named it: delivery lets it through whatever it resolves to. */
  allowedHost?: string | null;
}

/** Adds a subscription, or returns the same one if it exists already (subscribing twice is harmless). */
export function subscribe(store: Store, sub: NewSubscription, now: number): Subscription {
  return store.tx(() => {
    const existing = store
      .statement(
        `SELECT * FROM subscriptions WHERE project_id = ? AND event_type = ? AND url IS ? AND session_id IS ?`,
      )
      .get(sub.projectId, sub.eventType, sub.url, sub.sessionId) as Row | undefined;
    const allowedHost = sub.allowedHost ?? null;
    if (existing) {
      if (existing.format !== sub.format || existing.allowed_host !== allowedHost) {
        store.statement('UPDATE subscriptions SET format = ?, allowed_host = ? WHERE id = ?').run(sub.format, allowedHost, existing.id);
      }
      return toSubscription({ ...existing, format: sub.format, allowed_host: allowedHost });
    }
    const info = store
      .statement('INSERT INTO subscriptions (project_id, event_type, url, format, session_id, created_at, allowed_host) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(sub.projectId, sub.eventType, sub.url, sub.format, sub.sessionId, now, allowedHost);
    return toSubscription({ id: info.lastInsertRowid, project_id: sub.projectId, event_type: sub.eventType, url: sub.url, format: sub.format, session_id: sub.sessionId, created_at: now, allowed_host: allowedHost });
  });
}

export interface SubscriptionFilter {
  id?: number;
  eventType?: string;
  url?: string;
  sessionId?: string;
}

/** Whether an unsubscribe's filter takes this subscription (no filter: every one of the project's). */
export const matchesFilter = (s: Subscription, filter: SubscriptionFilter) =>
  (filter.id === undefined || s.id === filter.id) &&
  (filter.eventType === undefined || s.eventType === filter.eventType) &&
  (filter.url === undefined || s.url === filter.url) &&
  (filter.sessionId === undefined || s.sessionId === filter.sessionId);

/** Removes matching subscriptions (all of the project's when no filter is given) and cancels their pending deliveries. */
export function unsubscribe(store: Store, projectId: string, filter: SubscriptionFilter): number {
  return store.tx(() => {
    const matching = listSubscriptions(store, projectId).filter((s) => matchesFilter(s, filter));
    for (const s of matching) {
      store.statement("UPDATE deliveries SET status = 'cancelled' WHERE subscription_id = ? AND status = 'pending'").run(s.id);
      store.statement('DELETE FROM subscriptions WHERE id = ?').run(s.id);
    }
    return matching.length;
  });
}

export function listSubscriptions(store: Store, projectId?: string): Subscription[] {
  const rows = projectId
    ? store.statement('SELECT * FROM subscriptions WHERE project_id = ? ORDER BY id').all(projectId)
    : store.statement('SELECT * FROM subscriptions ORDER BY project_id, id').all();
  return (rows as Row[]).map(toSubscription);
}

export function findSubscription(store: Store, id: number): Subscription | null {
  const row = store.statement('SELECT * FROM subscriptions WHERE id = ?').get(id) as Row | undefined;
  return row ? toSubscription(row) : null;
}

/** The webhook host a subscription was allowed to reach although link-local or metadata, or null. */
export function allowedHostOf(store: Store, subscriptionId: number): string | null {
  const row = store.statement('SELECT allowed_host FROM subscriptions WHERE id = ?').get(subscriptionId) as Row | undefined;
  return (row?.allowed_host as string | null | undefined) ?? null;
}

/** Whether a project hears about this session's questions (maintenance.planned or its alias). */
export function isSubscribed(store: Store, projectId: string, sessionId: string): boolean {
  return Boolean(
    store
      .statement(
        `SELECT 1 FROM subscriptions WHERE project_id = ? AND event_type IN ('maintenance.planned', 'maintenance.scheduled')
         AND (session_id IS NULL OR session_id = ?) LIMIT 1`,
      )
      .get(projectId, sessionId),
  );
}

/** The oldest pending delivery of each subscription, if due: later ones wait behind it (order is kept). */
export function headOfLine(store: Store, now: number): Delivery[] {
  const rows = store
    .statement(
      `SELECT * FROM deliveries d WHERE d.status = 'pending' AND d.next_attempt_at <= ?
         AND d.id = (SELECT MIN(id) FROM deliveries e WHERE e.subscription_id = d.subscription_id AND e.status = 'pending')
       ORDER BY d.id LIMIT 64`,
    )
    .all(now) as Row[];
  return rows.map(toDelivery);
}

/**
 * When the next delivery can go, leaving out the subscriptions given (busy ones). Only the head
 * of each subscription's line counts: the ones behind it wait for it, however old they are (else
 * a receiver that is down would make this "now" again and again).
 */
export function nextDeliveryAt(store: Store, exceptSubscriptions: number[] = []): number | null {
  const row = store
    .statement(
      `SELECT MIN(d.next_attempt_at) AS t FROM deliveries d
       WHERE d.status = 'pending' AND d.subscription_id NOT IN (SELECT value FROM json_each(?))
         AND d.id = (SELECT MIN(id) FROM deliveries e WHERE e.subscription_id = d.subscription_id AND e.status = 'pending')`,
    )
    .get(JSON.stringify(exceptSubscriptions)) as Row;
  return row.t === null ? null : Number(row.t);
}

/** What an attempt at a delivery came to. */
export interface DeliveryOutcome {
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  error: string | null;
  deliveredAt: number | null;
}

export function recordAttempt(store: Store, id: number, outcome: DeliveryOutcome): void {
  // Only while still pending: an unsubscribe during the attempt cancelled it for good.
  store
    .statement(
      "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, delivered_at = ? WHERE id = ? AND status = 'pending'",
    )
    .run(outcome.status, outcome.attempts, outcome.nextAttemptAt, outcome.error, outcome.deliveredAt, id);
}

export function sessionDeliveries(store: Store, sessionId: string): Delivery[] {
  return (store.statement('SELECT * FROM deliveries WHERE session_id = ? ORDER BY id').all(sessionId) as Row[]).map(toDelivery);
}

/**
 * Projects subscribed to maintenance.planned for every session (so for a new one too), read from
 * the store at `path` without writing anything there (readStoreAt).
 */
export function subscribedProjectsIn(path: string): Set<string> {
  return readStoreAt(path, new Set<string>(), (db) => {
    const rows = db
      .prepare(`SELECT DISTINCT project_id FROM subscriptions WHERE event_type IN ('maintenance.planned', 'maintenance.scheduled') AND session_id IS NULL`)
      .all() as Row[];
    return new Set(rows.map((r) => String(r.project_id)));
  });
}

/**
 * Reads the store at `path` without writing anything there: no store means `none`, and the file
 * is never created, migrated or given companion files. When no other connection has it open (no
 * -wal file) everything is in the main file, read here into memory; otherwise its -wal and -shm
 * files exist already and a read-only connection uses them. A store from before the tables read
 * existed gives `none` too.
 */
export function readStoreAt<T>(path: string, none: T, read: (db: Database.Database) => T): T {
  if (!existsSync(path)) return none;
  let db: Database.Database;
  if (existsSync(`${path}-wal`)) {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } else {
    const bytes = readFileSync(path);
    // The header's read/write versions say WAL (2); an in-memory copy must say rollback journal (1).
    if (bytes.length >= 20) bytes[18] = bytes[19] = 1;
    db = new Database(bytes, { readonly: true });
  }
  try {
    return read(db);
  } catch (err) {
    if (/no such table/.test((err as Error).message)) return none;
    throw err;
  } finally {
    db.close();
  }
}
